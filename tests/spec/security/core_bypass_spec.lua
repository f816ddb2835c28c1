-- core_bypass_spec.lua: the trust boundary (docs/internals.md). Every
-- function a script reaches under relm.core.release, relm.core.activity and
-- relm.core.approval is classified here (a new one fails the first test
-- until it is); each write is tried with its checks skipped (a forged
-- target state or permission, the wrong state, a closing without closure
-- fields, `by` broken, an approval point left unapproved, a decision by a
-- non-approver, a forged workflow, another user's name) and must be
-- refused with its code, leaving rows and occurrences as they were.
local H = dofile("tests/spec/activity/helper.lua")

local MODULES = {
    ["relm.core.release"] = {
        get = "read", head = "read", workflow = "read", can = "read", justification_ok = "read",
        fields = "read", primitives = "read", now = "read", seconds = "read", actions = "read (dry runs, rolled back)",
        decode = "pure (JSON text to a table; reads nothing)",
        act = "write", update = "write", register = "write",
        set_clock = "admin", install = "admin", reload = "engine re-reads a file of the workflow path",
    },
    ["relm.core.activity"] = {
        get = "read", list = "read", valid_date = "read",
        add = "write", update = "write", depend = "write",
    },
    ["relm.core.approval"] = {
        round = "read", decide = "write", request = "write", configure = "admin", load = "admin",
        reask = "write (the engine asks its own rules again; nothing taken from the caller)",
    },
    ["relm.core.workflow"] = { digest = "read" },
}

-- What only the engine's private state has: they take a decision (target
-- state, permission, approvers) from their caller.
local ENGINE_ONLY = {
    ["relm.core.release"] = { "apply" },
    ["relm.core.approval"] = { "open", "withdraw" },
    ["relm.core.workflow"] = { "define" },
}

local R = require "relm.core.release"
local ACT = require "relm.core.activity"
local AP = require "relm.core.approval"

local function as(user, fn, ...)
    return relm.user.as(user, fn, ...)
end

-- Refused with code (message matching pattern), nothing written: row
-- counts, occurrences, and the release's row itself unchanged.
local function refused(code, pattern, fn, rid)
    local row = rid and relm.sql("SELECT * FROM releases WHERE id = ?", rid)[1]
    local err = H.refused(code, pattern, fn)
    if rid then
        assert.are.same(row, relm.sql("SELECT * FROM releases WHERE id = ?", rid)[1])
    end
    return err
end

local function state(r)
    return relm.release.get(r.id).state
end

describe("the trust boundary", function()
    setup(function()
        H.setup()
        H.rules [[rule "cab" { when = { priority = {1, 2, 3, 4, 5} }, approvers = group "cab" { quorum = 1 } }]]
    end)
    teardown(H.cleanup)

    it("classifies every function a script reaches, and the engine's own are not among them", function()
        for name, classes in pairs(MODULES) do
            local m = require(name)
            for k, v in pairs(m) do
                if type(v) == "function" then
                    assert.is_not_nil(classes[k], name .. "." .. k .. " is not classified by core_bypass_spec")
                end
            end
            for k in pairs(classes) do
                assert.are.equal("function", type(m[k]), name .. "." .. k .. " is classified but missing")
            end
        end
        for name, fns in pairs(ENGINE_ONLY) do
            for _, k in ipairs(fns) do
                assert.is_nil(require(name)[k], name .. "." .. k .. " must exist only in the engine's state")
            end
        end
    end)

    it("act takes an action name: a forged target state, permission or closing is ignored", function()
        local r = as("bob", H.release, nil, "registration")
        local after = as("bob", R.act, r.id, "plan", {
            to_state = "closed", to_phase = "closure", permission = "execute", closes = true,
            from_state = "registration", approval = false,
        })
        assert.is_table(after)
        assert.are.equal("planning", state(r))
        assert.are.equal("open", relm.release.get(r.id).status)
    end)

    it("refuses a transition from the wrong state, a closing without closure fields, an unknown action", function()
        local r = as("bob", H.release)
        refused("not_allowed", "leaves only from", function()
            as("bob", R.act, r.id, "accept", { to_state = "closed", closes = true })
        end, r.id)
        refused("not_allowed", "unknown action", function()
            as("bob", R.act, r.id, "teleport", { to_state = "closed" })
        end, r.id)
        -- to resolved through an approved round
        relm.release.act(r.id, "rush")
        relm.release.act(r.id, "finish")
        H.decide("dave", relm.release.get(r.id), "approve")
        relm.release.act(r.id, "resolve")
        refused("invalid_field", "missing required field", function()
            as("bob", R.act, r.id, "accept", {})
        end, r.id)
        refused("invalid_field", "missing required field", function()
            as("bob", R.act, r.id, "close", { closes = false })
        end, r.id)
    end)

    it("refuses leaving an approval point without approval, whatever the caller says", function()
        local r = H.in_homologation()
        refused("not_allowed", "waiting for approval", function()
            as("bob", R.act, r.id, "resolve", { approval = false, permission = "approve" })
        end, r.id)
        -- a script's copy of the workflow is a view: editing it changes nothing
        local wf = relm.release.workflow(H.WF)
        wf.transitions.resolve.approval = false
        refused("not_allowed", "waiting for approval", function()
            as("bob", relm.release.act, r.id, "resolve")
        end, r.id)
        wf.transitions.resolve.approval = true
        -- opening a round with approvers of one's choosing is not offered
        assert.is_nil(AP.open)
        refused("permission_denied", nil, function() as("carol", AP.request, r.id) end, r.id)
    end)

    it("refuses a decision by someone the round does not ask", function()
        local r = H.in_homologation()
        refused("not_allowed", "not asked to approve", function() as("carol", AP.decide, r.id, "approve") end, r.id)
        refused("not_allowed", "not asked to approve", function() as("gina", AP.decide, r.id, "approve") end, r.id)
        refused("not_allowed", "not asked to approve", function() as("bob", AP.decide, r.id, "approve") end, r.id)
        assert.are.equal("homologation", state(r))
    end)

    it("takes a rejection where the workflow says, even through the core's decide", function()
        local r = H.in_homologation()
        assert.are.equal("rejected", as("dave", AP.decide, r.id, "reject", "rollback plan missing"))
        local after = relm.release.get(r.id)
        assert.are.equal("deployment", after.state)
        local last = relm.release.history(r.id)
        assert.are.equal("not_resolved", last[#last].action)
    end)

    it("refuses `by` broken: the executor's step taken by someone else", function()
        relm.release.workflow("tests/fixtures/workflows/shimflow.lua")
        relm.permission.grant { group = "ops", workflow = "shimflow", action = "execute" }
        local r = as("bob", relm.release.register, { workflow = "shimflow", title = "by", executor_group = "managers" })
        as("bob", relm.release.act, r.id, "authorize")
        refused("permission_denied", "executor group", function()
            as("bob", R.act, r.id, "execute", { fields = { version = "1" }, permission = "execute" })
        end, r.id)
    end)

    it("keeps the engine's compile in C: a script's edit of its own copy moves nothing", function()
        local r = as("bob", H.release, nil, "registration")
        local digest = require("relm.core.workflow").digest(H.WF)
        assert.is_string(digest)
        local wf = relm.release.workflow(H.WF)
        local saved = wf.transitions.plan.to
        wf.transitions.plan.to = "closed"
        as("bob", relm.release.act, r.id, "plan")
        wf.transitions.plan.to = saved
        assert.are.equal("planning", state(r))
        assert.are.equal(digest, require("relm.core.workflow").digest(H.WF))
    end)

    it("grants a workflow's own permission on that workflow only, and its transition needs it", function()
        -- The file is named after its workflow (a model refers to it so).
        local path = H.rule_file(""):gsub("[^/]*$", "superflow.lua")
        local f = assert(io.open(path, "w"))
        f:write([[
workflow "superflow" { initial = "registration" }
state "registration" { phase = "registration" }
state "closed" { phase = "closure", final = true }
transition "sign_off" { from = "registration", to = "closed", permission = "supervise" }
]])
        f:close()
        finally(function() os.remove(path) end)
        relm.release.workflow(path)
        local r = as("bob", relm.release.register, { workflow = "superflow", title = "custom" })
        refused("permission_denied", "supervise", function()
            as("bob", relm.release.act, r.id, "sign_off", { release_date = "2027-01-01",
                solution_category = "done", closure_text = "ok" })
        end, r.id)
        refused("invalid_field", "nor a permission", function()
            relm.permission.grant { group = "ops", workflow = "superflow", action = "supervize" }
        end)
        refused("invalid_field", "nor a permission", function()
            relm.permission.grant { group = "ops", workflow = "*", action = "supervise" }
        end)
        relm.permission.grant { group = "managers", workflow = "superflow", action = "supervise" }
        relm.group.add_member("managers", "bob")
        local after = as("bob", relm.release.act, r.id, "sign_off", { release_date = "2027-01-01",
            solution_category = "done", closure_text = "ok" })
        relm.group.remove_member("managers", "bob")
        assert.are.equal("closed", after.state)
        assert.are.equal("closed", after.status)
    end)

    it("refuses a forged workflow: installing one is for administrators", function()
        local path = H.rule_file([[
workflow "planflow" { initial = "registration" }
state "registration" { phase = "registration" }
state "closed" { phase = "closure", final = true }
transition "plan" { from = "registration", to = "closed" }
]])
        local r = as("bob", H.release, nil, "registration")
        refused("permission_denied", "administrator", function() as("bob", R.install, path) end, r.id)
        refused("permission_denied", "administrator", function() as("bob", relm.release.workflow, path) end, r.id)
        refused("permission_denied", "administrator", function() as("bob", AP.configure, { dir = false }) end)
        refused("permission_denied", "administrator", function() as("bob", AP.load, path) end)
        as("bob", relm.release.act, r.id, "plan")
        assert.are.equal("planning", state(r))
    end)

    it("refuses writes as someone without the permission, whatever user or permission the call names", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "Back up" })
        refused("permission_denied", nil, function()
            as("carol", R.act, r.id, "capture", { user = "bob", permission = "create" })
        end, r.id)
        refused("permission_denied", nil, function()
            as("carol", ACT.add, r.id, { phase = "planning", title = "x" }, "activity.prefill", "create")
        end, r.id)
        refused("permission_denied", nil, function() as("carol", ACT.update, a.id, { title = "y" }) end, r.id)
        refused("permission_denied", nil, function()
            as("carol", ACT.update, a.id, { status = "done" }, "activity.move")
        end, r.id)
        refused("permission_denied", nil, function() as("carol", ACT.depend, a.id, a.id, true) end, r.id)
        refused("permission_denied", nil, function() as("carol", R.update, r.id, { title = "z" }, {}) end, r.id)
        refused("permission_denied", nil, function() as("carol", R.register, H.WF, { title = "z" }) end)
        refused("permission_denied", nil, function() as("bob", R.set_clock, 1) end)
    end)

    it("refuses fields the engine keeps, and priority without impact or urgency", function()
        local r = H.release()
        refused("invalid_field", nil, function() R.update(r.id, { state = "closed" }, {}) end, r.id)
        refused("invalid_field", nil, function() R.update(r.id, { status = "closed" }, {}) end, r.id)
        refused("invalid_field", "priority", function() R.update(r.id, { priority = 1 }, {}) end, r.id)
        refused("invalid_field", "priority", function() R.act(r.id, "rush", { fields = { priority = 1 } }) end, r.id)
        refused("invalid_field", nil, function() R.register(H.WF, { title = "x", state = "closed" }) end)
        refused("invalid_field", "unknown field", function() R.register(H.WF, { title = "x", ["extra.zz"] = 1 }) end)
        refused("invalid_field", "priority", function() R.register(H.WF, { title = "x", priority = 1 }) end)
        refused("invalid_field", nil, function() R.act(r.id, "rush", { fields = { row_version = 1 } }) end, r.id)
    end)

    it("refuses a stale row_version (compare-and-set) with conflict", function()
        local r = H.release()
        local v = relm.release.get(r.id).row_version
        relm.release.update(r.id, { title = "first" }, { version = v })
        refused("conflict", "read it again", function()
            relm.release.update(r.id, { title = "second" }, { version = v })
        end, r.id)
        refused("conflict", nil, function() relm.release.act(r.id, "rush", { version = v }) end, r.id)
        local now = relm.release.get(r.id)
        assert.are.equal("first", now.title)
        assert.are.equal(v + 1, now.row_version)
        assert.are.equal("deployment", relm.release.act(r.id, "rush", { version = now.row_version }).state)
    end)
end)
