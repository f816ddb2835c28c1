-- pattern_spec.lua: the sandbox's string.find/match/gmatch/gsub (over
-- core/pattern.c) behave like the standard library, and a backtracking
-- pattern stops at the deadline instead of hanging the engine.
local sb = require "relm.core.sandbox"
local S = sb.env().string

local function pack(ok, ...)
    return { ok = ok, n = select("#", ...), ... }
end

local function same(a, b)
    if a.ok ~= b.ok or a.n ~= b.n then
        return false
    end
    for i = 1, a.n do
        if a[i] ~= b[i] then
            return false
        end
    end
    return true
end

local function show(r)
    local t = {}
    for i = 1, r.n do
        t[i] = tostring(r[i])
    end
    return tostring(r.ok) .. ": " .. table.concat(t, ", ")
end

describe("sandbox string patterns", function()
    it("agree with the standard library on random patterns (results and errors)", function()
        local atoms = { "a", "b", ".", "%a", "%d", "%s", "%w", "%A", "%z", "[ab]", "[^a]", "[a-c]", "[%d.]", "%%",
            "%.", "x", "^", "$", "(", ")", "()", "%1", "%0", "%b()", "%b", "%f[%w]", "%f[%W]", "%f", "-", "*", "+",
            "?", "%", "[", "]", "[]]", "[^]]", "[a-%%]", " " }
        local subjects = { "", "a", "abc", "aaa", "ab ab", "a.b.c", "(a(b)c)", "hello world 123", "x=1, y=22",
            "aaaaab", "%%", "a]b", "  trim  ", ("ab"):rep(20), "a(b(c)d)e(f", "\0a\0b" }
        local repls = { "<%0>", "%1", "x", "%%", "%2", "bad%", 7, function(c) return c == "a" and "A" or nil end,
            { a = "1", b = false } }
        local seed = 20271105
        local function rand(n)
            seed = (seed * 1103515245 + 12345) % 2147483648
            return seed % n + 1
        end
        local mismatches = {}
        for _ = 1, 3000 do
            local pt = {}
            for i = 1, rand(6) do
                pt[i] = atoms[rand(#atoms)]
            end
            local p, s = table.concat(pt), subjects[rand(#subjects)]
            local init = ({ 1, 2, -1, -3, 0, 10, nil })[rand(7)]
            local cases = {
                { "find", s, p, init }, { "match", s, p, init },
                { "gsub", s, p, repls[rand(#repls)], ({ 1, 2, nil })[rand(3)] },
            }
            for _, c in ipairs(cases) do
                local a = pack(pcall(string[c[1]], table.unpack(c, 2, 5)))
                local b = pack(pcall(S[c[1]], table.unpack(c, 2, 5)))
                if not same(a, b) then
                    mismatches[#mismatches + 1] = ("%s(%q, %q): %s | %s"):format(c[1], s, p, show(a), show(b))
                end
            end
            local function all(gmatch)
                local out = {}
                local ok, err = pcall(function()
                    for x, y in gmatch(s, p, init) do
                        out[#out + 1] = tostring(x) .. "|" .. tostring(y)
                        if #out > 50 then break end
                    end
                end)
                return pack(ok, ok and table.concat(out, ";") or err)
            end
            local a, b = all(string.gmatch), all(S.gmatch)
            if not same(a, b) then
                mismatches[#mismatches + 1] = ("gmatch(%q, %q): %s | %s"):format(s, p, show(a), show(b))
            end
        end
        assert.are.same({}, mismatches)
    end)

    it("cover the usual idioms", function()
        assert.are.same({ 3, 5, "cde" }, { S.find("abcde", "(c.e)") })
        assert.are.same({ 2, 3 }, { S.find("a.b", ".b", 1, true) })
        assert.are.same({ "key", "value" }, { S.match(" key = value ", "^%s*(%w+)%s*=%s*(%w+)%s*$") })
        assert.are.same({ 2, 3 }, { S.match("abc", "()b()") })
        assert.are.equal("(b(c))", S.match("a(b(c))d", "%b()"))
        assert.are.same({ "THE", "fox" }, { S.match("THE (quick) fox", "%f[%a]%u+"), S.match("THE fox", "%f[%l]%l+") })
        assert.are.equal("ab", S.match("xababy", "(ab)%1"))
        assert.are.same({ 2, 5, "ab" }, { S.find("xababy", "(ab)%1") })
        local words = {}
        for w in S.gmatch("one two  three", "%a+") do
            words[#words + 1] = w
        end
        assert.are.same({ "one", "two", "three" }, words)
        assert.are.same({ "x=1", "y=2" }, { S.gsub("a=1", "a", "x"), (S.gsub("b=2", "(%a)", { b = "y" })) })
        assert.are.same({ "<a><b>c", 2 }, { S.gsub("abc", "[ab]", "<%0>") })
        assert.are.same({ "ABc", 2 }, { S.gsub("abc", "[ab]", string.upper) })
        assert.are.same({ "Xbc", 1 }, { S.gsub("abc", "^a", "X") })
    end)

    it("stop a backtracking pattern at the deadline, then work again", function()
        local cases = {
            "return string.find(('a'):rep(40), ('.-'):rep(25) .. 'b')",
            "return ('a'):rep(40):match(('a*'):rep(25) .. 'b')",
            "for x in string.gmatch(('a'):rep(40), ('.-'):rep(25) .. 'b') do end",
            "return string.gsub(('a'):rep(40), ('.-'):rep(25) .. 'b', '')",
            "return pcall(string.find, ('a'):rep(40), ('.-'):rep(25) .. 'b')",
        }
        for i, code in ipairs(cases) do
            local fn = sb.load(code, "@pat" .. i .. ".lua")
            local ok, err = pcall(sb.call_with, { timeout_ms = 40 }, fn)
            assert.is_false(ok, code)
            assert.matches("^time limit of 40 ms exceeded %(at pat" .. i .. "%.lua:1%)$", err.message)
        end
        assert.are.same({ 1, 3 }, { sb.call(sb.load("return ('abc'):find('%a+')")) })
    end)

    it("leave trusted code with the standard functions outside the sandbox", function()
        assert.are.same({ 2, 2 }, { ("abc"):find("b") })
        assert.are.equal("b", ("abc"):match("b"))
        assert.is_function(string.find)
        assert.are_not.equal(string.find, S.find)
    end)
end)
