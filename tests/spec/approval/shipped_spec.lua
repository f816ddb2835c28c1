-- shipped_spec.lua: the CAB as shipped, from a fresh database: the empty
-- cab group (migration 0010), the rules in workflows/rules/cab.lua, the
-- major workflow's CAB review and the standard workflow's homologation.
-- Register a major release from a shipped model, reach CAB review, approve
-- by quorum, reject with a reason (back to planning), and what is refused.
local assert = require "luassert"

local function as(user, fn, ...)
    return relm.user.as(user, fn, ...)
end

local decide = dofile("tests/spec/activity/helper.lua").decide

local function counts()
    local n = function(t) return relm.sql("SELECT count(*) AS n FROM " .. t)[1].n end
    return { occurrences = n("occurrences"), rounds = n("approval_rounds"), requests = n("approval_requests"),
        decisions = n("approval_decisions"), states = relm.sql("SELECT group_concat(state) AS s FROM releases")[1].s }
end

-- fn must raise code with a message matching pattern, and write nothing.
local refused = dofile("tests/fixtures/spec_helper.lua").refuser(counts)

local PLAN = { planned_start = "2027-03-01", planned_end = "2027-03-05", rollback_plan = "keep the old SAN" }

-- A major release of the shipped hardware-refresh model, in planning.
local function major(title)
    local r = relm.release.register { portfolio = "infrastructure", model = "hardware-refresh", title = title }
    return relm.release.act(r.id, "authorize", { fields = PLAN })
end

local function history(r)
    local out = {}
    for _, o in ipairs(relm.release.history(r.id)) do
        if not o.action:find("^activity%.") then
            out[#out + 1] = o.action
        end
    end
    return out
end

describe("the shipped CAB", function()
    setup(function()
        relm.approval.configure {} -- the shipped rules directory
    end)

    it("a fresh database has an empty cab group that may approve on every workflow", function()
        local rows = relm.sql([[SELECT g.name, p.workflow, p.action,
            (SELECT count(*) FROM memberships m WHERE m.group_id = g.id) AS members
            FROM groups g JOIN permissions p ON p.group_id = g.id WHERE g.name = 'cab']])
        assert.are.same({ { name = "cab", workflow = "*", action = "approve", members = 0 } }, rows)
        local names = {}
        for _, rule in ipairs(relm.approval.rules()) do
            names[#names + 1] = rule.name
        end
        assert.are.same({ "cab", "critical-cis", "normal-change-cab" }, names)
        assert.is_true(relm.workflow.load("major").transitions.approve.approval)
        assert.are.equal("reject", relm.workflow.load("major").transitions.approve.on_reject)
        assert.are.equal("not_resolved", relm.workflow.load("standard").transitions.resolve.on_reject)
    end)

    it("refuses to send a plan to a CAB without members, and writes nothing", function()
        local r = major("Replace the SAN (no board yet)")
        refused("not_allowed", "rule 'cab' %(workflows/rules/cab%.lua:%d+%) asks group 'cab' to approve, "
            .. "but it has no active members: add the approvers to it first", function()
            relm.release.act(r.id, "submit_plan")
        end)
        assert.are.equal("planning", relm.release.get(r.id).state)
        relm.release.act(r.id, "cancel", { justification = relm.justification.add {
            description = "Board not staffed", cancel = true } })
    end)

    it("takes a major release through CAB review: approval by quorum, then build", function()
        for _, u in ipairs({ "ann", "ben", "cat" }) do
            relm.user.add { name = u }
            relm.group.add_member("cab", u)
        end
        relm.user.add { name = "otto" }
        local r = major("Replace the SAN")
        assert.are.equal(3, #relm.activity.open(r.id, "planning")) -- from the model
        r = relm.release.act(r.id, "submit_plan")
        assert.are.equal("cab_review", r.state)
        local round = relm.approval.status(r.id)
        assert.are.equal("open", round.status)
        assert.are.equal(1, #round.requests)
        assert.are.equal("cab", round.requests[1].group)
        assert.are.equal(2, round.requests[1].needed) -- half of three, rounded up

        local mine = as("ann", relm.approval.pending)
        assert.are.equal(1, #mine)
        assert.are.equal(r.number, mine[1].release)
        assert.are.same({}, as("otto", relm.approval.pending))
        refused("not_allowed", "otto is not asked to approve release", function() decide("otto", r, "approve") end)

        -- Planning activities and the board both stand between CAB review
        -- and build; the activities are finished first here.
        for _, a in ipairs(relm.activity.open(r.id, "planning")) do
            relm.activity.move(a.id, "done")
        end
        refused("not_allowed", "waiting for approval by group 'cab' %(0 of 2 approvals%)", function()
            relm.release.act(r.id, "approve")
        end)
        assert.is_false(relm.release.act(r.id, "approve", { dry_run = true }).allowed)

        assert.are.equal("open", decide("ann", r, "approve", "capacity study read").status)
        refused("duplicate", "ann has already decided", function() decide("ann", r, "approve") end)
        refused("not_allowed", "%(1 of 2 approvals%)", function() relm.release.act(r.id, "approve") end)
        round = decide("ben", r, "approve")
        assert.are.equal("approved", round.status)
        assert.are.same({}, as("cat", relm.approval.pending)) -- settled: nothing left for cat

        r = as("ann", relm.release.act, r.id, "approve")
        assert.are.equal("build", r.state)
        assert.are.equal("deployment", r.phase)
        assert.are.equal("approved", r.cab_decision)
        assert.are.same({ "register", "authorize", "submit_plan", "approval.request", "approval.approve",
            "approval.approve", "approve" }, history(r))
        assert.is_true((relm.audit.verify()))
    end)

    it("a rejection with a reason sends the release back to planning; resubmitting asks again", function()
        local r = relm.release.act(major("Replace the tape library").id, "submit_plan")
        refused("invalid_field", "a rejection needs a note", function() decide("cat", r, "reject") end)
        local round = decide("cat", r, "reject", "no capacity study yet")
        assert.are.equal("rejected", round.status)
        assert.are.equal("planning", round.release.state)
        assert.are.equal("rejected", round.release.cab_decision)
        local last = relm.release.history(r.id)
        last = last[#last]
        assert.are.equal("reject", last.action)
        assert.are.equal("cat", last.actor)
        assert.are.equal("no capacity study yet", last.note)
        refused("not_allowed", "no approval is waiting", function() decide("ann", r, "approve") end)

        r = relm.release.act(r.id, "submit_plan")
        assert.are.equal("pending", r.cab_decision)
        round = relm.approval.status(r.id)
        assert.are.equal("open", round.status)
        assert.are.equal("cab_review", round.state)
        assert.are.equal(0, round.requests[1].approvals)
    end)

    it("standard: priority 1 waits for the CAB in homologation, priority 3 does not", function()
        local function homologation(impact, urgency)
            local r = relm.release.register { workflow = "standard", title = "Payroll " .. impact,
                impact = impact, urgency = urgency }
            for _, t in ipairs({ "authorize", "execute", "pass" }) do
                r = relm.release.act(r.id, t)
            end
            assert.are.equal("homologation", r.state)
            return r
        end
        local urgent = homologation("high", "high")
        assert.are.equal(1, urgent.priority)
        refused("not_allowed", "waiting for approval by group 'cab'", function()
            relm.release.act(urgent.id, "resolve")
        end)
        local round = decide("ben", urgent, "reject", "test evidence missing")
        assert.are.equal("in_execution", round.release.state) -- through not_resolved

        local routine = homologation("medium", "medium")
        assert.are.equal(3, routine.priority)
        assert.are.equal("approved", relm.approval.status(routine.id).status) -- no rule asks
        assert.are.equal("resolved", relm.release.act(routine.id, "resolve").state)
    end)

    it("a release touching a critical CI needs the whole CAB", function()
        relm.cmdb.define_type { name = "database", attributes = {} }
        relm.cmdb.add { type = "database", name = "ledger-db", criticality = "critical" }
        local r = relm.release.register { workflow = "standard", title = "Ledger index", impact = "low",
            urgency = "low" }
        relm.release.relate(r.id, "ci", "ledger-db")
        for _, t in ipairs({ "authorize", "execute", "pass" }) do
            r = relm.release.act(r.id, t)
        end
        local round = relm.approval.status(r.id)
        assert.are.equal(1, #round.requests)
        assert.are.equal("critical-cis", round.requests[1].rule)
        assert.are.equal(3, round.requests[1].needed)
        decide("ann", r, "approve")
        decide("ben", r, "approve")
        refused("not_allowed", "%(2 of 3 approvals%)", function() relm.release.act(r.id, "resolve") end)
        assert.are.equal("approved", decide("cat", r, "approve").status)
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)
end)
