-- escapes.lua: the sandbox escape catalogue. Every known way out of the
-- sandbox, tried inside one engine process: a way is "held" when the
-- script got nothing it should not (an error, or a harmless result) and
-- the host is intact afterwards. A script that reaches a capability
-- returns "ESCAPED". Prints one line per failure and the table line
-- "escapes <tried> <held> <failed>"; exit 1 on any failure. A crash of
-- the process is caught by tests/torture/run.sh (the last name tried is in
-- $TORTURE_PROGRESS).
--   relm --db DB run tests/torture/escapes.lua
-- luacheck: no max line length (one catalogue entry per line)
local sb = require "relm.core.sandbox"
local progress = os.getenv("TORTURE_PROGRESS")

-- expect: "error" (must raise a sandbox error), "safe" (may return, but
-- not "ESCAPED"), "ok" (must return normally: a bounded call that works).
local catalogue = {
    { "io", "error", "return io.open('/etc/passwd'):read('a')" },
    { "os.execute", "error", "os.execute('touch /tmp/relm-escaped') return 'ESCAPED'" },
    { "os.exit", "error", "os.exit(3)" },
    { "os.getenv", "error", "return os.getenv('HOME') and 'ESCAPED'" },
    { "os.remove", "error", "os.remove('/tmp/x') return 'ESCAPED'" },
    { "package.loadlib", "error", "return package.loadlib('libc.so.6', 'system') and 'ESCAPED'" },
    { "require", "error", "return require('io') and 'ESCAPED'" },
    { "debug.getregistry", "error", "return debug.getregistry() and 'ESCAPED'" },
    { "debug via _G", "error", "return _G.debug and 'ESCAPED'" },
    { "dofile", "error", "return dofile('/etc/passwd')" },
    { "loadfile", "error", "return loadfile('/etc/passwd')" },
    { "collectgarbage", "error", "collectgarbage('stop') return 'ESCAPED'" },
    { "load of bytecode", "safe", "local f, e = load('\\27Lua' .. ('\\0'):rep(40)) return f and 'ESCAPED' or e" },
    { "load bytecode mode b", "safe", "local f = load('\\27LuaT' .. ('\\0'):rep(40), 'x', 'b') return f and 'ESCAPED' or 'no'" },
    { "string.dump", "error", "return string.dump(function() end) and 'ESCAPED'" },
    { "('').dump", "error", "return (''):dump() and 'ESCAPED'" },
    { "string metatable", "safe", "return getmetatable('') and 'ESCAPED' or 'hidden'" },
    { "string metatable __index", "error", "getmetatable('').__index.upper = function() return 'x' end" },
    { "setmetatable on a string", "error", "setmetatable('', {})" },
    { "environment metatable", "error", "setmetatable(_ENV, {__index = function() return 'ESCAPED' end})" },
    { "global creation", "error", "leaked = true" },
    { "__gc finalizer", "error", "setmetatable({}, {__gc = function() while true do end end})" },
    { "coroutine", "error", "return coroutine.wrap(function() while true do end end)()" },
    { "load with own env reaching _G", "safe", "local f = load('return _G', 'x', 't', {}) return f() and 'ESCAPED' or 'nil'" },
    { "rawget of _G", "safe", "return rawget(_ENV, '_G') and 'ESCAPED' or 'nil'" },
    { "infinite loop", "error", "while true do end" },
    { "pcall swallowing the deadline", "error", "while true do pcall(function() while true do end end) end" },
    { "xpcall handler loop", "error", "xpcall(function() while true do end end, function() while true do end end)" },
    { "__close loop", "error", "local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end" },
    { "error object __tostring loop", "error", "error(setmetatable({}, {__tostring = function() while true do end end}))" },
    { "sort comparator loop", "error", "table.sort({3, 2, 1}, function() while true do end end)" },
    { "gsub callback loop", "error", "return ('x'):rep(10):gsub('.', function() while true do end end)" },
    { "deep recursion", "error", "local function f(n) return 1 + f(n + 1) end return f(1)" },
    { "deep recursion through pcall", "error", "local function f() pcall(f) pcall(f) end f()" },
    { "parser nesting", "safe", "local f, e = load(('('):rep(100000)) return f and 'ESCAPED' or 'refused'" },
    { "huge allocation", "error", "local t = {} for i = 1, math.maxinteger do t[i] = ('x'):rep(1024) .. i end" },
    { "huge string", "error", "return ('x'):rep(1 << 40)" },
    { "string.rep empty", "ok", "return #string.rep('', math.maxinteger)" },
    { "('').rep empty", "ok", "return #(''):rep(math.maxinteger)" },
    { "string.rep empty with empty sep", "ok", "return #string.rep('', math.maxinteger, '')" },
    { "string.rep separator only", "error", "return string.rep('', math.maxinteger, ',')" },
    { "table.move huge", "error", "return table.move({}, 1, math.maxinteger, 2)" },
    { "table.move long", "error", "while true do table.move({}, 1, 1 << 23, 2) end" },
    { "table.concat huge", "error", "return table.concat({}, '', 1, math.maxinteger)" },
    { "table.concat via __index", "error", "return table.concat(setmetatable({}, {__index = function() return '' end}), '', 1, 1 << 23)" },
    { "table.unpack huge", "error", "return select('#', table.unpack({}, 1, 1 << 30))" },
    { "string.format huge width", "error", "return string.format('%99999999d', 1)" },
    { "string.format many", "error", "return string.format(('%s'):rep(1 << 22), 1)" },
    { "pattern backtracking", "error", "return (('a'):rep(40)):find('(.-)(.-)(.-)(.-)(.-)b')" },
    { "pattern gmatch backtracking", "error", "for _ in (('a'):rep(40)):gmatch('(.-)(.-)(.-)(.-)(.-)b') do end" },
    { "utf8.char flood", "error", "return utf8.char(table.unpack({}, 1, 1 << 30))" },
    { "os.date huge format", "error", "return os.date(('%c'):rep(1 << 22))" },
    { "string.byte slice", "error", "return string.byte(('x'):rep(1 << 22), 1, -1)" },
    { "load huge chunk", "error", "return load(('local a = 1 '):rep(1 << 21))" },
}

-- Memory kept between calls: refused once the script owns too much.
local function hoarder()
    local saved = sb.config()
    sb.config({ owned_mb = 16 })
    local chunk = sb.load("local keep = {} return function() for i = 1, 4000 do keep[#keep + 1] = ('x'):rep(256) .. i end end",
        "@torture-hoard.lua")
    local ok, grow = pcall(sb.call_with, { timeout_ms = 5000 }, chunk)
    local refused = false
    for _ = 1, 200 do
        if not ok then
            break
        end
        local ran, err = pcall(sb.call_with, { timeout_ms = 5000 }, grow)
        if not ran then
            refused = relm.is_error(err, "sandbox") and err.message:find("owned by", 1, true) ~= nil
            break
        end
    end
    sb.config({ owned_mb = saved.owned_mb })
    return refused, "never refused; owns " .. sb.owned("torture-hoard.lua") .. " bytes"
end

local tried, held, failed = 0, 0, 0

local function record(name, good, why)
    tried = tried + 1
    if good then
        held = held + 1
    else
        failed = failed + 1
        print(("escapes: FAILED %s: %s"):format(name, tostring(why)))
    end
end

-- The host is intact: stock string library, no global created, io works.
local function host_intact()
    if ("x"):upper() ~= "X" or string.rep("ab", 2) ~= "abab" or type(string.dump) ~= "function" then
        return false, "the host's string library changed"
    end
    if rawget(_G, "leaked") ~= nil then
        return false, "a global leaked into the host"
    end
    if io.open("/dev/null") == nil then
        return false, "io broken in the host"
    end
    local ok, two = pcall(sb.call, sb.load("return 1 + 1", "@after.lua"))
    if not ok or two ~= 2 then
        return false, "the sandbox no longer works"
    end
    return true
end

for _, case in ipairs(catalogue) do
    local name, expect, code = case[1], case[2], case[3]
    if progress then
        local f = io.open(progress, "w")
        if f then
            f:write(name, "\n")
            f:close()
        end
    end
    local loaded, fn = pcall(sb.load, code, "@escape.lua")
    local ok, res
    if not loaded then
        ok, res = false, fn
    else
        ok, res = pcall(sb.call_with, { timeout_ms = 100, memory_mb = 16 }, fn)
    end
    local good, why
    if expect == "error" then
        good = not ok and relm.is_error(res, "sandbox")
        why = ok and ("returned " .. tostring(res)) or tostring(res)
    elseif expect == "ok" then
        good = ok and res ~= "ESCAPED"
        why = tostring(res)
    else
        good = (not ok and relm.is_error(res)) or (ok and res ~= "ESCAPED")
        why = tostring(res)
    end
    local intact, broke = host_intact()
    if not intact then
        good, why = false, broke
    end
    record(name, good, why)
end
record("memory kept between calls", hoarder())

print(("escapes %d %d %d"):format(tried, held, failed))
os.exit(failed == 0 and 0 or 1, true)
