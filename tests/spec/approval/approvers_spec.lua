-- approvers_spec.lua: approvers that depend on the release: a function of
-- the release, and group roles (the technical lead of the executor group,
-- relm.group.add_member(group, user, {role = "lead"})).
local H = dofile("tests/spec/activity/helper.lua")

describe("approvers that depend on the release", function()
    setup(function()
        H.setup()
        relm.group.add { name = "dbteam" }
        relm.group.add_member("dbteam", "erin", { role = "lead" })
        relm.group.add_member("dbteam", "frank")
        relm.permission.grant { group = "dbteam", workflow = "*", action = "approve" }
        relm.permission.grant { group = "ops", workflow = "*", action = "approve" }
    end)
    teardown(H.cleanup)

    it("records a member's role and changes it", function()
        local roles = {}
        for _, m in ipairs(relm.group.members("dbteam")) do
            roles[m.user] = m.role
        end
        assert.are.same({ erin = "lead", frank = "member" }, roles)
        relm.group.add_member("dbteam", "erin") -- no role given: keeps hers
        assert.are.equal("lead", relm.group.members("dbteam")[1].role)
        relm.group.add_member("ops", "bob", { role = "lead" })
        assert.are.equal("lead", relm.group.members("ops")[1].role)
        local ok, err = pcall(relm.group.add_member, "ops", "bob", { role = "two words" })
        assert.is_false(ok)
        assert.matches("role must be one word", tostring(err))
    end)

    it("asks the lead of the release's executor group", function()
        H.rules [[
rule "tech-lead" {
    approvers = function(r) return role("lead", r.executor_group) end,
}
]]
        local r = H.in_homologation { executor_group = "dbteam" }
        local q = relm.approval.status(r.id).requests
        assert.are.same({ "erin" }, { q[1].person })
        assert.are.same({ 1 }, { #q })
        H.refused("not_allowed", "waiting for approval by person 'erin'", function()
            relm.release.act(r.id, "resolve")
        end)
        assert.are.equal("approved", H.decide("erin", r, "approve").status)
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)

    it("a function may choose between groups, people and levels", function()
        H.rules [[
rule "by-risk" {
    approvers = function(r)
        if r.risk == "high" then return levels { role("lead", r.executor_group), person "gina" } end
        return group(r.executor_group)
    end,
}
]]
        local high = H.in_homologation { executor_group = "dbteam", risk = "high" }
        local q = relm.approval.status(high.id).requests
        assert.are.same({ "erin", "gina" }, { q[1].person, q[2].person })
        assert.are.same({ 1, 2 }, { q[1].level, q[2].level })
        local low = H.in_homologation { executor_group = "dbteam", risk = "low" }
        assert.are.equal("dbteam", relm.approval.status(low.id).requests[1].group)
    end)

    it("a group without the role refuses the move, naming the rule", function()
        H.rules [[
rule "tech-lead" { approvers = function(r) return role("lead", "managers") end }
]]
        local r = H.release {}
        relm.release.act(r.id, "rush")
        H.refused("not_allowed", "asks the lead of group 'managers', and nobody active holds that role", function()
            relm.release.act(r.id, "finish")
        end)
    end)
end)
