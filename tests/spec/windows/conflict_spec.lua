-- conflict_spec.lua: each kind of conflict relm.release.conflicts reports,
-- with the CI, the other release or window and the path through the CMDB;
-- the kept count the desktop and the calendar read.
local H = dofile("tests/spec/windows/helper.lua")

local DAY1, DAY1_END = "2027-02-10T10:00:00Z", "2027-02-10T12:00:00Z"

describe("relm.release.conflicts", function()
    setup(H.setup)
    before_each(H.clear)

    it("is empty for a release with no planned window or no neighbour", function()
        local r = H.release(nil, nil, { "db-01" })
        assert.are.same({}, relm.release.conflicts(r.id))
        local r2 = H.release(DAY1, DAY1_END, { "db-02" })
        assert.are.same({}, relm.release.conflicts(r2.number))
    end)

    it("scheduled: the same CI in another release with an overlapping window", function()
        local a = H.release(DAY1, DAY1_END, { "db-01" })
        local b = H.release("2027-02-10T11:00:00Z", "2027-02-10T13:00:00Z", { "db-01" })
        H.release("2027-02-10T12:00:00Z", "2027-02-10T13:00:00Z", { "db-01" }) -- touches, no overlap
        local c = H.of_kind(a.id, "scheduled")
        assert.are.equal(1, #c)
        assert.are.equal("db-01", c[1].ci)
        assert.are.equal(b.number, c[1].release)
        assert.are.equal("db-01", c[1].path)
    end)

    it("scheduled: through the graph, both ways, with the path", function()
        local a = H.release(DAY1, DAY1_END, { "db-01" })
        local b = H.release(DAY1, DAY1_END, { "web-svc" })
        local ca, cb = H.of_kind(a.id, "scheduled"), H.of_kind(b.id, "scheduled")
        assert.are.equal(1, #ca)
        assert.are.equal("db-01", ca[1].ci)
        assert.are.equal("web-svc → app-01 → db-01", ca[1].path) -- web-svc depends on db-01
        assert.are.equal(b.number, ca[1].release)
        assert.are.equal(1, #cb)
        assert.are.equal("web-svc", cb[1].ci)
        assert.are.equal("web-svc → app-01 → db-01", cb[1].path)
        assert.is_truthy(cb[1].reason:find(a.number, 1, true))
    end)

    it("blackout: a CI in a window's scope (CI, type, service) overlapping the plan", function()
        relm.window.add { name = "freeze", kind = "blackout", starts = "2027-02-10T00:00Z", duration = "1d",
            services = { "web-svc" } }
        relm.window.add { name = "servers", kind = "blackout", starts = "2027-02-10T11:00Z", duration = "1h",
            types = { "server" } }
        relm.window.add { name = "later", kind = "blackout", starts = "2027-02-11T00:00Z", duration = "1d",
            cis = { "db-01" } }
        local r = H.release(DAY1, DAY1_END, { "db-01" })
        local c = H.of_kind(r.id, "blackout")
        table.sort(c, function(x, y) return x.window < y.window end)
        assert.are.equal(2, #c)
        assert.are.equal("freeze", c[1].window)
        assert.are.equal("web-svc → app-01 → db-01", c[1].path)
        assert.are.equal("2027-02-10T00:00:00Z", c[1].starts)
        assert.are.equal("servers", c[2].window)
        assert.are.equal("db-01", c[2].path)
        assert.are.equal("db-01", c[2].ci)
    end)

    it("blackout: a recurring window counts only when an occurrence overlaps", function()
        relm.window.add { name = "weekends", kind = "blackout", starts = "2027-02-06T00:00Z", duration = "2d",
            rrule = "FREQ=WEEKLY;BYDAY=SA", cis = { "db-02" } }
        local weekday = H.release(DAY1, DAY1_END, { "db-02" }) -- a Wednesday
        local saturday = H.release("2027-02-13T10:00:00Z", "2027-02-13T11:00:00Z", { "db-02" })
        assert.are.equal(0, #H.of_kind(weekday.id, "blackout"))
        local c = H.of_kind(saturday.id, "blackout")
        assert.are.equal(1, #c)
        assert.are.equal("2027-02-13T00:00:00Z", c[1].starts)
    end)

    it("maintenance: a plan outside every maintenance window of the CI", function()
        relm.window.add { name = "nights", kind = "maintenance", starts = "2027-02-01T22:00Z", duration = "4h",
            rrule = "FREQ=DAILY", cis = { "db-02" } }
        local inside = H.release("2027-02-10T22:30:00Z", "2027-02-11T01:00:00Z", { "db-02" })
        local outside = H.release(DAY1, DAY1_END, { "db-02" })
        assert.are.equal(0, #H.of_kind(inside.id, "maintenance"))
        local c = H.of_kind(outside.id, "maintenance")
        assert.are.equal(1, #c)
        assert.are.equal("nights", c[1].window)
        assert.are.equal("db-02", c[1].ci)
        -- A CI without maintenance windows is never outside them.
        assert.are.equal(0, #H.of_kind(H.release(DAY1, DAY1_END, { "db-01" }).id, "maintenance"))
    end)

    it("person: the responsible booked twice in overlapping windows", function()
        if not relm.user.get("rita") then
            relm.user.add { name = "rita" }
        end
        local a = H.release(DAY1, DAY1_END, {}, { responsible = "rita" })
        local b = H.release("2027-02-10T11:30:00Z", "2027-02-10T15:00:00Z", {}, { responsible = "rita" })
        local c = H.of_kind(a.id, "person")
        assert.are.equal(1, #c)
        assert.are.equal(b.number, c[1].release)
        assert.is_truthy(c[1].reason:find("rita", 1, true))
    end)

    it("keeps a count per release, recomputed when dates, CIs or windows change", function()
        local a = H.release(DAY1, DAY1_END, { "db-02" })
        assert.are.equal(0, relm.window.count(a.id))
        relm.window.add { name = "stop", kind = "blackout", starts = "2027-02-10T00:00Z", duration = "1d",
            cis = { "db-02" } }
        assert.are.equal(1, relm.window.count(a.id))
        local b = H.release(DAY1, DAY1_END, { "db-02" })
        assert.are.equal(2, relm.window.count(a.id)) -- the window and b
        relm.release.update(b.id, { planned_start = "2027-03-01T10:00:00Z", planned_end = "2027-03-01T11:00:00Z" })
        assert.are.equal(1, relm.window.count(a.id))
        relm.window.remove("stop")
        assert.are.equal(0, relm.window.count(a.id))
    end)
end)

describe("conflicts where people see them", function()
    setup(H.setup)
    before_each(H.clear)

    it("relm.release.get lists them and the desktop counts them", function()
        relm.window.add { name = "stop", kind = "blackout", starts = "2027-02-10T00:00Z", duration = "1d",
            cis = { "db-02" } }
        local a = H.release(DAY1, DAY1_END, { "db-02" }, { responsible = "admin" })
        local b = H.release("2027-03-10T10:00:00Z", "2027-03-10T11:00:00Z", { "db-02" }, { responsible = "admin" })
        local got = relm.release.get(a.id)
        assert.are.equal(1, #got.conflicts)
        assert.are.equal("blackout", got.conflicts[1].kind)
        assert.is_truthy(tostring(got):find("! blackout: db-02 is in blackout window 'stop'", 1, true))
        assert.is_nil(relm.release.get(b.id).conflicts)
        local by = {}
        for _, it in ipairs(relm.desktop()) do
            by[it.number] = it.conflicts
        end
        assert.are.equal(1, by[a.number])
        assert.are.equal(0, by[b.number])
        assert.is_truthy(tostring(relm.desktop()):find("!1", 1, true))
    end)
end)

describe("refuse_if and record_if in the workflow DSL", function()
    local path = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/conflicted.lua"

    it("refuses an unknown conflict kind with file:line", function()
        local f = assert(io.open(path, "w"))
        f:write([[
workflow "conflicted" { initial = "a", close_state = "b" }
state "a" { phase = "registration" }
state "b" { phase = "closure", final = true }
transition "go" {
    from = "a", to = "b",
    refuse_if = "eclipse",
}
]])
        f:close()
        local ok, problems = relm.workflow.check(path)
        assert.is_false(ok)
        assert.are.equal(1, #problems, table.concat(problems, "\n"))
        assert.matches("conflicted.lua:4: .*refuse_if.*conflict kind", problems[1])
    end)
end)
