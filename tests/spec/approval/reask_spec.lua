-- reask_spec.lua: approval rules count at the approval point. A CI related
-- after the round was opened (the shipped critical-CI rule) asks the rules
-- again; rules that changed since the round opened stop the transition.
local H = dofile("tests/spec/activity/helper.lua")

local function approvers(r)
    local out = {}
    for _, q in ipairs(relm.approval.status(r.id).requests) do
        out[#out + 1] = (q.group or q.person) .. ":" .. q.status
    end
    return out
end

describe("approval at the approval point", function()
    setup(function()
        H.setup()
        relm.cmdb.define_type { name = "dbserver", attributes = {} }
        relm.cmdb.add { type = "dbserver", name = "db-core", criticality = "high" }
        relm.cmdb.add { type = "dbserver", name = "db-test", criticality = "low" }
    end)
    teardown(H.cleanup)

    it("a high-criticality CI related while the release waits asks the rules again", function()
        H.rules [[
rule "critical" { when = { cis = { criticality = { "high", "critical" } } }, approvers = person "gina" }
]]
        local r = H.in_homologation {}
        assert.are.equal("approved", relm.approval.status(r.id).status) -- nobody to ask yet
        relm.release.relate(r.id, "ci", "db-test")
        assert.are.same({}, approvers(r)) -- a low CI: the same answer, the same round
        relm.release.relate(r.id, "ci", "db-core")
        local round = relm.approval.status(r.id)
        assert.are.equal("open", round.status)
        assert.are.same({ "gina:pending" }, approvers(r))
        H.refused("not_allowed", "waiting for approval by person 'gina'", function()
            relm.release.act(r.id, "resolve")
        end)
        assert.are.equal("approved", H.decide("gina", r, "approve").status)
        -- Taking the CI away again: the rules ask nobody, a fresh round.
        relm.release.unrelate(r.id, "ci", "db-core")
        assert.are.same({}, approvers(r))
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)

    it("rules that now ask someone else stop the approval transition", function()
        H.rules [[
rule "big" { when = { priority = 1 }, approvers = person "gina" }
]]
        local r = H.in_homologation { impact = "low", urgency = "low" }
        assert.are.equal("approved", relm.approval.status(r.id).status)
        H.rules [[
rule "all" { approvers = person "gina" }
]]
        H.refused("not_allowed", "the rules now ask person 'gina' %(rule 'all'%)", function()
            relm.release.act(r.id, "resolve")
        end)
        relm.approval.request(r.id)
        H.decide("gina", r, "approve")
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)
end)
