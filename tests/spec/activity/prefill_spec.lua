-- prefill_spec.lua: a portfolio model's planning and deployment activities
-- are copied onto a release registered from it, in the same transaction.
local H = dofile("tests/spec/activity/helper.lua")

describe("relm.activity pre-fill from a portfolio model", function()
    local path
    setup(function()
        H.setup()
        path = H.rule_file("") -- a scratch file name; the template goes there
        local f = assert(io.open(path, "w"))
        f:write([[
portfolio "fixture" { description = "models for the activity specs" }
model "db-upgrade" {
    workflow = "planflow",
    executor_group = "ops",
    planning = {
        { title = "Capacity study", group = "ops", estimate_hours = 1.5 },
        { title = "Order hardware", group = "procurement" },
        "Plan the rollback",
    },
    deployment = {
        { title = "Upgrade", assignee = "bob", estimate_hours = 2 },
    },
}
]])
        f:close()
        relm.portfolio.load(path)
    end)
    teardown(H.cleanup)

    it("copies the model's activities onto the new release", function()
        local r = relm.user.as("bob", relm.release.register, { portfolio = "fixture", model = "db-upgrade",
            title = "Upgrade PostgreSQL" })
        local acts = relm.activity.list(r.id)
        assert.are.equal(4, #acts)
        assert.are.same({ "Capacity study", "Order hardware", "Plan the rollback", "Upgrade" },
            { acts[1].title, acts[2].title, acts[3].title, acts[4].title })
        assert.are.same({ "planning", "planning", "planning", "deployment" },
            { acts[1].phase, acts[2].phase, acts[3].phase, acts[4].phase })
        assert.are.equal(90, acts[1].estimated_minutes)
        assert.are.equal("ops", acts[1].group)
        assert.is_nil(acts[2].group)
        assert.matches("group 'procurement', which does not exist", acts[2].notes, 1, true)
        assert.are.equal("bob", acts[4].owner)
        assert.are.equal(120, acts[4].estimated_minutes)
        local h = relm.release.history(r.id)
        assert.are.equal("register", h[1].action)
        assert.are.equal("activity.prefill", h[2].action)
        assert.are.equal(5, #h)
    end)

    it("writes neither the release nor its activities when registration fails", function()
        local before = H.counts()
        local ok, err = pcall(relm.user.as, "carol", relm.release.register,
            { portfolio = "fixture", model = "db-upgrade", title = "No permission" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        assert.are.same(before, H.counts())
    end)
end)
