-- grant_workflow_spec.lua: a grant names a workflow that exists; a typo in
-- its name is refused with a did-you-mean instead of granting nothing.
describe("relm.permission.grant on a workflow", function()
    setup(function()
        relm.group.add { name = "ops_g" }
    end)

    it("refuses a workflow nobody can load, and writes nothing", function()
        local before = #relm.permission.list("ops_g")
        local ok, err = pcall(relm.permission.grant, { group = "ops_g", workflow = "standrd", action = "execute" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"), tostring(err))
        assert.matches("no workflow 'standrd' %(did you mean 'standard'%?%)", err.message)
        assert.are.equal(before, #relm.permission.list("ops_g"))
    end)

    it("still grants on a shipped workflow and on \"*\", and revokes on any name", function()
        relm.permission.grant { group = "ops_g", workflow = "standard", action = "execute" }
        relm.permission.grant { group = "ops_g", action = "cancel" }
        relm.permission.revoke { group = "ops_g", workflow = "gone_flow", action = "execute" }
        assert.are.equal(2, #relm.permission.list("ops_g"))
    end)
end)
