-- normal_change_spec.lua: the shipped port of iTop's NormalChange
-- (workflows/normal_change.lua and its rule workflows/rules/normal_change.lua)
-- run to closure: assign with a supervisor, plan with a fallback, the
-- executor group's lead then the CAB approve, implement, roll back, plan
-- and approve again, implement, monitor, close.
local function as(user, fn, ...)
    return relm.user.as(user, fn, ...)
end

local refused = dofile("tests/fixtures/spec_helper.lua").refused

local function decide(user, r, decision, note)
    return as(user, relm.approval.decide, r.id, { decision = decision, note = note })
end

describe("the shipped normal change (iTop NormalChange)", function()
    setup(function()
        relm.approval.configure {} -- the shipped rules
        for _, u in ipairs({ "rita", "sam", "lena", "cal", "cid" }) do
            relm.user.add { name = u }
        end
        relm.group.add { name = "netops" }
        relm.group.add_member("netops", "sam")
        relm.group.add_member("netops", "lena", { role = "lead" })
        relm.group.add_member("cab", "cal")
        relm.group.add_member("cab", "cid")
        relm.group.add { name = "requesters" }
        relm.group.add_member("requesters", "rita")
        relm.permission.grant { group = "requesters", workflow = "normal_change", action = "create" }
        relm.permission.grant { group = "requesters", workflow = "normal_change", action = "execute" }
        relm.permission.grant { group = "netops", workflow = "normal_change", action = "execute" }
        relm.permission.grant { group = "netops", workflow = "normal_change", action = "approve" }
    end)

    it("passes check() and ships its approval rule", function()
        assert.is_true((relm.workflow.check("normal_change")))
        local wf = relm.workflow.load("normal_change")
        assert.are.same({ "new", "assigned", "planned", "approved", "notapproved", "implemented", "monitored",
            "closed", "cancelled" }, wf.state_order)
        assert.is_true(wf.transitions.approve.approval)
        local found
        for _, rule in ipairs(relm.approval.rules()) do
            found = found or (rule.name == "normal-change-cab" and rule.source)
        end
        assert.matches("^workflows/rules/normal_change%.lua:%d+$", found)
    end)

    it("runs a change to closure through a CAB approval and a rollback", function()
        local r = as("rita", relm.release.register, {
            workflow = "normal_change", title = "Replace the core switch", executor_group = "netops",
            impact = "low", urgency = "low", supervisor = "sam",
        })
        assert.are.equal("new", r.state)
        refused("invalid_field", "needs supervisor given with the action itself", function()
            as("rita", relm.release.act, r.id, "assign")
        end)
        refused("invalid_field", "no user named 'nobody'", function()
            as("rita", relm.release.act, r.id, "assign", { fields = { supervisor = "nobody" } })
        end)
        r = as("rita", relm.release.act, r.id, "assign", { fields = { supervisor = "lena" } })
        assert.are.same({ "assigned", "lena" }, { r.state, r.supervisor })
        local plan = { planned_start = "2026-06-01 22:00", planned_end = "2026-06-01 23:00",
            fallback = "re-plug the old switch", outage = "partial" }
        refused("invalid_field", "field 'outage' takes one of none, partial, full", function()
            as("sam", relm.release.act, r.id, "plan", { fields = { planned_start = plan.planned_start,
                planned_end = plan.planned_end, fallback = plan.fallback, outage = "some" } })
        end)
        r = as("sam", relm.release.act, r.id, "plan", { fields = plan })
        assert.are.same({ "planned", "pending" }, { r.state, r.cab_decision })
        refused("invalid_field", "field 'fallback' is read%-only in state 'planned'", function()
            relm.release.update(r.id, { fallback = "pray" })
        end)
        -- The lead of the executor group first, then half the CAB.
        local round = relm.approval.status(r.id)
        assert.are.same({ "lena", "cab" }, { round.requests[1].person, round.requests[2].group })
        refused("not_allowed", "waiting for approval by person 'lena'", function()
            as("sam", relm.release.act, r.id, "approve")
        end)
        decide("lena", r, "approve")
        assert.are.equal("approved", decide("cal", r, "approve").status)
        r = as("lena", relm.release.act, r.id, "approve")
        assert.are.same({ "approved", "approved" }, { r.state, r.cab_decision })
        assert.matches("^%d%d%d%d%-%d%d%-%d%d$", r.acceptance_date)
        r = as("sam", relm.release.act, r.id, "implement", { fields = { version = "17.2" } })
        -- It went wrong: back to planning, with a fallback stated again.
        refused("invalid_field", "needs fallback given with the action itself", function()
            as("sam", relm.release.act, r.id, "roll_back", { note = "packet loss" })
        end)
        r = as("sam", relm.release.act, r.id, "roll_back", { note = "packet loss",
            fields = { fallback = "keep the old switch in the rack" } })
        assert.are.same({ "planned", 1, "pending" }, { r.state, r.rollback_count, r.cab_decision })
        assert.are.equal("open", relm.approval.status(r.id).status) -- a new round: the CAB again
        decide("lena", r, "approve")
        decide("cid", r, "approve")
        r = as("lena", relm.release.act, r.id, "approve")
        r = as("sam", relm.release.act, r.id, "implement")
        r = as("sam", relm.release.act, r.id, "monitor")
        assert.are.equal("monitored", r.state)
        r = as("rita", relm.release.act, r.id, "finish", { fields = { solution_category = "as planned",
            closure_text = "switch replaced; monitored for a day" } })
        assert.are.same({ "closed", "closed" }, { r.state, r.status })
        assert.is_true((relm.audit.verify()))
    end)

    it("a refused plan is re-planned and goes to the CAB again", function()
        local r = as("rita", relm.release.register, {
            workflow = "normal_change", title = "Renumber the VLANs", executor_group = "netops",
        })
        r = as("rita", relm.release.act, r.id, "assign", { fields = { supervisor = "lena" } })
        r = as("sam", relm.release.act, r.id, "plan", { fields = { planned_start = "2026-07-01",
            planned_end = "2026-07-02", fallback = "restore the config", outage = "none" } })
        r = decide("lena", r, "reject", "no maintenance window booked").release
        assert.are.same({ "notapproved", "not approved" }, { r.state, r.cab_decision })
        r = as("sam", relm.release.act, r.id, "replan", { fields = { fallback = "restore the saved config",
            planned_start = "2026-07-08", planned_end = "2026-07-09" } })
        assert.are.same({ "planned", "pending" }, { r.state, r.cab_decision })
        assert.are.equal("open", relm.approval.status(r.id).status)
    end)
end)
