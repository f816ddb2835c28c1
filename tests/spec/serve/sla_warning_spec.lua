-- sla_warning_spec.lua: `relm serve` fires a sub-minute SLA's warning at
-- its own moment (75% of 3 s = 2.25 s after the start), not together with
-- the breach at the deadline's second, as whole-second arithmetic did.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

-- The occurrences of release id with the given action.
local history = S.history

-- Seconds since the epoch of an ISO-8601 UTC text (2026-12-07T04:18:20Z),
-- by the days-from-civil count (no time zone involved).
local function epoch(iso)
    local y, m, d, hh, mm, ss = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
    y, m, d = tonumber(y), tonumber(m), tonumber(d)
    if m <= 2 then
        y = y - 1
    end
    local era = y // 400
    local yoe = y - era * 400
    local doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    local days = era * 146097 + doe - 719468
    return days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

describe("relm serve's SLA warning", function()
    setup(function() R.setup() end)
    after_each(function() S.stop_all() end)

    it("comes at warning_percent of a 3-second allowance, in the second before the breach", function()
        local serve = S.serve(relm.info().db)
        local r = R.release { sla_hours = 3 / 3600, title = "Three seconds" }
        assert.is_truthy(S.wait(function() return #history(r.id, "sla.breached") == 1 end),
            "no breach; serve log:\n" .. (S.read(serve.log) or ""))
        local warning, breach = history(r.id, "sla.warning"), history(r.id, "sla.breached")
        assert.are.equal(1, #warning)
        assert.are.equal(r.deadline, breach[1].at)
        -- deadline - 0.75 s lies in the second before the deadline's.
        assert.are.equal(epoch(r.deadline) - 1, epoch(warning[1].at), "warning at " .. warning[1].at)
        local logged
        for _, line in ipairs(S.log_lines(serve)) do
            logged = logged or (line:find("sla.warning", 1, true) and line:find(warning[1].at, 1, true))
        end
        assert.is_truthy(logged, S.read(serve.log))
        assert.are.equal(0, S.kill(serve, "TERM"))
    end)
end)
