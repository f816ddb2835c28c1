-- calendar_spec.lua: business calendars (docs/calendars.md): definition
-- and its bad input, business time across holidays and DST changes, and a
-- release's SLA clock counting business time through suspend/reactivate.
local R = dofile("tests/fixtures/release_helper.lua")

local WEEKDAYS = { mon = { "08:00-12:00", "13:00-18:00" }, tue = { "08:00-12:00", "13:00-18:00" },
    wed = { "08:00-12:00", "13:00-18:00" }, thu = { "08:00-12:00", "13:00-18:00" },
    fri = { "08:00-12:00", "13:00-18:00" } }

-- Every day, all day.
local function all_days()
    local t = {}
    for _, d in ipairs({ "mon", "tue", "wed", "thu", "fri", "sat", "sun" }) do
        t[d] = { "00:00-24:00" }
    end
    return t
end

local function refused(pattern, spec)
    local ok, err = pcall(relm.calendar.define, spec)
    assert.is_false(ok)
    assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
    assert.matches(pattern, tostring(err))
    assert.is_nil(relm.sql("SELECT 1 AS x FROM calendars WHERE name = ?", spec.name)[1], "nothing written")
end

describe("relm.calendar", function()
    setup(function()
        R.setup()
        relm.calendar.define { name = "br-office", tz = "America/Sao_Paulo", hours = WEEKDAYS,
            holidays = { "2026-12-25" } }
    end)

    it("is stored and read back as defined, and logged", function()
        local c = relm.calendar.get("br-office")
        assert.are.equal("America/Sao_Paulo", c.tz)
        assert.are.same({ "08:00-12:00", "13:00-18:00" }, c.hours.mon)
        assert.are.same({ "2026-12-25" }, c.holidays)
        local names = {}
        for _, x in ipairs(relm.calendar.list()) do
            names[#names + 1] = x.name
        end
        assert.is_truthy(table.concat(names, ","):find("br-office", 1, true))
        assert.is_truthy(relm.sql("SELECT 1 AS x FROM occurrences WHERE action = 'calendar.define'")[1])
    end)

    it("counts business hours in the zone's local time, holidays left out", function()
        -- Mon 2026-12-07 .. Mon 2026-12-14 (UTC-3): five days of 9 h.
        assert.are.equal(45 * 3600,
            relm.calendar.business_seconds("br-office", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z"))
        -- The week of Christmas (Friday 25th): four days.
        assert.are.equal(36 * 3600,
            relm.calendar.business_seconds("br-office", "2026-12-21T00:00:00Z", "2026-12-28T00:00:00Z"))
        -- 17:00 local on Monday + 2 h: 1 h on Monday, 1 h from 08:00 Tuesday.
        assert.are.equal(1796731200, -- 2026-12-08T12:00:00Z
            relm.calendar.after("br-office", "2026-12-07T20:00:00Z", 7200))
        -- Thursday 24th 17:00 + 2 h skips the holiday and the weekend.
        assert.are.equal(relm.calendar.after("br-office", "2026-12-28T00:00:00Z", 3600),
            relm.calendar.after("br-office", "2026-12-24T20:00:00Z", 7200))
    end)

    it("follows daylight saving time: 23 and 25-hour days, gaps and overlaps", function()
        relm.calendar.define { name = "ny", tz = "America/New_York", hours = all_days() }
        relm.calendar.define { name = "ny-night", tz = "America/New_York", hours = { sun = { "01:30-03:30" } } }
        local S = relm.calendar.business_seconds
        assert.are.equal(23 * 3600, S("ny", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"))
        assert.are.equal(25 * 3600, S("ny", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"))
        -- 01:30-03:30 on the spring-forward night: 02:00-03:00 never shows.
        assert.are.equal(3600, S("ny-night", "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"))
        -- On the fall-back night 01:00-02:00 happens twice: three real hours.
        assert.are.equal(3 * 3600, S("ny-night", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"))
        -- A year of every hour is 8760 h whatever the clocks did.
        assert.are.equal(8760 * 3600, S("ny", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"))
    end)

    it("refuses bad input naming the weekday, the interval or the date", function()
        refused("mon: interval '25:00%-26:00' is not a time of day", { name = "x", tz = "UTC",
            hours = { mon = { "25:00-26:00" } } })
        refused("tue: interval '10:00%-09:00' ends before it starts", { name = "x", tz = "UTC",
            hours = { tue = { "10:00-09:00" } } })
        refused("wed: intervals '08:00%-12:00' and '11:00%-13:00' overlap", { name = "x", tz = "UTC",
            hours = { wed = { "11:00-13:00", "08:00-12:00" } } })
        refused("interval '8%-12' is not HH:MM%-HH:MM", { name = "x", tz = "UTC", hours = { mon = { "8-12" } } })
        refused("unknown time zone 'Mars/Olympus'", { name = "x", tz = "Mars/Olympus",
            hours = { mon = "08:00-18:00" } })
        refused("unknown time zone '%.%./etc/passwd'", { name = "x", tz = "../etc/passwd",
            hours = { mon = "08:00-18:00" } })
        refused("holiday '2026%-02%-30' is not a date", { name = "x", tz = "UTC", hours = { mon = "08:00-18:00" },
            holidays = { "2026-02-30" } })
        refused("unknown weekday 'funday'", { name = "x", tz = "UTC", hours = { funday = "08:00-18:00" } })
        refused("no business hours", { name = "x", tz = "UTC", hours = {} })
    end)

    it("is defined and removed by administrators only", function()
        local ok, err = pcall(relm.user.as, "bob", function()
            relm.calendar.define { name = "bobs", tz = "UTC", hours = { mon = "08:00-18:00" } }
        end)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        ok, err = pcall(relm.calendar.remove, "nope")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"), tostring(err))
    end)
end)

describe("a release's SLA clock on a calendar", function()
    local today = os.date("!%Y-%m-%d")
    local j
    setup(function()
        j = R.setup()
        -- Open every hour except today's (a holiday): an hour of SLA
        -- registered today ends at 01:00 tomorrow (UTC).
        relm.calendar.define { name = "closed-today", tz = "UTC", hours = all_days(), holidays = { today } }
    end)

    it("sets the deadline where the allowance of business time is used up", function()
        local r = relm.release.register { title = "On a calendar", sla_hours = 1, calendar = "closed-today",
            executor_group = "ops" }
        local tomorrow = os.date("!%Y-%m-%d", os.time() + 86400)
        assert.are.equal(tomorrow .. "T01:00:00Z", r.deadline)
        assert.are.equal(3600, r.time_left)
        assert.are.equal("in_progress", r.sla_stage)
        assert.matches("time_left%s+3600 %(1h 00m business%)", tostring(r))
        -- The desktop of a member of its group shows the same business time.
        local item
        for _, it in ipairs(relm.user.as("bob", function() return relm.desktop { number = r.number } end)) do
            item = item or (it.kind == "release" and it)
        end
        assert.are.equal(3600, item.time_left)
        assert.are.equal("in_progress", item.sla_stage)
        assert.are.equal("closed-today", item.calendar)
        -- Suspension keeps the business time left, not the wall-clock hours
        -- to tomorrow; reactivation puts the same deadline back.
        r = relm.release.act(r.id, "suspend", { justification = j.suspend })
        assert.are.equal(3600, r.remaining_seconds)
        r = relm.release.act(r.id, "reactivate")
        assert.are.equal(tomorrow .. "T01:00:00Z", r.deadline)
        -- Searchable and visible by stage.
        local found = relm.search.releases { sla_stage = "in_progress", number = r.number }
        assert.are.equal(1, #found)
        assert.are.equal("closed-today", found[1].calendar)
        local ok, err = pcall(relm.calendar.remove, "closed-today")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "conflict"), tostring(err))
    end)

    it("counts business time through suspend and reactivate on a fixed clock, late ones too", function()
        relm.calendar.define { name = "office", tz = "Europe/Lisbon", hours = { mon = "09:00-17:00",
            tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" } }
        local T = 1800000000 -- Friday 2027-01-15, 08:00 in Lisbon (UTC+0 in winter)
        finally(function() relm.release.set_clock(nil) end)
        relm.release.set_clock(T)
        local r = relm.release.register { title = "Office hours", sla_hours = 10, calendar = "office" }
        assert.are.equal("2027-01-18T11:00:00Z", r.deadline) -- 8 h on Friday, 2 h on Monday
        relm.release.set_clock(T + 3 * 3600)
        r = relm.release.act(r.id, "suspend", { justification = j.suspend })
        assert.are.equal(28800, r.remaining_seconds)
        relm.release.set_clock(T + 4 * 86400) -- Tuesday 08:00
        r = relm.release.act(r.id, "reactivate")
        assert.are.equal("2027-01-19T17:00:00Z", r.deadline)
        assert.are.equal(28800, r.time_left)
        -- Late: one hour allowed, suspended on Monday at 10:00: Friday 10:00
        -- to 17:00 and Monday 09:00 to 10:00 are eight business hours late.
        relm.release.set_clock(T)
        local late = relm.release.register { title = "Late", sla_hours = 1, calendar = "office" }
        relm.release.set_clock(T + 3 * 86400 + 2 * 3600)
        assert.are.equal(-8 * 3600, relm.release.get(late.id).time_left)
        late = relm.release.act(late.id, "suspend", { justification = j.suspend })
        assert.are.equal(-8 * 3600, late.remaining_seconds)
    end)

    it("takes the calendar and the warning percentage from the model", function()
        local pdir = os.tmpname()
        os.remove(pdir)
        os.execute("mkdir -p " .. pdir)
        local f = assert(io.open(pdir .. "/office.lua", "w"))
        f:write([[portfolio "office" { description = "Office hours", calendar = "closed-today" }
model "desk" { workflow = "standard", sla_hours = 2, sla_warning_percent = 60 }
model "own" { workflow = "standard", sla_hours = 2, calendar = "br-office" }
]])
        f:close()
        relm.portfolio.load(pdir .. "/office.lua")
        local r = relm.release.register { title = "From the model", portfolio = "office", model = "desk" }
        assert.are.equal("closed-today", r.calendar)
        assert.are.equal(60, r.sla_warning_percent)
        assert.are.equal(os.date("!%Y-%m-%d", os.time() + 86400) .. "T02:00:00Z", r.deadline)
        assert.are.equal("br-office", relm.release.register { title = "Own", portfolio = "office",
            model = "own" }.calendar)
        local ok, err = pcall(relm.release.register, { title = "x", sla_hours = 1, calendar = "no-such" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"), tostring(err))
        assert.matches("no calendar named 'no%-such'", tostring(err))
    end)
end)
