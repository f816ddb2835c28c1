-- approval_spec.lua: approvals asked when a release enters a state with an
-- `approval = true` transition, quorum, persons, levels, decisions, the
-- transition gate, rejection through on_reject, pending{user=}, and the bad
-- input (not asked, second decision, no permission) that writes nothing.
local H = dofile("tests/spec/activity/helper.lua")

local function as(user, fn, ...)
    return relm.user.as(user, fn, ...)
end

local decide = H.decide

-- What waits for user on release r only (other specs leave rounds open).
local function waiting_for(user, r)
    local out = {}
    for _, p in ipairs(relm.approval.pending { user = user }) do
        if p.release_id == r.id then
            out[#out + 1] = p
        end
    end
    return out
end

local function can(r, action)
    for _, a in ipairs(relm.release.actions(r.id)) do
        if a == action then
            return true
        end
    end
    return false
end

local function number_pattern(r)
    return (r.number:gsub("%-", "%%-"))
end

describe("relm.approval", function()
    setup(H.setup)
    teardown(H.cleanup)

    it("the CAB three-liner: a priority 1 release waits for half the CAB", function()
        H.rules [[
rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "50%" } }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        assert.are.equal(1, r.priority)
        local round = relm.approval.status(r.id)
        assert.are.equal("open", round.status)
        assert.are.equal("homologation", round.state)
        assert.are.equal(1, #round.requests)
        assert.are.equal("cab", round.requests[1].group)
        assert.are.equal("50%", round.requests[1].quorum)
        assert.are.equal(2, round.requests[1].needed) -- 50% of 3 members, rounded up
        H.refused("not_allowed", "'resolve' is not allowed on release " .. number_pattern(r)
            .. ": waiting for approval by group 'cab' %(0 of 2 approvals%)", function()
            relm.release.act(r.id, "resolve")
        end)
        assert.is_false(can(r, "resolve"))
        local dry = relm.release.act(r.id, "resolve", { dry_run = true })
        assert.is_false(dry.allowed)
        assert.matches("waiting for approval by group 'cab'", dry.reason)
        assert.are.equal("open", decide("dave", r, "approve", "fine by me").status)
        H.refused("not_allowed", "%(1 of 2 approvals%)", function() relm.release.act(r.id, "resolve") end)
        local done = decide("erin", r, "approve")
        assert.are.equal("approved", done.status)
        assert.are.equal("approved", done.requests[1].status)
        assert.are.equal(2, done.requests[1].approvals)
        assert.is_true(can(r, "resolve"))
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
        local actions = {}
        for _, h in ipairs(relm.release.history(r.id)) do
            actions[#actions + 1] = h.action
        end
        assert.are.same({ "register", "plan", "rush", "finish", "approval.request", "approval.approve",
            "approval.approve", "resolve" }, actions)
        assert.is_true((relm.audit.verify()))
    end)

    it("a release no rule matches is approved at once", function()
        H.rules [[
rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "50%" } }
]]
        local r = H.in_homologation { impact = "low", urgency = "low" }
        local round = relm.approval.status(r.id)
        assert.are.equal("approved", round.status)
        assert.are.same({}, round.requests)
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)

    it("lists what waits for a user, and forgets it once decided", function()
        H.rules [[
rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "all" } }
rule "gina" { when = { risk = "high" }, approvers = person "gina" }
]]
        local r = H.in_homologation { impact = "high", urgency = "medium", risk = "high" }
        local p = waiting_for("dave", r)
        assert.are.equal(1, #p)
        assert.are.equal(r.number, p[1].release)
        assert.are.equal("cab", p[1].group)
        assert.are.equal(3, p[1].needed)
        assert.are.equal(0, p[1].approvals)
        assert.are.equal("gina", waiting_for("gina", r)[1].person)
        assert.are.same({}, waiting_for("bob", r))
        assert.are.equal(#relm.approval.pending { user = "dave" }, #as("dave", relm.approval.pending))
        decide("dave", r, "approve")
        assert.are.same({}, waiting_for("dave", r))
        assert.are.equal(1, waiting_for("erin", r)[1].approvals)
        H.refused("not_found", "no user named 'nobody'", function() waiting_for("nobody", r) end)
    end)

    it("runs levels one after the other", function()
        H.rules [[
rule "two-step" {
    when = { priority = 1 },
    approvers = levels { group "cab" { quorum = 2 }, person "gina" },
}
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        local round = relm.approval.status(r.id)
        assert.are.same({ "pending", "waiting" }, { round.requests[1].status, round.requests[2].status })
        assert.are.same({}, waiting_for("gina", r))
        H.refused("not_allowed", "gina is not asked to approve", function() decide("gina", r, "approve") end)
        H.refused("not_allowed", "then level 2 of rule 'two%-step': person 'gina'", function()
            relm.release.act(r.id, "resolve")
        end)
        decide("dave", r, "approve")
        assert.are.equal("open", decide("frank", r, "approve").status)
        assert.are.equal(1, #waiting_for("gina", r))
        assert.are.equal("approved", decide("gina", r, "approve").status)
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)

    it("a rejection with a reason sends the release where the workflow says", function()
        H.rules [[
rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "50%" } }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        H.refused("invalid_field", "a rejection needs a note saying why", function() decide("dave", r, "reject") end)
        local round = decide("dave", r, "reject", "no rollback plan")
        assert.are.equal("rejected", round.status)
        assert.are.equal("rejected", round.requests[1].status)
        assert.are.equal("deployment", round.release.state)
        assert.are.equal("deployment", relm.release.get(r.id).state)
        local h = relm.release.history(r.id)
        assert.are.same({ "approval.reject", "not_resolved" }, { h[#h - 1].action, h[#h].action })
        assert.are.equal("no rollback plan", h[#h].note)
        assert.are.same({}, waiting_for("erin", r))
        -- back in homologation: a new round, asked anew
        relm.release.act(r.id, "finish")
        local again = relm.approval.status(r.id)
        assert.are_not.equal(round.id, again.id)
        assert.are.equal("open", again.status)
        assert.are.equal(1, #waiting_for("dave", r))
    end)

    it("without veto, a group rejects only when its quorum can no longer be met", function()
        H.rules [[
rule "cab" { when = { priority = 1 }, approvers = group "cab" { quorum = 2, veto = false } }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        assert.are.equal("open", decide("dave", r, "reject", "not convinced").status)
        assert.are.equal("rejected", decide("erin", r, "reject", "me neither").status)
        assert.are.equal("deployment", relm.release.get(r.id).state)
    end)

    it("keeps the round through suspend and reactivate; cancel withdraws it", function()
        H.rules [[
rule "cab" { when = { priority = 1 }, approvers = group "cab" { quorum = 2 } }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        decide("dave", r, "approve")
        relm.release.act(r.id, "suspend", { justification = H.suspension })
        H.refused("not_allowed", "no approval is waiting on release .* %(suspended", function()
            decide("erin", r, "approve")
        end)
        relm.release.act(r.id, "reactivate")
        assert.are.equal(1, relm.approval.status(r.id).requests[1].approvals)
        assert.are.equal("approved", decide("erin", r, "approve").status)
        local c = H.in_homologation { impact = "high", urgency = "high" }
        relm.release.act(c.id, "cancel", { justification = H.justification })
        assert.are.equal("withdrawn", relm.approval.status(c.id).status)
        assert.are.equal("withdrawn", relm.approval.status(c.id).requests[1].status)
        assert.are.equal("approval.withdraw", relm.release.history(c.id)[#relm.release.history(c.id)].action)
        assert.are.same({}, waiting_for("frank", c))
    end)

    it("matches by portfolio fields, states and functions", function()
        H.rules [[
rule "risky" {
    when = function(r) return r.risk == "high" and r.title:find("database") ~= nil end,
    approvers = person "gina",
}
rule "elsewhere" { states = "cab_review", when = {}, approvers = person "frank" }
rule "typed" {
    when = { type = {"major", "emergency"}, urgency = "high" },
    approvers = { person "dave", person "erin" },
}
]]
        local a = H.in_homologation { title = "Move the database", risk = "high" }
        local reqs = relm.approval.status(a.id).requests
        assert.are.equal(1, #reqs)
        assert.are.equal("gina", reqs[1].person)
        local b = H.in_homologation { title = "Move the files", risk = "high", type = "major", urgency = "high" }
        reqs = relm.approval.status(b.id).requests
        assert.are.same({ "dave", "erin" }, { reqs[1].person, reqs[2].person })
        assert.are.same({ 1, 1 }, { reqs[1].level, reqs[2].level })
        assert.are.equal("open", decide("dave", b, "approve").status)
        assert.are.equal("approved", decide("erin", b, "approve").status)
    end)

    it("matches the CIs a release touches", function()
        H.rules [[
rule "critical" { when = { cis = { criticality = { "high", "critical" } } }, approvers = person "gina" }
]]
        local r = H.in_homologation {}
        assert.are.same({}, relm.approval.status(r.id).requests)
        relm.cmdb.define_type { name = "database", attributes = {} }
        relm.cmdb.add { type = "database", name = "db-prod", criticality = "high" }
        local c = H.release {}
        relm.release.relate(c.id, "ci", "db-prod")
        relm.release.act(c.id, "rush")
        c = relm.release.act(c.id, "finish")
        assert.are.equal("gina", relm.approval.status(c.id).requests[1].person)
    end)

    it("refuses a decision by someone not asked, writing nothing", function()
        H.rules [[
rule "cab" { when = { priority = 1 }, approvers = group "cab" { quorum = 2 } }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        H.refused("not_allowed", "carol is not asked to approve release " .. number_pattern(r)
            .. "; waiting for group 'cab' %(0 of 2 approvals%)", function()
            decide("carol", r, "approve")
        end)
        H.refused("not_allowed", "bob is not asked", function() decide("bob", r, "reject", "no") end)
        local other = H.release {}
        H.refused("not_allowed", "no approval is waiting on release " .. number_pattern(other), function()
            decide("dave", other, "approve")
        end)
    end)

    it("refuses a second decision by the same approver, writing nothing", function()
        H.rules [[
rule "cab" { when = { priority = 1 }, approvers = group "cab" { quorum = "all" } }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        decide("dave", r, "approve")
        H.refused("duplicate", "dave has already decided on release " .. number_pattern(r), function()
            decide("dave", r, "approve")
        end)
        H.refused("duplicate", "already decided", function() decide("dave", r, "reject", "changed my mind") end)
    end)

    it("refuses an approver without the approve permission, writing nothing", function()
        H.rules [[
rule "owners" { when = { priority = 1 }, approvers = group "owners" }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        H.refused("permission_denied", "approve", function() decide("olga", r, "approve") end)
    end)

    it("refuses to enter an approval state when a rule names nobody usable, writing nothing", function()
        -- A group nobody created is refused when the rule loads (rules_spec);
        -- a group too small for its quorum can only be seen when asking.
        local r = H.release { impact = "high", urgency = "high" }
        relm.release.act(r.id, "rush")
        H.rules [[
rule "big" { when = { priority = 1 }, approvers = group "cab" { quorum = 5 } }
]]
        H.refused("not_allowed", "asks 5 approvals of group 'cab', which has 3 active members", function()
            relm.release.act(r.id, "finish")
        end)
        assert.are.equal("deployment", relm.release.get(r.id).state)
    end)

    it("one decision answers every request the approver is asked in", function()
        H.rules [[
rule "cab" { when = { priority = 1 }, approvers = group "cab" { quorum = 2 } }
rule "dave" { when = { priority = 1 }, approvers = person "dave" }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        assert.are.equal(2, #waiting_for("dave", r))
        local round = decide("dave", r, "approve")
        assert.are.equal("open", round.status)
        assert.are.same({ "pending", "approved" }, { round.requests[1].status, round.requests[2].status })
        assert.are.same({}, waiting_for("dave", r))
        assert.are.equal("approved", decide("frank", r, "approve").status)
    end)

    it("asks at registration when the first state needs approval", function()
        local wpath = H.rule_file("")
        wpath = wpath:match("^(.*)/") .. "/gateflow.lua"
        local f = assert(io.open(wpath, "w"))
        f:write([[
workflow "gateflow" { initial = "proposed" }
state "proposed" { phase = "registration", cancel = true }
state "closed" { phase = "closure", final = true }
state "cancelled" { phase = "closure", final = true }
transition "go" { from = "proposed", to = "closed", approval = true }
]])
        f:close()
        relm.release.workflow(wpath)
        os.remove(wpath)
        H.rules [[
rule "gina" { when = { workflow = "gateflow" }, approvers = person "gina" }
]]
        local r = as("bob", relm.release.register, { workflow = "gateflow", title = "Proposal" })
        assert.are.equal("gina", relm.approval.status(r.id).requests[1].person)
        assert.are.equal("approval.request", relm.release.history(r.id)[2].action)
        H.refused("not_allowed", "waiting for approval by person 'gina'", function()
            relm.release.act(r.id, "go")
        end)
    end)

    it("asks again on request, withdrawing the open round", function()
        H.rules [[
rule "cab" { when = { priority = 1 }, approvers = group "cab" }
]]
        local r = H.in_homologation { impact = "high", urgency = "high" }
        local first = relm.approval.status(r.id)
        H.rules [[
rule "gina" { when = { priority = 1 }, approvers = person "gina" }
]]
        local second = relm.approval.request(r.number)
        assert.are_not.equal(first.id, second.id)
        assert.are.equal("gina", second.requests[1].person)
        assert.are.same({}, waiting_for("dave", r))
        H.refused("permission_denied", nil, function() as("carol", relm.approval.request, r.id) end)
    end)
end)
