-- window_spec.lua: defining freeze windows: one-off and recurring (RRULE
-- through libical, in the window's time zone), and the bad input refused
-- at definition time with nothing written.
local H = dofile("tests/spec/windows/helper.lua")

local function count()
    return relm.sql("SELECT count(*) AS n FROM windows")[1].n
end

describe("relm.window", function()
    setup(H.setup)
    before_each(H.clear)

    it("keeps a one-off window and gives it back", function()
        local id = relm.window.add { name = "xmas", kind = "blackout", starts = "2026-12-20T00:00Z",
            ends = "2027-01-02T00:00Z", scope = { services = { "web-svc" } }, reason = "year end" }
        assert.is_true(math.type(id) == "integer")
        local w = relm.window.get("xmas")
        assert.are.equal("blackout", w.kind)
        assert.are.equal("2026-12-20T00:00:00Z", w.starts)
        assert.are.equal("2027-01-02T00:00:00Z", w.ends)
        assert.are.same({ "web-svc" }, w.names)
        assert.are.equal("services", w.scope)
        assert.are.equal(1, #relm.window.list())
    end)

    it("expands a weekly rule with BYDAY and COUNT in its own time zone (DST kept)", function()
        relm.window.add { name = "weekend", kind = "maintenance", starts = "2027-03-20T10:00", duration = "4h",
            rrule = "FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4", tz = "Europe/Paris", types = { "server" } }
        local occ = relm.window.occurrences("weekend", "2027-01-01", "2028-01-01")
        -- 10:00 Paris is 09:00Z in winter; the clocks go forward early on
        -- 2027-03-28, so that Sunday it is 08:00Z.
        assert.are.same({
            { starts = "2027-03-20T09:00:00Z", ends = "2027-03-20T13:00:00Z" },
            { starts = "2027-03-21T09:00:00Z", ends = "2027-03-21T13:00:00Z" },
            { starts = "2027-03-27T09:00:00Z", ends = "2027-03-27T13:00:00Z" },
            { starts = "2027-03-28T08:00:00Z", ends = "2027-03-28T12:00:00Z" },
        }, occ)
        assert.are.equal("2027-03-28T12:00:00Z", relm.window.get("weekend")["until"])
    end)

    it("expands daily with UNTIL and monthly by day of month", function()
        relm.window.add { name = "nightly", kind = "maintenance", starts = "2027-01-01T22:00Z", duration = 3600,
            rrule = "FREQ=DAILY;UNTIL=20270103T235959Z", cis = { "db-01" } }
        assert.are.same({ "2027-01-01T22:00:00Z", "2027-01-02T22:00:00Z", "2027-01-03T22:00:00Z" },
            (function()
                local t = {}
                local occ = relm.window.occurrences("nightly", "2026-01-01", "2028-01-01")
                for i, o in ipairs(occ) do t[i] = o.starts end
                return t
            end)())
        relm.window.add { name = "month-end", kind = "blackout", starts = "2027-01-31T00:00Z", duration = "1d",
            rrule = "FREQ=MONTHLY;BYMONTHDAY=-1", cis = { "db-02" } }
        local occ = relm.window.occurrences("month-end", "2027-01-01", "2027-05-01")
        assert.are.same({ "2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z",
            "2027-04-30T00:00:00Z" }, { occ[1].starts, occ[2].starts, occ[3].starts, occ[4].starts })
        assert.is_nil(relm.window.get("month-end")["until"]) -- never ends
    end)

    it("finds the occurrences of a rule begun long before the period asked", function()
        relm.window.add { name = "hourly", kind = "maintenance", starts = "2015-01-01T00:10Z", duration = "5m",
            rrule = "FREQ=HOURLY", cis = { "db-02" } }
        relm.window.add { name = "fridays", kind = "blackout", starts = "2001-01-05T18:00", duration = "2h",
            rrule = "FREQ=WEEKLY;BYDAY=FR", tz = "America/New_York", cis = { "db-02" } }
        local h = relm.window.occurrences("hourly", "2027-05-01T10:00Z", "2027-05-01T12:00Z")
        assert.are.same({ { starts = "2027-05-01T10:10:00Z", ends = "2027-05-01T10:15:00Z" },
            { starts = "2027-05-01T11:10:00Z", ends = "2027-05-01T11:15:00Z" } }, h)
        local f = relm.window.occurrences("fridays", "2027-05-03", "2027-05-10")
        assert.are.same({ { starts = "2027-05-07T22:00:00Z", ends = "2027-05-08T00:00:00Z" } }, f)
    end)

    it("refuses an RRULE libical cannot read, naming the part; nothing written", function()
        local n = count()
        H.refused("invalid_rrule", "BYDAY=XX", relm.window.add, { name = "bad", kind = "blackout",
            starts = "2027-01-01T00:00Z", duration = "1h", rrule = "FREQ=WEEKLY;BYDAY=XX", cis = { "db-01" } })
        H.refused("invalid_rrule", "FREQ=FORTNIGHTLY", relm.window.add, { name = "bad", kind = "blackout",
            starts = "2027-01-01T00:00Z", duration = "1h", rrule = "FREQ=FORTNIGHTLY", cis = { "db-01" } })
        H.refused("invalid_rrule", "EVERY=2", relm.window.add, { name = "bad", kind = "blackout",
            starts = "2027-01-01T00:00Z", duration = "1h", rrule = "FREQ=DAILY;EVERY=2", cis = { "db-01" } })
        H.refused("invalid_rrule", "COUNT and UNTIL", relm.window.add, { name = "bad", kind = "blackout",
            starts = "2027-01-01T00:00Z", duration = "1h", rrule = "FREQ=DAILY;COUNT=2;UNTIL=20270201T000000Z",
            cis = { "db-01" } })
        assert.are.equal(n, count())
    end)

    it("refuses a scope naming an unknown CI, type or service", function()
        local base = { kind = "blackout", starts = "2027-01-01T00:00Z", duration = "1h" }
        local function with(t)
            for k, v in pairs(base) do t[k] = v end
            return t
        end
        H.refused("not_found", "no CI named 'db-99'", relm.window.add, with { name = "a", cis = { "db-99" } })
        H.refused("not_found", "no CI type named 'router'", relm.window.add, with { name = "b", types = { "router" } })
        H.refused("not_found", "no service (CI) named 'nope'", relm.window.add,
            with { name = "c", scope = { services = { "nope" } } })
        assert.are.equal(0, count())
    end)

    it("refuses ends before starts, an unknown zone, a bad kind, a missing scope", function()
        H.refused("invalid_argument", "is not after starts", relm.window.add, { name = "x", kind = "blackout",
            starts = "2027-01-02T00:00Z", ends = "2027-01-01T00:00Z", cis = { "db-01" } })
        H.refused("invalid_tz", "Mars/Olympus", relm.window.add, { name = "x", kind = "blackout",
            starts = "2027-01-02T00:00", duration = "1h", tz = "Mars/Olympus", cis = { "db-01" } })
        H.refused("invalid_argument", "kind must be", relm.window.add, { name = "x", kind = "freeze",
            starts = "2027-01-02T00:00Z", duration = "1h", cis = { "db-01" } })
        H.refused("invalid_argument", "needs a scope", relm.window.add, { name = "x", kind = "blackout",
            starts = "2027-01-02T00:00Z", duration = "1h" })
        H.refused("invalid_argument", "not a date", relm.window.add, { name = "x", kind = "blackout",
            starts = "next tuesday", duration = "1h", cis = { "db-01" } })
        assert.are.equal(0, count())
    end)

    it("needs the cmdb permission", function()
        if not relm.user.get("nobody") then
            relm.user.add { name = "nobody" }
        end
        relm.user.as("nobody", function()
            H.refused("permission_denied", nil, relm.window.add, { name = "x", kind = "blackout",
                starts = "2027-01-02T00:00Z", duration = "1h", cis = { "db-01" } })
        end)
        assert.are.equal(0, count())
    end)
end)
