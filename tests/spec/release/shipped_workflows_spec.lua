-- shipped_workflows_spec.lua: every shipped workflow can take a release
-- from registration to closure through relm.release.act, and back with
-- reopen; its primitives work where its states allow them.
local H = dofile("tests/fixtures/release_helper.lua")

local CLOSURE = { release_date = "2027-01-20", solution_category = "deployed", closure_text = "done" }
local VALUES = { planned_start = "2027-01-10", planned_end = "2027-01-12", impact = "low", urgency = "low",
    risk = "low", executor_group = "ops" }

local path = dofile("tests/fixtures/workflow_path.lua")

describe("the shipped workflows", function()
    local j
    setup(function()
        j = H.setup()
        -- The shipped CAB rules (workflows/rules/cab.lua) ask group cab in
        -- major's CAB review: dave is the whole board here.
        relm.group.add_member("cab", "dave")
    end)

    for _, name in ipairs({ "standard", "minor", "major", "emergency" }) do
        it(name .. " goes from registration to closure and can be reopened", function()
            local wf = relm.release.workflow(name)
            local r = relm.release.register { workflow = name, title = "walk " .. name, executor_group = "ops" }
            assert.are.equal(wf.initial, r.state)
            local steps = path(wf)
            assert.is_true(#steps >= 2)
            for i, t in ipairs(steps) do
                local fields = {}
                for _, f in ipairs(wf:required(t, r.state)) do
                    fields[f] = CLOSURE[f] or VALUES[f] or "x"
                end
                if i == #steps then
                    for k, v in pairs(CLOSURE) do
                        fields[k] = v
                    end
                end
                fields.note = nil
                local round = relm.approval.status(r.id)
                if round and round.status == "open" then
                    relm.user.as("dave", relm.approval.decide, r.id, { decision = "approve" })
                end
                r = relm.release.act(r.id, t, { fields = fields, note = "step " .. i })
                assert.are.equal(wf.transitions[t].to, r.state)
            end
            assert.are.equal("closed", r.status)
            assert.are.equal(wf.close_state, r.state)
            r = relm.release.act(r.id, "reopen", { justification = j.reopen })
            assert.are.equal(wf.reopen_to, r.state)
            assert.are.equal(1, r.reopen_count)
            local actions = 0 -- approval.* occurrences come on top
            for _, o in ipairs(relm.release.history(r.id)) do
                actions = actions + (o.action:find("^approval%.") and 0 or 1)
            end
            assert.are.equal(#steps + 2, actions)
            assert.is_true(relm.audit.verify())
        end)

        it(name .. " can be suspended, reactivated and cancelled from its initial state", function()
            local wf = relm.release.workflow(name)
            local r = relm.release.register { workflow = name, title = "stop " .. name, executor_group = "ops" }
            if wf.states[wf.initial].suspend then
                r = relm.release.act(r.id, "suspend", { justification = j.suspend })
                assert.are.equal("suspended", r.status)
                r = relm.release.act(r.id, "reactivate")
                assert.are.equal("open", r.status)
            end
            if wf.states[wf.initial].cancel then
                r = relm.release.act(r.id, "cancel", { justification = j.cancel })
                assert.are.equal("cancelled", r.status)
                assert.are.equal(wf.cancel_state, r.state)
            end
        end)
    end
end)
