-- gate_spec.lua: the done-when scenario of issue 11: a blackout on a
-- service refuses `authorize` of the standard workflow for a release
-- touching a CI the service depends on, with the path in the reason (and
-- so does a dry run); the emergency workflow goes ahead and records it.
local H = dofile("tests/spec/windows/helper.lua")

describe("a blackout window and the shipped workflows", function()
    setup(H.setup)
    before_each(function()
        H.clear()
        relm.window.add { name = "year-end", kind = "blackout", starts = "2027-12-20T00:00Z",
            ends = "2028-01-03T00:00Z", scope = { services = { "web-svc" } }, reason = "year-end freeze" }
    end)

    it("standard refuses authorize with the CI and the path; nothing written", function()
        local r = H.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-01" })
        local before = #relm.release.history(r.id)
        local err = H.refused("not_allowed", "web-svc → app-01 → db-01", relm.release.act, r.id, "authorize")
        assert.is_truthy(tostring(err):find("year-end", 1, true))
        assert.are.equal("registered", relm.release.get(r.id).state)
        assert.are.equal(before, #relm.release.history(r.id))
    end)

    it("a dry run shows the same refusal", function()
        local r = H.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-01" })
        local d = relm.release.act(r.id, "authorize", { dry_run = true })
        assert.is_false(d.allowed)
        assert.are.equal("not_allowed", d.code)
        assert.is_truthy(d.reason:find("web-svc → app-01 → db-01", 1, true), d.reason)
    end)

    it("standard authorizes once the plan leaves the blackout", function()
        local r = H.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-01" })
        relm.release.update(r.id, { planned_start = "2028-01-05T10:00:00Z", planned_end = "2028-01-05T12:00:00Z" })
        assert.are.equal("in_execution", relm.release.act(r.id, "authorize").state)
    end)

    it("a CI outside the service's dependencies is not refused", function()
        local r = H.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-02" })
        assert.are.equal("in_execution", relm.release.act(r.id, "authorize").state)
    end)

    describe("a release without planned dates", function()
        local seconds = { ["2027-12-22T10:00:00Z"] = 1829469600, ["2028-01-05T10:00:00Z"] = 1830679200 }
        after_each(function()
            relm.release.set_clock(nil)
        end)

        it("is refused authorize while a blackout stands now on a CI it touches", function()
            relm.release.set_clock(seconds["2027-12-22T10:00:00Z"])
            local r = H.release(nil, nil, { "db-01" })
            local d = relm.release.act(r.id, "authorize", { dry_run = true })
            assert.is_false(d.allowed)
            assert.is_truthy(d.reason:find("web-svc → app-01 → db-01", 1, true), d.reason)
            H.refused("not_allowed", "year-end", relm.release.act, r.id, "authorize")
            assert.are.equal(1, #H.of_kind(r.id, "blackout"))
        end)

        it("is authorized when no blackout stands now, and has no other kind of conflict", function()
            relm.release.set_clock(seconds["2028-01-05T10:00:00Z"])
            local r = H.release(nil, nil, { "db-01" })
            assert.are.same({}, relm.release.conflicts(r.id))
            assert.are.equal("in_execution", relm.release.act(r.id, "authorize").state)
        end)
    end)

    it("emergency goes ahead and records the conflict in the occurrence's note", function()
        local r = H.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "app-01" },
            { workflow = "emergency" })
        r = relm.release.act(r.id, "authorize", { note = "site down" })
        assert.are.equal("in_execution", r.state)
        local h = relm.release.history(r.id)
        local note = h[#h].note
        assert.is_truthy(note:find("site down", 1, true), note)
        assert.is_truthy(note:find("blackout window 'year-end'", 1, true), note)
        assert.is_truthy(note:find("web-svc → app-01", 1, true), note)
    end)
end)
