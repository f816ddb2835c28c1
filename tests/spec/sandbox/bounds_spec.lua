-- bounds_spec.lua: the sandbox protects the host from C functions that
-- would loop past the deadline (string.rep, table.move, table.concat) and
-- from scripts that keep memory between calls. Each of these ended the
-- whole process (exit 70) or grew the host's heap without end before.
local sb = require "relm.core.sandbox"

-- Generous time: the machine may be loaded; timing is never asserted.
local SLOW = { timeout_ms = 5000 }

local run, fails_with = dofile("tests/fixtures/sandbox_helper.lua")(SLOW, "bounds.lua")

describe("sandboxed C functions that could loop for ever", function()
    it("string.rep of an empty string any number of times is empty, at once", function()
        local ok, res = run("return string.rep('', math.maxinteger)")
        assert.is_true(ok, tostring(res))
        assert.are.equal("", res)
        ok, res = run("return ('').rep('', math.maxinteger, '')")
        assert.is_true(ok, tostring(res))
        assert.are.equal("", res)
    end)

    it("string.rep, even as a method, refuses a result over the memory cap with file:line", function()
        fails_with("^rep%.lua:2: string%.rep: a result of 9223372036854775807 bytes is over the sandbox's "
            .. "memory limit %(16 MB per call; 64 MB owned per script%)",
            "local s = 'x'\nreturn s:rep(math.maxinteger)", "rep.lua")
        fails_with("^rep%.lua:1: string%.rep: resulting string too large",
            "return ('ab'):rep(math.maxinteger, ',')", "rep.lua")
        -- Ordinary use is unchanged.
        local ok, res = run("return ('ab'):rep(3, ','), string.rep('x', 0), string.rep('-', 4)")
        assert.is_true(ok)
        assert.are.equal("ab,ab,ab", res)
    end)

    it("table.move refuses a huge range with file:line", function()
        fails_with("^move%.lua:1: table%.move: 9223372036854775807 elements is more than a script may move",
            "return table.move({}, 1, math.maxinteger, 2)", "move.lua")
        local ok, a, b, c, d = run("return table.unpack(table.move({1, 2, 3}, 1, 3, 2))")
        assert.is_true(ok)
        assert.are.same({ 1, 1, 2, 3 }, { a, b, c, d })
        ok, a = run("return table.concat(table.move({1, 2, 3}, 2, 3, 1, {}), ',')")
        assert.is_true(ok)
        assert.are.equal("2,3", a)
    end)

    it("table.move over a long but allowed range stops at the deadline", function()
        fails_with("^time limit of 30 ms exceeded %(at move%.lua:1%)",
            "while true do table.move({}, 1, 16000000, 2) end", "move.lua", { timeout_ms = 30 })
    end)

    it("table.concat refuses a huge range with file:line and joins as before", function()
        fails_with("^cat%.lua:1: table%.concat: a range of more than",
            "return table.concat({}, '', 1, math.maxinteger)", "cat.lua")
        local ok, res = run("return table.concat({1, 'b', 3}, '-'), table.concat({}, 'x'), "
            .. "table.concat({1, 2, 3}, '', 2, 3)")
        assert.is_true(ok)
        assert.are.equal("1-b-3", res)
        fails_with("invalid value %(at index 2%) in table for 'concat'", "return table.concat({1, {}, 3})")
    end)

    it("table.concat through an __index function stops at the deadline", function()
        fails_with("^time limit of 30 ms exceeded",
            "return table.concat(setmetatable({}, {__index = function() return '' end}), '', 1, 16000000)",
            "cat.lua", { timeout_ms = 30 })
    end)

    it("string.format refuses huge widths", function()
        fails_with("invalid conversion", "return string.format('%99999999d', 1)")
    end)

    it("leaves the engine's own libraries untouched", function()
        assert.are.equal("", string.rep("", 3))
        assert.are.equal("a,b", table.concat({ "a", "b" }, ","))
        assert.are.equal("xx", ("x"):rep(2))
    end)
end)

describe("memory a script keeps between calls", function()
    it("is capped per script: a guard hoarding in a file-level local is refused, naming the file", function()
        local before = sb.config()
        sb.config({ owned_mb = 8 })
        local chunk = sb.load([[
            local keep = {}
            return function()
                for i = 1, 2000 do keep[#keep + 1] = ("x"):rep(200) .. i end
                return #keep
            end]], "@hoard.lua")
        local ok, grow = pcall(sb.call_with, SLOW, chunk)
        assert.is_true(ok, tostring(grow))
        local err
        for _ = 1, 100 do -- ~0.5 MB a call: refused long before 100 calls
            local ran, res = pcall(sb.call_with, SLOW, grow)
            if not ran then
                err = res
                break
            end
        end
        sb.config({ owned_mb = before.owned_mb })
        assert.is_not_nil(err, "the hoarding script was never refused")
        assert.is_true(relm.is_error(err, "sandbox"))
        assert.matches("memory limit of 8 MB owned by hoard%.lua exceeded", err.message)
        assert.is_true(sb.owned("hoard.lua") <= 8 * 1048576)
        -- Another script is not affected.
        local fine = sb.load("local t = {} for i = 1, 1000 do t[i] = i end return #t", "@other.lua")
        assert.are.equal(1000, sb.call_with(SLOW, fine))
    end)

    it("does not count what a script dropped: garbage is collected, not refused", function()
        local before = sb.config()
        sb.config({ owned_mb = 8 })
        local chunk = sb.load([[
            return function()
                local t = {}
                for i = 1, 2000 do t[#t + 1] = ("x"):rep(200) .. i end
                return #t
            end]], "@churn.lua")
        local churn = sb.call_with(SLOW, chunk)
        local ok, err = true, nil
        for _ = 1, 60 do
            ok, err = pcall(sb.call_with, SLOW, churn)
            if not ok then
                break
            end
        end
        sb.config({ owned_mb = before.owned_mb })
        assert.is_true(ok, tostring(type(err) == "table" and err.message or err))
    end)

    it("reports the limit in config", function()
        assert.are.equal(64, sb.config().owned_mb)
        local ok, err = pcall(sb.config, { owned_mb = 0 })
        assert.is_false(ok)
        assert.matches("owned_mb", err.message)
    end)
end)

describe("a workflow guard that calls a long C loop", function()
    it("refuses its transition with the workflow's file:line, and the engine goes on", function()
        local path = os.tmpname() .. ".lua"
        local f = assert(io.open(path, "w"))
        local name = path:match("([^/]+)%.lua$")
        f:write(('workflow "%s" { initial = "open" }\n'):format(name),
            'state "open" { phase = "registration" }\n',
            'state "closed" { phase = "closure", final = true }\n',
            'transition "finish" { from = "open", to = "closed",\n',
            '    guard = function(r)\n',
            '        return #(""):rep(math.maxinteger, "-") > 0\n',
            '    end,\n',
            '}\n',
            'transition "spin" { from = "open", to = "open",\n',
            '    guard = function(r) return #table.concat({}, "", 1, math.maxinteger) == 0 end,\n',
            '}\n')
        f:close()
        local wf = relm.workflow.load(path)
        os.remove(path)
        local ok, why = wf:guard("finish", {}, { limits = { timeout_ms = 5000 } })
        assert.is_false(ok)
        assert.matches(name .. "%.lua:6: string%.rep: a result of %d+ bytes is over", why)
        ok, why = wf:guard("spin", {}, { limits = { timeout_ms = 5000 } })
        assert.is_false(ok)
        assert.matches(name .. "%.lua:10: table%.concat: a range of more than", why)
    end)
end)
