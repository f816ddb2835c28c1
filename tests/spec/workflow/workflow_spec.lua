-- workflow_spec.lua: the shipped workflows and the compiled-workflow
-- contract the release engine consumes (load, available, guard, enter,
-- exit, explain, dot, list).
local W = relm.workflow

local function fixture(name)
    return "tests/fixtures/workflows/" .. name .. ".lua"
end

describe("shipped workflows", function()
    it("are listed by name", function()
        local names = W.list()
        for _, n in ipairs({ "emergency", "major", "minor", "standard" }) do
            local all = " " .. table.concat(names, " ") .. " "
            assert.is_truthy(all:find(" " .. n .. " ", 1, true), n .. " missing from" .. all)
        end
    end)

    for _, name in ipairs({ "standard", "minor", "major", "emergency" }) do
        it(name .. " passes check()", function()
            local ok, problems = W.check(name)
            assert.is_true(ok, table.concat(problems or {}, "\n"))
        end)
    end

    it("major has planning and deployment phases", function()
        local wf = W.load("major")
        local phases = {}
        for _, s in pairs(wf.states) do
            phases[s.phase] = true
        end
        assert.is_true(phases.planning and phases.deployment)
    end)
end)

describe("the standard workflow", function()
    local wf = W.load("standard")

    it("has the shape of the contract", function()
        assert.are.equal("standard", wf.name)
        assert.are.equal("registered", wf.initial)
        assert.are.equal("in_execution", wf.reopen_to)
        assert.are.equal("closed", wf.close_state)
        assert.are.equal("cancelled", wf.cancel_state)
        local s = wf.states.registered
        assert.are.same({ "registered", "registration", true, true, false },
            { s.name, s.phase, s.suspend, s.cancel, s.final })
        assert.is_true(wf.states.closed.final)
        local t = wf.transitions.not_resolved
        assert.are.same({ homologation = true }, t.from)
        assert.are.equal("in_execution", t.to)
        assert.are.same({ "note" }, t.requires)
        assert.are.equal("approve", t.permission)
        assert.are.equal("Not resolved", t.label)
        assert.is_function(wf.transitions.resolve.guard)
        assert.is_nil(wf.transitions.authorize.guard)
        assert.are.equal("execute", wf.transitions.authorize.permission)
        assert.are.equal("requester", wf.transitions.authorize.by)
    end)

    it("follows the reference flow", function()
        local path, state = {}, wf.initial
        for _, tname in ipairs({ "authorize", "execute", "pass", "resolve", "accept" }) do
            assert.is_truthy(wf.transitions[tname].from[state], tname .. " from " .. state)
            state = wf.transitions[tname].to
            path[#path + 1] = state
        end
        assert.are.same({ "in_execution", "in_test", "homologation", "resolved", "closed" }, path)
        assert.are.equal("in_execution", wf.transitions.not_resolved.to)
    end)

    it("lists the transitions leaving a state in file order", function()
        assert.are.same({ "pass", "fail" }, wf:available("in_test"))
        assert.are.same({ "resolve", "not_resolved" }, wf:available("homologation"))
        assert.are.same({}, wf:available("closed"))
        assert.are.same({}, wf:available("no_such_state"))
    end)

    it("runs guards in the sandbox and explains a refusal", function()
        assert.are.same({ true }, { wf:guard("resolve", { risk = "low" }) })
        assert.are.same({ false, "a high-risk release needs a test result before it is approved" },
            { wf:guard("resolve", { risk = "high" }) })
        assert.are.same({ true }, { wf:guard("resolve", { risk = "high", test_result = "ok" }) })
        assert.are.same({ true }, { wf:guard("authorize", {}) })
        local ok, err = pcall(wf.guard, wf, "fly", {})
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
    end)

    it("t.guard goes through the sandbox too", function()
        assert.are.same({ false, "a high-risk release needs a test result before it is approved" },
            { wf.transitions.resolve.guard({ risk = "high" }) })
    end)

    it("gives a guard a copy of the release, never the caller's table", function()
        local sneaky = W.load(fixture("mutating_guard"))
        local r = { title = "keep me", nested = { x = 1 } }
        assert.is_true((sneaky:guard("go", r)))
        assert.are.equal("keep me", r.title)
        assert.are.equal(1, r.nested.x)
    end)
end)

describe("entry and exit actions", function()
    local wf = W.load("major")

    it("return the field changes they ask for", function()
        local changes = wf:enter("review", { state = "deployment" }, { action = "deployed" })
        assert.matches("^%d%d%d%d%-%d%d%-%d%d$", changes.deployed_on)
        assert.are.same({ cab_decision = "approved" }, wf:exit("cab_review", {}, { action = "approve" }))
        assert.are.same({ cab_decision = "rejected" }, wf:exit("cab_review", {}, { action = "reject" }))
    end)

    it("return nil for a state without actions", function()
        assert.is_nil(wf:enter("build", {}, {}))
    end)

    it("raise a sandbox error naming the state when an action fails", function()
        relm.sandbox.config({ timeout_ms = 40 })
        local lw = W.load(fixture("loop_guard"))
        local ok, err = pcall(lw.enter, lw, "closed", {}, {})
        relm.sandbox.config({ timeout_ms = 200 })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "sandbox"))
        assert.matches("entry action of state 'closed' failed: time limit of 40 ms exceeded %(at " ..
            "tests/fixtures/workflows/loop_guard%.lua:21%)", err.message)
    end)
end)

describe("explain (dry run)", function()
    local wf = W.load("standard")

    it("says what a transition would do", function()
        local e = wf:explain("authorize", { state = "registered" }, { user = "admin" })
        assert.is_true(e.allowed)
        assert.are.same({ "registered", "in_execution", "execute", "requester" }, { e.from, e.to, e.permission, e.by })
        assert.are.same({}, e.missing)
        assert.is_true(e.guard.ok)
    end)

    it("lists missing fields; a note in the context counts", function()
        local e = wf:explain("not_resolved", { state = "homologation" }, {})
        assert.is_false(e.allowed)
        assert.are.same({ "note" }, e.missing)
        assert.matches("missing note", e.reason)
        e = wf:explain("not_resolved", { state = "homologation" }, { note = "fails on Tuesdays" })
        assert.is_true(e.allowed)
        e = wf:explain("accept", { state = "resolved", closure_text = "done" },
            { fields = { release_date = "2027-01-05" } })
        assert.are.same({ "solution_category" }, e.missing)
    end)

    it("reports the guard's reason", function()
        local e = wf:explain("resolve", { state = "homologation", risk = "high" }, {})
        assert.is_false(e.allowed)
        assert.are.same({ ok = false, reason = "a high-risk release needs a test result before it is approved" },
            e.guard)
    end)

    it("refuses a transition from the wrong state", function()
        local e = wf:explain("accept", { state = "registered", release_date = "x", solution_category = "y",
            closure_text = "z" }, {})
        assert.is_false(e.allowed)
        assert.matches("'accept' leaves only from resolved, not from 'registered'", e.reason)
    end)

    it("answers for an unknown transition without raising", function()
        local e = wf:explain("fly", { state = "registered" }, {})
        assert.is_false(e.allowed)
        assert.matches("no transition 'fly'", e.reason)
    end)
end)

describe("load", function()
    it("caches the compiled workflow and reload reads the file again", function()
        local a = W.load("standard")
        assert.are.equal(a, W.load("standard"))
        local b = W.reload("standard")
        assert.are_not.equal(a, b)
        assert.are.equal(b, W.load("standard"))
    end)

    it("raises not_found for a missing workflow", function()
        local ok, err = pcall(W.load, "no_such_flow")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        assert.matches("no workflow 'no_such_flow'", err.message)
        -- a name says where it looked, what exists and how to add a directory
        assert.matches("no no_such_flow%.lua in workflows %(known: [^)]*standard", err.message)
        assert.matches("RELM_WORKFLOW_PATH", err.message)
        ok, err = pcall(W.load, "standrd")
        assert.is_false(ok)
        assert.matches("no workflow 'standrd' %(did you mean 'standard'%?%)", err.message)
    end)

    it("raises invalid_workflow listing the problems", function()
        local ok, err = pcall(W.load, fixture("unreachable"))
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_workflow"))
        assert.matches("unreachable%.lua:5: state 'limbo' is unreachable", err.message)
    end)

    it("names the argument it refuses", function()
        local ok, err = pcall(W.load, 42)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
        assert.matches("argument #1", err.message)
        ok, err = pcall(W.check, nil)
        assert.is_false(ok)
        assert.matches("argument #1", err.message)
    end)
end)

describe("dot", function()
    it("draws states grouped by phase and labelled transitions", function()
        local dot = W.dot("standard")
        assert.matches('^digraph "standard" {', dot)
        assert.matches('subgraph "cluster_registration"', dot, 1, true)
        assert.matches('subgraph "cluster_deployment"', dot, 1, true)
        assert.matches('"homologation" %-> "in_execution" %[label="Not resolved\\n%(on rejection%)"%]', dot)
        assert.matches('"homologation" %-> "resolved" %[label="Approve\\n%(after approval%)", color=', dot)
        assert.matches('"closed" %-> "in_execution" %[label="reopen", style=dashed%]', dot)
        assert.matches('"closed" %[label="Closed", fillcolor="#d7cdea", peripheries=2%]', dot)
        assert.matches('__start %-> "registered"', dot)
        assert.matches("}\n$", dot)
    end)

    it("renders with Graphviz, when installed", function()
        if not os.execute("command -v dot >/dev/null 2>&1") then
            return
        end
        local path = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/wf.dot"
        for _, name in ipairs(W.list()) do
            local f = assert(io.open(path, "w"))
            f:write(W.dot(name))
            f:close()
            assert.is_true(os.execute("dot -Tsvg '" .. path .. "' -o '" .. path .. ".svg'") == true, name)
        end
        os.remove(path)
        os.remove(path .. ".svg")
    end)

    it("accepts a compiled workflow", function()
        assert.matches('"planning" %-> "cab_review"', W.dot(W.load("major")))
    end)
end)

describe("the workflow path", function()
    it("searches $RELM_WORKFLOW_PATH before the shipped workflows", function()
        local CLI = dofile("tests/fixtures/cli_helper.lua")
        local dir = CLI.fresh_dir("wfpath")
        for _, name in ipairs({ "standard", "local_only" }) do
            CLI.write(dir .. "/" .. name .. ".lua", ('workflow "%s" { initial = "a" }\n'):format(name)
                .. 'state "a" { phase = "registration" }\n'
                .. 'state "closed" { phase = "closure", final = true }\n'
                .. 'transition "go" { from = "a", to = "closed" }\n')
        end
        local script = ([[
            local W = relm.workflow
            assert(W.path()[1] == %q, W.path()[1])
            assert(W.load("standard").initial == "a")
            assert(W.load("local_only").name == "local_only")
            local names = table.concat(W.list(), " ")
            assert(names:find("local_only", 1, true) and names:find("major", 1, true), names)
            print("ok")
        ]]):format(dir)
        local out, err = CLI.output(dir, "--db wfpath.db -e " .. CLI.q(script),
            { env = "RELM_WORKFLOW_PATH=" .. CLI.q(dir) })
        assert.are.same({ "ok\n", "" }, { out, err })
    end)
end)

describe("guard limits", function()
    it("apply per call, and bad limits raise instead of refusing", function()
        local wf = W.load(fixture("loop_guard"))
        local ok, reason = wf:guard("spin", {}, { limits = { timeout_ms = 25 } })
        assert.is_false(ok)
        assert.matches("time limit of 25 ms exceeded", reason)
        local raised, err = pcall(wf.guard, wf, "spin", {}, { limits = { timeout_ms = -1 } })
        assert.is_false(raised)
        assert.is_true(relm.is_error(err, "invalid_argument"))
    end)
end)
