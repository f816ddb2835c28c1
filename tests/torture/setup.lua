-- setup.lua: the common ground of the torture runs: the fixture workflow,
-- a user allowed to run it, a CI type for counters and imports. Run once
-- per fresh database: relm --db DB run tests/torture/setup.lua
relm.release.workflow("tests/fixtures/workflows/shimflow.lua")
if not relm.user.get("bob") then
    relm.user.add { name = "bob" }
    relm.group.add { name = "ops" }
    relm.group.add { name = "leads" }
    relm.group.add_member("ops", "bob")
    relm.group.add_member("leads", "admin")
    relm.permission.grant { group = "ops", workflow = "shimflow", action = "create" }
    relm.permission.grant { group = "ops", workflow = "shimflow", action = "execute" }
    for _, a in ipairs({ "delegate", "suspend", "reactivate", "reopen", "cancel" }) do
        relm.permission.grant { group = "leads", workflow = "*", action = a }
    end
    relm.justification.add { description = "torture: suspend", suspend = true }
    relm.justification.add { description = "torture: cancel", cancel = true }
    relm.cmdb.define_type { name = "node", attributes = { n = "integer", note = "string" } }
end
