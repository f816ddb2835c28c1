-- sla_spec.lua: the printed desktop and search results show each release's
-- SLA clock (issue 11): the time left in business time on its calendar and
-- the stage a real `relm serve` moved it to (warn, BREACH; blank in progress).
local S = dofile("tests/fixtures/serve_helper.lua")

-- Monday 2026-11-02 09:00 UTC, when the releases are registered, and the
-- next day at 10:00, when the desktop is read (both in the past, so that
-- the serve below, on the real clock, has the warning and breach to fire).
local T0, T1 = 1793610000, 1793700000

-- The printed line of release number in text.
local function line_of(text, number)
    for line in text:gmatch("[^\n]+") do
        if line:find(number, 1, true) then
            return line
        end
    end
    error(number .. " not in:\n" .. text)
end

describe("the SLA clock on the printed desktop", function()
    local breached, warned, fresh, width
    setup(function()
        -- Printed as on an 80-column terminal (the REPL sets relm.pretty.width).
        width, relm.pretty.width = relm.pretty.width, 80
        relm.calendar.define { name = "desk-office", tz = "UTC", hours = { mon = "09:00-17:00",
            tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" } }
        relm.group.add { name = "ops" }
        relm.group.add_member("ops", "admin")
        relm.release.set_clock(T0)
        local function reg(title, hours, extra)
            local o = { title = title, workflow = "standard", executor_group = "ops", sla_hours = hours,
                calendar = "desk-office" }
            for k, v in pairs(extra or {}) do
                o[k] = v
            end
            return relm.release.register(o)
        end
        -- One business day: due Monday 17:00, breached long ago.
        breached = reg("One day", 8)
        -- 10,000 business hours, warning at 1 %: warned long ago, due in 2031.
        warned = reg("Five years", 10000, { sla_warning_percent = 1 })
        -- Three business days at the default 75 %: at T1, in progress by
        -- the clock; serve (on today's clock) breaches it too, so it is
        -- read before serve runs.
        fresh = reg("Three days", 24)
        relm.release.set_clock(T1)
    end)
    teardown(function()
        relm.pretty.width = width
        relm.release.set_clock(nil)
        S.stop_all()
    end)

    it("shows business time left, and no stage column while every clock is in progress", function()
        local d = relm.desktop()
        local by = {}
        for _, r in ipairs(d) do
            by[r.number] = r
        end
        -- Tuesday 10:00 to Wednesday 17:00 is 15 business hours (31 on the wall).
        assert.are.equal(15 * 3600, by[fresh.number].time_left)
        assert.are.equal(-3600, by[breached.number].time_left) -- Monday 17:00 to Tuesday 10:00
        local text = tostring(d)
        assert.matches("number%s+p%s+sit%s+limit%s+delay%s+left%s+task", text)
        assert.is_nil(text:find(" sla ", 1, true), text)
        assert.matches("%s15h00%s", line_of(text, fresh.number))
        assert.matches("%s1h00%s+%-1h00%s", line_of(text, breached.number))
    end)

    it("shows the warning and breach a real serve fired, with the business time left", function()
        local serve = S.serve(relm.info().db)
        assert.is_truthy(S.wait(function()
            return #S.history(breached.id, "sla.breached") == 1 and #S.history(warned.id, "sla.warning") == 1
        end), "no warning or breach; serve log:\n" .. (S.read(serve.log) or ""))
        assert.are.equal(0, S.kill(serve, "TERM"))
        local text = tostring(relm.desktop())
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
        assert.matches("number%s+p%s+sit%s+limit%s+delay%s+left%s+sla%s+task", text)
        assert.matches("%s%-1h00%s+BREACH%s", line_of(text, breached.number))
        -- 10,000 business hours less Monday's 8 and Tuesday's first: 9,991 h.
        assert.matches("%s416d%s+warn%s", line_of(text, warned.number))
        -- Filtered and printed by stage in the search results too.
        local found = relm.search.releases { sla_stage = { "warning", "breached" } }
        assert.are.equal(3, #found) -- the three-day one is long breached on today's clock
        local listed = tostring(found)
        assert.matches("number%s+status%s+p%s+left%s+sla%s", listed)
        assert.matches("%s%-1h00%s+BREACH%s", line_of(listed, breached.number))
        assert.matches("%s416d%s+warn%s", line_of(listed, warned.number))
        assert.are.equal(9991 * 3600, relm.search.releases { sla_stage = "warning" }[1].time_left)
    end)
end)
