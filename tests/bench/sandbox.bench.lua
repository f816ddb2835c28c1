-- sandbox.bench.lua: the cost of running a guard in the sandbox. A CPU-bound
-- guard called through relm.sandbox.call against the same function called
-- directly; target ratio <= 1.05 (no permanent hook: the watchdog only arms
-- one when a deadline passes).
local sb = require "relm.core.sandbox"

local guard = sb.load([[
    return function(r)
        local s = 0
        for i = 1, r.n do
            s = s + (i * 7) % 13
        end
        return s > r.min, "too small"
    end
]], "@bench_guard.lua")
guard = sb.call(guard)

local release = { n = 100000, min = 0 }
local CALLS = 20

local function direct()
    for _ = 1, CALLS do
        guard(release)
    end
end

local function sandboxed()
    for _ = 1, CALLS do
        sb.call(guard, release)
    end
end

-- Interleaved rounds so that load on the machine hits both sides alike;
-- os.clock() is the process's CPU time, the watchdog thread included.
local rounds = 15
local ts, tb = {}, {}
direct()
sandboxed()
for i = 1, rounds do
    local t0 = os.clock()
    sandboxed()
    ts[i] = os.clock() - t0
    t0 = os.clock()
    direct()
    tb[i] = os.clock() - t0
end
table.sort(ts)
table.sort(tb)
local mid = (rounds + 1) // 2
print(("subject %.6f %.6f %d guard calls through sandbox.call"):format(ts[1], ts[mid], CALLS))
print(("baseline %.6f %.6f the same %d calls made directly"):format(tb[1], tb[mid], CALLS))
print("target 1.05")
