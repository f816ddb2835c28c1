-- act_spec.lua: relm.release.act with workflow transitions, actions(),
-- dry runs, update(), and the refusals that must write nothing.
local H = dofile("tests/fixtures/release_helper.lua")

-- Take a fresh release to the fixture workflow's `test` state.
local function at_test()
    local r = H.release()
    relm.release.act(r.id, "authorize")
    return relm.release.act(r.id, "execute", { fields = { version = "1.0" } })
end

describe("relm.release.act (transitions)", function()
    setup(H.setup)

    it("moves the release along the workflow, with phase and fields", function()
        local r = H.release()
        r = relm.release.act(r.id, "authorize", { note = "go" })
        assert.are.equal("execution", r.state)
        assert.are.equal("deployment", r.phase)
        r = relm.release.act(r.number, "execute", { fields = { version = "1.1" } })
        assert.are.equal("test", r.state)
        assert.are.equal("1.1", r.version)
    end)

    it("refuses an unknown action and writes nothing", function()
        local r = H.release()
        H.refused("not_allowed", "unknown action 'launch'", function() relm.release.act(r.id, "launch") end, r.id)
    end)

    it("refuses a transition from the wrong state and writes nothing", function()
        local r = H.release()
        H.refused("not_allowed", "state 'registration'", function() relm.release.act(r.id, "execute") end, r.id)
    end)

    it("refuses a missing required field and writes nothing", function()
        local r = H.release()
        relm.release.act(r.id, "authorize")
        H.refused("invalid_field", "missing required field%(s%): version",
            function() relm.release.act(r.id, "execute") end, r.id)
    end)

    it("refuses what the workflow's guard refuses and writes nothing", function()
        local r = at_test()
        H.refused("not_allowed", "the test failed",
            function() relm.release.act(r.id, "pass", { fields = { test_result = "fail" } }) end, r.id)
    end)

    it("keeps the workflow's own fields", function()
        local r = at_test()
        r = relm.release.act(r.id, "pass", { fields = { test_result = "ok" } })
        assert.are.equal("resolved", r.state)
        assert.are.equal("ok", r.test_result)
        assert.are.equal("ok", r.extra.test_result)
    end)

    it("closes through the workflow only with the closure fields", function()
        local r = at_test()
        relm.release.act(r.id, "pass", { fields = { test_result = "ok" } })
        H.refused("invalid_field", "release_date", function() relm.release.act(r.id, "accept") end, r.id)
        r = relm.release.act(r.id, "accept", { fields = {
            release_date = "2027-01-12", solution_category = "deployed", closure_text = "in production" } })
        assert.are.equal("closed", r.status)
        assert.are.equal("closed", r.state)
        assert.is_string(r.closed_at)
        H.refused("not_allowed", "closed", function() relm.release.act(r.id, "authorize") end, r.id)
    end)

    it("refuses a transition without its permission and writes nothing", function()
        relm.permission.grant { group = "leads", workflow = H.WF, action = "create" }
        local r = relm.user.as("carol", function()
            local ok = pcall(H.release)
            return ok
        end)
        assert.is_false(r)
        local rel = H.release()
        H.refused("permission_denied", "carol", function()
            relm.user.as("carol", relm.release.act, rel.id, "authorize")
        end, rel.id)
        assert.are.equal("execution", relm.user.as("bob", relm.release.act, rel.id, "authorize").state)
    end)

    it("refuses bad options", function()
        local r = H.release()
        H.refused("invalid_field", "unknown field 'feilds'", function()
            relm.release.act(r.id, "authorize", { feilds = {} })
        end, r.id)
        H.refused("invalid_argument", "given both flat and under fields=", function()
            relm.release.act(r.id, "authorize", { note = "x", version = "2", fields = { version = "3" } })
        end, r.id)
        H.refused("invalid_field", "unknown field 'colour'", function()
            relm.release.act(r.id, "authorize", { fields = { colour = "red" } })
        end, r.id)
        H.refused("not_found", nil, function() relm.release.act(987654, "authorize") end)
    end)

    it("takes fields flat in opts as well as under fields=", function()
        local r = H.release()
        local after = relm.release.act(r.id, "authorize", { version = "2.1", note = "go" })
        assert.are.equal("2.1", after.version)
        assert.are.equal("go", relm.release.history(r.id)[2].note)
    end)
end)

describe("workflow actions and actors", function()
    setup(H.setup)

    it("apply the field changes of exit and entry actions in the same step", function()
        local r = at_test()
        assert.are.equal("ops", r.current_group)
        r = relm.release.act(r.id, "pass", { fields = { test_result = "ok" } })
        assert.are.equal("leads", r.current_group)          -- exit action of test
        assert.are.equal("as planned", r.solution_category) -- entry action of resolved
        local h = relm.release.history(r.id)
        assert.are.equal("ops", h[#h].before.current_group)
        assert.are.equal("leads", h[#h].after.current_group)
    end)

    it("take the note as a required field", function()
        local r = at_test()
        H.refused("invalid_field", "note", function() relm.release.act(r.id, "fail") end, r.id)
        r = relm.release.act(r.id, "fail", { note = "crashes on start" })
        assert.are.equal("execution", r.state)
        r = relm.release.act(r.id, "execute", { fields = { version = "2" } })
        r = relm.release.act(r.id, "fail", { fields = { note = "still crashes" } })
        assert.are.equal("execution", r.state)
        local h = relm.release.history(r.id)
        assert.are.equal("still crashes", h[#h].note)
    end)

    it("let only the executor group execute and only the requester accept", function()
        relm.user.add { name = "ed" }
        relm.group.add { name = "testers" }
        local r = relm.user.as("bob", H.release)
        relm.release.act(r.id, "authorize")
        H.refused("permission_denied", "may not execute", function()
            relm.user.as("ed", function()
                return relm.release.act(r.id, "execute", { fields = { version = "1" } })
            end)
        end, r.id)
        relm.group.add_member("testers", "ed")
        relm.permission.grant { group = "testers", workflow = H.WF, action = "execute" }
        H.refused("permission_denied", "executor group %(ops%)", function()
            relm.user.as("ed", relm.release.act, r.id, "execute", { fields = { version = "1" } })
        end, r.id)
        r = relm.user.as("dave", relm.release.act, r.id, "execute", { fields = { version = "1" } })
        r = relm.release.act(r.id, "pass", { fields = { test_result = "ok" } })
        local fields = { release_date = "2027-01-20", closure_text = "ok" }
        H.refused("permission_denied", "only the requester %(bob%)", function()
            relm.user.as("dave", relm.release.act, r.id, "accept", { fields = fields })
        end, r.id)
        assert.are.equal("closed", relm.user.as("bob", relm.release.act, r.id, "accept", { fields = fields }).status)
    end)
end)

describe("relm.release.act dry_run", function()
    setup(H.setup)

    it("says what would happen and writes nothing", function()
        local r = H.release()
        relm.release.act(r.id, "authorize")
        local before = H.counts()
        local d = relm.release.act(r.id, "execute", { dry_run = true })
        assert.are.same(before, H.counts())
        assert.is_false(d.allowed)
        assert.are.equal("execution", d.from)
        assert.are.equal("test", d.to)
        assert.are.same({ "version" }, d.missing)
        assert.is_true(d.permission.granted)
        assert.matches("version", d.reason)
        d = relm.release.act(r.id, "execute", { dry_run = true, fields = { version = "3" } })
        assert.is_true(d.allowed)
        assert.are.equal("execution", relm.release.get(r.id).state)
    end)

    it("reports guards, permissions, justifications and unknown actions", function()
        local r = at_test()
        local d = relm.release.act(r.id, "pass", { dry_run = true, fields = { test_result = "fail" } })
        assert.is_false(d.allowed)
        assert.is_false(d.guard.ok)
        assert.matches("the test failed", d.reason)
        d = relm.user.as("carol", relm.release.act, r.id, "pass", { dry_run = true, fields = { test_result = "ok" } })
        assert.is_false(d.permission.granted)
        d = relm.release.act(r.id, "cancel", { dry_run = true })
        assert.is_false(d.allowed)
        assert.is_false(d.justification.ok)
        -- the real primitive, rolled back: it reports its first refusal
        d = relm.release.act(r.id, "delegate", { dry_run = true })
        assert.is_false(d.allowed)
        assert.matches("to_group or to_user", d.reason)
        d = relm.release.act(r.id, "delegate", { dry_run = true, to_group = "leads" })
        assert.is_false(d.allowed)
        assert.matches("note", d.reason)
        d = relm.release.act(r.id, "delegate", { dry_run = true, to_group = "leads", note = "x" })
        assert.is_true(d.allowed)
        d = relm.release.act(r.id, "delegate", { dry_run = true, to_user = "carol", note = "x" })
        assert.is_false(d.allowed)
        assert.matches("'carol' may not execute", d.reason)
        assert.is_true(relm.release.act(r.id, "delegate", { dry_run = true, to_user = "bob", note = "x" }).allowed)
        d = relm.release.act(r.id, "launch", { dry_run = true })
        assert.is_false(d.allowed)
        assert.matches("unknown action", d.reason)
    end)

    it("reports every refusal as the real act raises it: its code and its message, word for word", function()
        local r = at_test()
        local cases = {
            { "pass", { fields = { test_result = "fail" } } },                 -- the guard
            { "pass", { fields = { test_result = "ok" } }, as = "carol" },     -- permission
            { "cancel", {} },                                                -- justification
            { "delegate", {} },                                              -- a primitive's own check
            { "delegate", { to_user = "carol", note = "x" } },
            { "launch", {} },                                                -- no such action
            { "authorize", {} },                                             -- not from this state
        }
        local missing = H.release()
        relm.release.act(missing.id, "authorize")
        cases[#cases + 1] = { "execute", {}, id = missing.id }              -- a required field
        local seen = {}
        for _, c in ipairs(cases) do
            local id = c.id or r.id
            local function act(opts)
                if c.as then
                    return relm.user.as(c.as, relm.release.act, id, c[1], opts)
                end
                return relm.release.act(id, c[1], opts)
            end
            local dry = {}
            for k, v in pairs(c[2]) do
                dry[k] = v
            end
            dry.dry_run = true
            local d = act(dry)
            local ok, e = pcall(act, c[2])
            assert.is_false(ok, c[1])
            assert.is_false(d.allowed, c[1])
            assert.are.equal(e.code, d.code, c[1])
            assert.are.equal(e.message, d.reason, c[1])
            seen[d.code] = true
        end
        for _, code in ipairs({ "not_allowed", "permission_denied", "justification_required", "invalid_field" }) do
            assert.is_true(seen[code], code)
        end
    end)
end)

describe("relm.release.act inside relm.tx", function()
    setup(H.setup)

    it("joins the caller's transaction: all steps or none", function()
        local r = H.release()
        local before = H.counts()
        local ok = pcall(relm.tx, function()
            relm.release.act(r.id, "authorize")
            relm.release.act(r.id, "execute", { fields = { version = "9" } })
            error("changed my mind")
        end)
        assert.is_false(ok)
        assert.are.same(before, H.counts())
        assert.are.equal("registration", relm.release.get(r.id).state)
        assert.is_true(relm.audit.verify())
        relm.tx(function()
            relm.release.act(r.id, "authorize")
            relm.release.act(r.id, "execute", { fields = { version = "9" } })
        end)
        assert.are.equal("test", relm.release.get(r.id).state)
        assert.are.equal(3, #relm.release.history(r.id))
        assert.is_true(relm.audit.verify())
    end)
end)

describe("relm.release.actions", function()
    setup(H.setup)

    it("lists the transitions and primitives open to the acting user", function()
        local r = H.release()
        local has = dofile("tests/fixtures/spec_helper.lua").has
        local a = relm.release.actions(r.id)
        assert.is_true(has(a, "authorize"))
        assert.is_true(has(a, "suspend"))
        assert.is_true(has(a, "cancel"))
        assert.is_false(has(a, "execute"))
        assert.is_false(has(a, "reopen"))
        local b = relm.user.as("bob", relm.release.actions, r.id)
        assert.is_true(has(b, "authorize"))
        assert.is_false(has(b, "suspend"))
        assert.is_false(has(b, "cancel"))
        assert.are.same({}, relm.user.as("carol", relm.release.actions, r.id))
    end)
end)

describe("relm.release.update", function()
    setup(H.setup)

    it("changes fields and recomputes priority", function()
        local r = H.release()
        r = relm.release.update(r.id, { title = "Renamed", impact = "high", urgency = "high" })
        assert.are.equal("Renamed", r.title)
        assert.are.equal(1, r.priority)
        local h = relm.release.history(r.id)
        assert.are.equal("update", h[#h].action)
        local before = H.counts()
        assert.are.equal("Renamed", relm.release.update(r.id, {}).title) -- nothing to change, nothing written
        assert.are.same(before, H.counts())
    end)

    it("allows only the state's editable fields when it lists them", function()
        local r = at_test()
        r = relm.release.update(r.id, { description = "more detail", test_result = "pending" })
        assert.are.equal("more detail", r.description)
        assert.are.equal("pending", r.test_result)
        H.refused("invalid_field", "cannot be changed in state 'test' %(editable: description, test_result%)",
            function() relm.release.update(r.id, { title = "new" }) end, r.id)
    end)

    it("refuses fields the state does not allow, engine fields and closed releases", function()
        local r = H.release()
        H.refused("invalid_field", "computed", function() relm.release.update(r.id, { priority = 1 }) end, r.id)
        H.refused("invalid_field", "kept by the engine",
            function() relm.release.update(r.id, { state = "closed" }) end, r.id)
        H.refused("invalid_field", "unknown field", function() relm.release.update(r.id, { nonsense = 1 }) end, r.id)
        H.refused("invalid_field", "urgency", function() relm.release.update(r.id, { urgency = "now" }) end, r.id)
        H.refused("permission_denied", nil,
            function() relm.user.as("carol", relm.release.update, r.id, { title = "x" }) end, r.id)
        local j = H.justifications()
        relm.release.act(r.id, "cancel", { justification = j.cancel })
        H.refused("not_allowed", "cancelled", function() relm.release.update(r.id, { title = "x" }) end, r.id)
    end)
end)
