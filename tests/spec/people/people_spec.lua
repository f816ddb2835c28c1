-- people_spec.lua: users, groups, memberships, permissions and the
-- justification catalogue; administrators only; --user from a process.
local H = dofile("tests/fixtures/release_helper.lua")

local function count(t)
    return relm.sql("SELECT count(*) AS n FROM " .. t)[1].n
end

describe("relm.user and relm.group", function()
    it("add users and groups, and list them with memberships", function()
        relm.user.add { name = "erin", full_name = "Erin E", email = "erin@example.org", unit = "Finance" }
        relm.group.add { name = "finance", description = "Money people" }
        relm.group.add_member("finance", "erin")
        relm.group.add_member("finance", "erin") -- idempotent
        local erin = relm.user.get("erin")
        assert.are.equal("Erin E", erin.full_name)
        assert.are.same({ "finance" }, erin.groups)
        assert.is_true(erin.active)
        local g
        for _, x in ipairs(relm.group.list()) do
            if x.name == "finance" then
                g = x
            end
        end
        assert.are.same({ "erin" }, g.members)
        relm.group.remove_member("finance", "erin")
        assert.are.same({}, relm.user.get("erin").groups)
    end)

    it("refuses duplicates and bad names, writing nothing", function()
        relm.user.add { name = "frank" }
        local n, o = count("users"), count("occurrences")
        local ok, err = pcall(relm.user.add, { name = "frank" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "duplicate"))
        ok, err = pcall(relm.user.add, { name = "two words" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"))
        ok, err = pcall(relm.user.add, { name = "gina", colour = "red" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"))
        ok, err = pcall(relm.group.add_member, "nogroup", "frank")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        assert.are.equal(n, count("users"))
        assert.are.equal(o, count("occurrences"))
    end)

    it("are written by administrators only", function()
        H.workflows() -- a grant names a workflow relm can load
        H.people()
        local function people()
            return count("users") + count("groups") + count("memberships") + count("permissions")
        end
        local n, o = people(), count("occurrences")
        for _, fn in ipairs({
            function() relm.user.add { name = "mallory" } end,
            function() relm.group.add { name = "cabal" } end,
            function() relm.group.add_member("administrators", "bob") end,
            function() relm.permission.grant { group = "ops", workflow = "*", action = "admin" } end,
            function() relm.permission.revoke { group = "ops", workflow = H.WF, action = "create" } end,
            function() relm.justification.add { description = "because", cancel = true } end,
            function() relm.user.set_active("carol", false) end,
        }) do
            local ok, err = pcall(relm.user.as, "bob", fn)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        end
        assert.are.equal(n, people())
        assert.are.equal(o, count("occurrences"))
        assert.are.equal("admin", relm.whoami())
    end)

    it("as() restores the acting user even when the function raises", function()
        H.people()
        local ok = pcall(relm.user.as, "bob", function() error("boom") end)
        assert.is_false(ok)
        assert.are.equal("admin", relm.whoami())
        assert.are.equal("bob", relm.user.as("bob", relm.whoami))
        local ok2, err = pcall(relm.user.as, "nobody", relm.whoami)
        assert.is_false(ok2)
        assert.is_true(relm.is_error(err, "unknown_user"))
        local ok3, err3 = pcall(relm.user.as, "bob", relm.user.as, "carol", relm.whoami)
        assert.is_false(ok3)
        assert.is_true(relm.is_error(err3, "permission_denied"))
    end)

    it("deactivated users can no longer act", function()
        relm.user.add { name = "leaver" }
        relm.user.set_active("leaver", false)
        local ok, err = pcall(relm.user.as, "leaver", relm.whoami)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "unknown_user"))
    end)

    it("never deactivates the last active administrator", function()
        local o = count("occurrences")
        local ok, err = pcall(relm.user.set_active, "admin", false)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_allowed"), tostring(err))
        assert.matches("last active administrator", err.message)
        assert.is_true(relm.user.get("admin").active)
        assert.are.equal(o, count("occurrences"))
        -- with a second one, either may go (and come back)
        relm.user.add { name = "root2", admin = true }
        relm.user.as("root2", function()
            relm.user.set_active("admin", false)
            assert.is_false(relm.user.get("admin").active)
            local ok2, err2 = pcall(relm.user.set_active, "root2", false)
            assert.is_false(ok2)
            assert.is_true(relm.is_error(err2, "not_allowed"), tostring(err2))
            relm.user.set_active("admin", true)
        end)
        assert.is_true(relm.user.get("admin").active)
    end)
end)

describe("relm.permission", function()
    setup(H.setup)

    it("grants and revokes group x workflow x action", function()
        relm.group.add { name = "testers" }
        relm.permission.grant { group = "testers", workflow = "standard", action = "approve" }
        relm.permission.grant { group = "testers", action = "execute" } -- every workflow
        assert.are.same({
            { group = "testers", workflow = "*", action = "execute" },
            { group = "testers", workflow = "standard", action = "approve" },
        }, (function()
            local out = {}
            for i, p in ipairs(relm.permission.list("testers")) do
                out[i] = { group = p.group, workflow = p.workflow, action = p.action }
            end
            return out
        end)())
        relm.permission.revoke { group = "testers", workflow = "standard", action = "approve" }
        assert.are.equal(1, #relm.permission.list("testers"))
    end)

    it("refuses unknown actions and groups", function()
        local n = count("permissions")
        local ok, err = pcall(relm.permission.grant, { group = "ops", workflow = "standard", action = "fly" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"))
        ok, err = pcall(relm.permission.grant, { group = "nobody", workflow = "standard", action = "execute" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        assert.are.equal(n, count("permissions"))
        -- Listing a misspelt group says so, rather than "no permissions".
        ok, err = pcall(relm.permission.list, "testerz")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"), tostring(err))
        assert.matches("no group named 'testerz'", err.message, 1, true)
    end)

    it("decides what a user may do on a workflow", function()
        assert.is_true(relm.user.as("bob", relm.permission.can, H.WF, "execute"))
        assert.is_false(relm.user.as("bob", relm.permission.can, H.WF, "cancel"))
        assert.is_false(relm.user.as("bob", relm.permission.can, "other", "execute"))
        assert.is_true(relm.user.as("dave", relm.permission.can, "other", "cancel"))
        assert.is_false(relm.user.as("carol", relm.permission.can, H.WF, "create"))
        assert.is_true(relm.permission.can("anything", "admin"))
    end)
end)

describe("relm.justification", function()
    it("adds, lists and updates the catalogue", function()
        local id = relm.justification.add { description = "Change freeze", suspend = true }
        local j = relm.justification.get(id)
        assert.are.same({ id = id, description = "Change freeze", suspend = true, cancel = false,
            reopen = false, active = true }, j)
        relm.justification.update(id, { active = false, cancel = true })
        j = relm.justification.get(id)
        assert.is_false(j.active)
        assert.is_true(j.cancel)
        -- the occurrence keeps the catalogue entry before and after
        local o = relm.sql([[SELECT json_extract(before, '$.active') AS was, json_extract(after, '$.active') AS now
            FROM occurrences WHERE subject = 'justification' AND subject_id = ? AND action = 'update']], id)
        assert.are.same({ { was = 1, now = 0 } }, o)
        local usable = relm.justification.list { use = "suspend" }
        for _, x in ipairs(usable) do
            assert.is_not.equal(id, x.id)
        end
    end)

    it("refuses bad input and writes nothing", function()
        local n, o = count("justifications"), count("occurrences")
        for _, spec in ipairs({ {}, { description = "" }, { description = "x" },
            { description = "x", suspend = "yes" }, { description = "x", cancel = true, why = 1 } }) do
            local ok, err = pcall(relm.justification.add, spec)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        end
        local ok, err = pcall(relm.justification.update, 99999, { active = false })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        assert.are.equal(n, count("justifications"))
        assert.are.equal(o, count("occurrences"))
        -- an update may not leave it usable for nothing
        local id = relm.justification.add { description = "Only suspend", suspend = true }
        o = count("occurrences")
        for _, fields in ipairs({ { suspend = false }, { description = "", suspend = true },
            { description = 5 }, { colour = "red" } }) do
            ok, err = pcall(relm.justification.update, id, fields)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        end
        assert.matches("usable for none", select(2, pcall(relm.justification.update, id, { suspend = false })).message)
        assert.are.same({ id = id, description = "Only suspend", suspend = true, cancel = false, reopen = false,
            active = true }, relm.justification.get(id))
        assert.are.equal(o, count("occurrences"))
        local _, e1 = pcall(relm.user.as, "bob", relm.justification.update, id, { active = false })
        assert.is_true(relm.is_error(e1, "permission_denied"), tostring(e1))
        local _, e2 = pcall(relm.user.as, "bob", relm.justification.add, { description = "x", suspend = true })
        assert.is_true(relm.is_error(e2, "permission_denied"), tostring(e2))
        assert.is_true(relm.justification.get(id).active)
        assert.are.equal(o, count("occurrences"))
    end)
end)

describe("--user", function()
    setup(H.setup)

    local function run(user, code)
        return H.run(nil, user, code)
    end

    it("acts as the named user in a separate process", function()
        local rc, out = run("bob", "print(relm.whoami())")
        assert.are.equal(0, rc)
        assert.matches("^bob", out)
        local r = H.release()
        local before = H.counts()
        -- the core primitive itself, so that no workflow is needed here
        rc, out = run("carol", ("require('relm.core.release').act(%d, 'capture', {})"):format(r.id))
        assert.are.equal(1, rc)
        assert.matches("permission_denied", out)
        assert.are.same(before, H.counts())
        assert.is_nil(relm.release.get(r.id).responsible)
        rc = run("bob", ("require('relm.core.release').act(%d, 'capture', {})"):format(r.id))
        assert.are.equal(0, rc)
        assert.are.equal("bob", relm.release.get(r.id).responsible)
        rc, out = run("bob", "relm.user.add{name='zed'}")
        assert.are.equal(1, rc)
        assert.matches("permission_denied", out)
        assert.is_nil(relm.user.get("zed"))
    end)
end)
