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

-- os.clock() counts the watchdog thread too.
local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")
local s_min, s_mid, b_min, b_mid = measure.interleaved(15, sandboxed, direct)
print(("subject %.6f %.6f %d guard calls through sandbox.call"):format(s_min, s_mid, CALLS))
print(("baseline %.6f %.6f the same %d calls made directly"):format(b_min, b_mid, CALLS))
print("target 1.05")
