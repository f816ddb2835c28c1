-- unruly_workflow_spec.lua: a guard that loops or escapes the sandbox, an
-- entry action that fails or returns fields it may not set: that one
-- action fails with a clear error, nothing is written, the engine goes on.
local H = dofile("tests/fixtures/release_helper.lua")
local sandbox = require "relm.core.sandbox"

describe("a misbehaving workflow", function()
    local saved
    setup(function()
        H.setup()
        relm.release.workflow("tests/fixtures/workflows/unruly.lua")
        saved = sandbox.config()
        sandbox.config { timeout_ms = 50 }
    end)
    teardown(function() sandbox.config { timeout_ms = saved.timeout_ms } end)

    local function fresh()
        return relm.release.register { workflow = "unruly", title = "unruly", executor_group = "ops" }
    end

    it("a guard that loops forever fails the action, and the engine goes on", function()
        local r = fresh()
        local err = H.refused("not_allowed", "time limit", function() relm.release.act(r.id, "spin") end, r.id)
        assert.matches("spin", err.message)
        assert.are.equal("execution", relm.release.act(H.release().id, "authorize").state)
    end)

    it("a guard that reaches outside the sandbox is refused", function()
        local r = fresh()
        H.refused("not_allowed", "'exit'", function() relm.release.act(r.id, "escape") end, r.id)
    end)

    it("an entry action that fails writes nothing", function()
        local r = fresh()
        H.refused("sandbox", "entry action broke", function() relm.release.act(r.id, "work") end, r.id)
    end)

    it("fields an action may not set are refused", function()
        local r = fresh()
        H.refused("invalid_field", "nonsense", function() relm.release.act(r.id, "grab") end, r.id)
        assert.is_true(relm.audit.verify())
    end)

    it("an action that sets priority is refused naming the action's file:line", function()
        local r = fresh()
        local err = H.refused("invalid_field", "priority is computed",
            function() relm.release.act(r.id, "price") end, r.id)
        assert.matches("unruly%.lua:%d+:", err.message)
    end)

    it("a field an action may not know is refused naming the action's file:line", function()
        local r = fresh()
        local err = H.refused("invalid_field", "nonsense", function() relm.release.act(r.id, "grab") end, r.id)
        assert.matches("unruly%.lua:%d+:", err.message)
    end)
end)
