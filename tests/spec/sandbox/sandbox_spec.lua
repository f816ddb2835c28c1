-- sandbox_spec.lua: relm.core.sandbox: what scripts can reach, time and
-- memory limits, and that the engine goes on after a failure.
local sb = require "relm.core.sandbox"

-- Timing itself is never asserted. A script that must be stopped gets a
-- short limit (FAST) to keep the suite fast; every other script a roomy one,
-- since 40 ms of wall-clock time can pass before a trivial script ends on
-- a loaded machine (it then failed on its limit: a flaky spec).
local FAST = { timeout_ms = 40 }
local ROOMY = { timeout_ms = 5000 }

local run, fails_with = dofile("tests/fixtures/sandbox_helper.lua")(ROOMY, "script.lua")

---fails_with for a script that must be stopped at FAST's deadline.
local function times_out(pattern, code, name)
    return fails_with(pattern, code, name, FAST)
end

describe("sandbox environment", function()
    it("offers the safe base functions and libraries", function()
        local ok, res = run([[
            local t = {}
            for _, k in ipairs{"assert","error","ipairs","next","pairs","pcall","select","tonumber",
                "tostring","type","xpcall","rawequal","rawget","rawlen","rawset","setmetatable",
                "getmetatable","print","load"} do t[#t+1] = type(_ENV[k]) end
            t[#t+1] = type(string.format) .. type(table.concat) .. type(math.floor) .. type(utf8.char)
            t[#t+1] = type(os.time) .. type(os.date) .. type(os.clock)
            return table.concat(t, ",")
        ]])
        assert.is_true(ok, tostring(res))
        assert.are.equal(("function,"):rep(19) .. ("function"):rep(4) .. "," .. ("function"):rep(3), res)
    end)

    for _, name in ipairs({ "io", "package", "require", "debug", "dofile", "loadfile", "collectgarbage",
        "coroutine", "_G" }) do
        it("has no " .. name, function()
            fails_with("script%.lua:1: unknown global '" .. name .. "'", "return " .. name)
        end)
    end

    it("keeps only os.time, os.date and os.clock", function()
        local ok, res = run("return os.execute, os.getenv, os.remove, os.exit, os.rename, os.tmpname")
        assert.is_true(ok)
        assert.is_nil(res)
        fails_with("attempt to call a nil value %(field 'execute'%)", "os.execute('true')")
    end)

    it("has no string.dump, not even through a string method", function()
        fails_with("attempt to call a nil value %(field 'dump'%)", "return string.dump(print)")
        fails_with("string.dump is not available", "return ('x').dump(function() end)")
        -- The engine's own string library is untouched.
        assert.is_function(string.dump)
        assert.are.equal("ABC", ("abc"):upper())
    end)

    it("hides the string metatable and refuses to change it", function()
        local ok, res = run("return getmetatable('')")
        assert.is_true(ok)
        assert.is_nil(res)
        fails_with("bad argument #1 to 'setmetatable'", "setmetatable('', {})")
        fails_with("attempt to index a nil value", "getmetatable('').__index.upper = nil")
        assert.are.equal("X", ("x"):upper())
    end)

    it("loads text chunks only, in the script's own environment", function()
        local ok, f, msg = run("return load(string.char(27) .. 'LuaT\\0')")
        assert.is_true(ok)
        assert.is_nil(f)
        assert.matches("binary chunk", msg)
        ok, f = run("return load('return io')()")
        assert.is_false(ok)
        assert.matches("unknown global 'io'", f.message)
        ok, f = run("local x = 41 return load('return 1 + ...')(x)")
        assert.is_true(ok)
        assert.are.equal(42, f)
    end)

    it("refuses binary chunks in sandbox.load", function()
        local ok, err = pcall(sb.load, string.dump(function() end), "=bin")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "sandbox"))
        assert.are.equal("bin: binary chunks are not accepted; give the Lua source", err.message)
        local path = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/binflow.lua"
        local f = assert(io.open(path, "wb"))
        f:write(string.dump(function() end))
        f:close()
        local good, problems = relm.workflow.check(path)
        assert.is_false(good)
        assert.are.same({ path .. ": binary chunks are not accepted; give the Lua source" }, problems)
        os.remove(path)
    end)

    it("reports an unknown global with the script's file and line", function()
        fails_with("^guard%.lua:3: unknown global 'missing_thing'$", "local a = 1\nlocal b = 2\nreturn missing_thing",
            "guard.lua")
    end)

    it("refuses to create globals and suggests local", function()
        fails_with("^g%.lua:1: cannot create global 'x' %(declare it with 'local x'%)$", "x = 1", "g.lua")
        local ok = run("local x = 1 return x")
        assert.is_true(ok)
    end)

    it("refuses __gc metamethods, whose loops could not be stopped", function()
        fails_with("__gc metamethods are not allowed", "setmetatable({}, {__gc = function() end})")
    end)

    it("shows a script its own metatables only", function()
        local ok, same = run("local mt = {} local t = setmetatable({}, mt) return getmetatable(t) == mt")
        assert.is_true(ok)
        assert.is_true(same)
        local err = relm.error and select(2, pcall(relm.error, "x", "y"))
        local fn = sb.load("local e = ... return getmetatable(e)")
        assert.is_nil(sb.call(fn, err))
    end)

    it("gives every environment its own copy of the libraries", function()
        local env1, env2 = sb.env(), sb.env()
        assert.are_not.equal(env1.string, env2.string)
        sb.call(sb.load("string.upper = nil", "=a", env1))
        assert.is_nil(env1.string.upper)
        assert.is_function(env2.string.upper)
        assert.is_function(string.upper)
    end)
end)

describe("sandbox.call", function()
    it("returns every result, nils included", function()
        local a, b, c, n = sb.call(function(...) return 1, nil, 3, select("#", ...) end, "x", nil)
        assert.are.same({ 1, nil, 3, 2 }, { a, b, c, n })
    end)

    it("turns a script error into a sandbox error with file:line", function()
        local err = fails_with("^bad%.lua:2: attempt to perform arithmetic", "local t = nil\nreturn t + 1", "bad.lua")
        assert.are.equal("sandbox", err.code)
    end)

    it("describes any error value without running its metamethods outside the sandbox", function()
        fails_with("^custom$", "error(setmetatable({}, { __tostring = function() return 'custom' end }))")
        fails_with("^42$", "error(42)")
        fails_with("^nil$", "error()")
        -- A __tostring that loops is stopped by the deadline, even when it
        -- loops only from its second call on.
        times_out("time limit of 40 ms exceeded",
            "error(setmetatable({}, { __tostring = function() while true do end end }))")
        fails_with("^x$", [[
            local n = 0
            error(setmetatable({}, { __tostring = function()
                n = n + 1
                if n > 1 then while true do end end
                return "x"
            end }))]])
    end)

    it("stops an infinite loop at the deadline, then works again", function()
        local err = times_out("^time limit of 40 ms exceeded %(at loop%.lua:2%)$",
            "local n = 0\nwhile true do n = n + 1 end",
            "loop.lua")
        assert.matches("^sandbox: time limit of 40 ms exceeded", tostring(err))
        local ok, res = run("return 6 * 7")
        assert.is_true(ok)
        assert.are.equal(42, res)
    end)

    it("cannot be defeated by pcall inside the script", function()
        times_out("time limit of 40 ms exceeded", [[
            while true do
                pcall(function() while true do end end)
            end]])
    end)

    it("cannot be defeated by an xpcall handler that loops", function()
        times_out("time limit of 40 ms exceeded",
            "return xpcall(function() while true do end end, function() while true do end end)")
        local ok, a, b = run("return xpcall(function() error('boom', 0) end, function(m) return 'handled ' .. m end)")
        assert.is_true(ok)
        assert.are.same({ false, "handled boom" }, { a, b })
    end)

    it("cannot be defeated by a __close handler that loops", function()
        times_out("time limit of 40 ms exceeded", [[
            local guard <close> = setmetatable({}, { __close = function() while true do end end })
            while true do end]])
    end)

    it("stops a looping comparator inside table.sort", function()
        times_out("time limit", "table.sort({3, 2, 1}, function(a, b) while true do end end)")
    end)

    it("stops a script that allocates without end, then works again", function()
        local before = collectgarbage("count")
        local err = fails_with("^memory limit of 4 MB exceeded$", [[
            local hoard = {}
            for i = 1, math.maxinteger do hoard[i] = ("x"):rep(512) .. i end]], "hog.lua",
            { timeout_ms = 10000, memory_mb = 4 })
        assert.matches("^sandbox: memory limit of 4 MB exceeded", tostring(err))
        collectgarbage()
        assert.is_true(collectgarbage("count") < before + 4096)
        -- Outside the sandbox the cap is gone: 8 MB is fine here.
        local big = ("y"):rep(8 * 1024 * 1024)
        assert.are.equal(8 * 1024 * 1024, #big)
        local ok, res = run("return #('z'):rep(1000)", nil, { timeout_ms = 2000 })
        assert.is_true(ok, type(res) == "table" and res.message or nil)
        assert.are.equal(1000, res)
    end)

    it("stops a string.rep bomb at the memory cap", function()
        -- Refused before anything is allocated, at the script's line.
        fails_with("^rep%.lua:1: string%.rep: a result of 1073741824 bytes is over the sandbox's memory limit",
            "return ('x'):rep(1 << 30)", "rep.lua", { memory_mb = 1 })
    end)

    it("never gives a nested call more time than its caller has left", function()
        local inner = sb.load("while true do end", "@inner.lua")
        local outer = sb.load("local sb, inner = ... return sb.call_with({timeout_ms = 60000}, inner)", "@outer.lua")
        local ok, err = pcall(sb.call_with, FAST, outer, sb, inner)
        assert.is_false(ok)
        assert.matches("time limit of 40 ms exceeded", err.message)
    end)

    it("is not active outside a call and is inside one", function()
        assert.is_false(sb.active())
        assert.is_true(sb.call(sb.active))
        assert.is_false(sb.active())
    end)
end)

describe("sandbox.config", function()
    it("reads and sets the defaults", function()
        local cur = sb.config()
        assert.is_number(cur.timeout_ms)
        assert.is_number(cur.memory_mb)
        local new = sb.config({ timeout_ms = 30 })
        assert.are.equal(30, new.timeout_ms)
        local ok, err = pcall(sb.call, sb.load("while true do end", "@cfg.lua"))
        assert.is_false(ok)
        assert.matches("time limit of 30 ms exceeded", err.message)
        sb.config({ timeout_ms = cur.timeout_ms })
        assert.are.equal(cur.timeout_ms, sb.config().timeout_ms)
    end)

    it("names the argument it refuses", function()
        -- NaN passes every range comparison: it must be refused, not cast.
        for _, bad in ipairs({ { timeout_ms = 0 }, { timeout_ms = "soon" }, { memory_mb = -1 },
            { timeout_ms = 0 / 0 }, { owned_mb = 0 / 0 } }) do
            local ok, err = pcall(sb.config, bad)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"))
            assert.matches("argument #1", err.message)
        end
        local ok, err = pcall(sb.call_with, "fast", print)
        assert.is_false(ok)
        assert.matches("argument #1", err.message)
    end)

    it("is reachable as relm.sandbox", function()
        assert.are.equal(sb.config, relm.sandbox.config)
    end)
end)
