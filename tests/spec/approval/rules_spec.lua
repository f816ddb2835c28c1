-- rules_spec.lua: the rule language and rule files that fail: syntax
-- errors, run-time errors and time-outs while loading or matching, and
-- misuse of the words. Each is a clear error naming file:line, and a
-- transition that runs a failing rule writes nothing.
local H = dofile("tests/spec/activity/helper.lua")

local function esc(s)
    return (s:gsub("%p", "%%%0"))
end

-- Assert loading text as a rule file raises invalid_rule whose message
-- starts with the file and line.
local function load_fails(text, line, pattern)
    relm.approval.configure { dir = false }
    local path = H.rule_file(text)
    local ok, err = pcall(relm.approval.load, path)
    assert.is_false(ok, "expected the rule file to fail")
    assert.is_true(relm.is_error(err, "invalid_rule"), tostring(err))
    assert.matches("^" .. esc(path) .. ":" .. line .. ": ", err.message)
    if pattern then
        assert.matches(pattern, err.message)
    end
    assert.are.same({}, relm.approval.rules())
    local cok, problem = relm.approval.check(path)
    assert.is_false(cok)
    assert.are.equal(err.message, problem)
    return err
end

describe("approval rule files", function()
    setup(H.setup)
    teardown(H.cleanup)

    it("loads the three-line CAB rule and lists it", function()
        local path = H.rules [[
rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "50%" } }
]]
        local rules = relm.approval.rules()
        assert.are.equal(1, #rules)
        assert.are.equal("cab", rules[1].name)
        assert.are.equal(path .. ":1", rules[1].source)
        assert.is_true((relm.approval.check(path)))
    end)

    it("ships rule files that load", function()
        relm.approval.configure {}
        local names = {}
        for _, r in ipairs(relm.approval.rules()) do
            names[#names + 1] = r.name
        end
        assert.are.same({ "cab", "critical-cis", "normal-change-cab" }, names)
        assert.matches("^workflows/rules/cab%.lua:%d+$", relm.approval.rules()[1].source)
    end)

    it("reports a syntax error with file:line", function()
        load_fails('rule "cab" {\n  when = { priority = 1 },\n  approvers = group "cab" (\n}\n', 4)
    end)

    it("reports a run-time error while loading with file:line", function()
        load_fails('local x = nil\nrule "cab" { when = {}, approvers = group(x.name) }\n', 2, "attempt to index")
    end)

    it("stops a rule file that loops forever while loading", function()
        load_fails('rule "a" { approvers = person "gina" }\nwhile true do end\n', 2, "time limit")
    end)

    it("refuses the sandbox's forbidden globals", function()
        load_fails('local f = io.open("/etc/passwd")\n', 1, "unknown global 'io'")
    end)

    it("reports misuse of the words at the rule's line", function()
        load_fails('\nrule "x" { when = { colour = "red" }, approvers = person "gina" }\n', 2,
            "when cannot match 'colour'")
        load_fails('rule "x" { approvers = group "cab" { quorum = "half" } }\n', 1, "quorum must be")
        load_fails('rule "x" { when = {} }\n', 1, "needs approvers")
        load_fails('rule "x" { approvers = person "a", after = 3 }\n', 1, "unknown field 'after'")
        load_fails('rule "x" { approvers = person "a" }\nrule "x" { approvers = person "b" }\n', 2, "declared twice")
        load_fails('rule "x" { when = { cis = { colour = 1 } }, approvers = person "a" }\n', 1,
            "cis cannot match 'colour'")
    end)

    it("refuses a rule name another file already uses", function()
        local path = H.rules 'rule "cab" { approvers = person "gina" }\n'
        local other = H.rule_file('\nrule "cab" { approvers = person "dave" }\n')
        local ok, err = pcall(relm.approval.load, other)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_rule"))
        assert.matches("^" .. esc(other) .. ":2: rule 'cab' is already declared at " .. esc(path) .. ":1", err.message)
    end)

    it("a broken file in the rules directory refuses the transition that needs it, writing nothing", function()
        local dir = assert(require("luv").fs_mkdtemp("/tmp/relmXXXXXX"))
        local path = dir .. "/cab.lua"
        local f = assert(io.open(path, "w"))
        f:write('rule "cab" { when = { priority = 1 }, approvers = group "cab" }\nrule "x" {\n')
        f:close()
        relm.approval.configure { dir = dir }
        local r = H.release {}
        relm.release.act(r.id, "rush")
        local err = H.refused("invalid_rule", "^" .. esc(path) .. ":3: ", function()
            relm.release.act(r.id, "finish")
        end)
        assert.matches("expected", err.message)
        assert.are.equal("deployment", relm.release.get(r.id).state)
        os.remove(path)
        os.remove(dir)
        relm.approval.configure { dir = false }
    end)

    it("a when-function that fails refuses the transition with file:line and writes nothing", function()
        local path = H.rules [[
rule "broken" {
    when = function(r) return r.no_such_field.x end,
    approvers = person "gina",
}
]]
        local r = H.release {}
        relm.release.act(r.id, "rush")
        local err = H.refused("sandbox", nil, function() relm.release.act(r.id, "finish") end)
        assert.matches("rule 'broken' %(" .. esc(path) .. ":1%) failed: .*" .. esc(path) .. ":2:", err.message)
        assert.are.equal("deployment", relm.release.get(r.id).state)
    end)

    it("a when-function that loops forever is stopped and writes nothing", function()
        H.rules [[
rule "slow" { when = function(r) while true do end end, approvers = person "gina" }
]]
        local r = H.release {}
        relm.release.act(r.id, "rush")
        local err = H.refused("sandbox", "time limit", function() relm.release.act(r.id, "finish") end)
        assert.matches("rule 'slow'", err.message)
        assert.are.equal("deployment", relm.release.get(r.id).state)
    end)

    it("a when-function cannot change the release it is shown", function()
        H.rules [[
rule "meddler" { when = function(r) r.title = "changed"; r.priority = 1; return false end, approvers = person "gina" }
]]
        local r = H.in_homologation {}
        assert.are.equal("Upgrade the database", relm.release.get(r.id).title)
        assert.are.same({}, relm.approval.status(r.id).requests)
    end)

    it("a when-function cannot declare rules, and writes nothing", function()
        local path = H.rules [[
rule "sneaky" {
    when = function(r) rule "injected" { approvers = person "gina" } return false end,
    approvers = person "gina",
}
]]
        local r = H.release {}
        relm.release.act(r.id, "rush")
        H.refused("sandbox", esc(path) .. ":2: rule is a declaration: write it at the top level", function()
            relm.release.act(r.id, "finish")
        end)
        local names = {}
        for _, rule in ipairs(relm.approval.rules()) do
            names[#names + 1] = rule.name
        end
        assert.are.same({ "sneaky" }, names)
    end)

    -- Names a designer mistypes: the rule would never apply and releases
    -- would be approved with nobody asked, so loading refuses them.
    it("refuses a state no workflow has, with a did-you-mean", function()
        load_fails('rule "x" { states = "homologaton", approvers = group "cab" }\n', 1,
            "rule 'x': state 'homologaton' is not a state of any workflow %(did you mean 'homologation'%?%)")
    end)

    it("refuses a state that is no approval point", function()
        load_fails('\nrule "x" { states = "deployment", approvers = group "cab" }\n', 2,
            "state 'deployment' is not an approval point .*approval points: .*planflow%.homologation")
    end)

    it("refuses a workflow that does not exist, or has no approval point", function()
        load_fails('rule "x" { when = { workflow = "majr" }, approvers = group "cab" }\n', 1,
            "when%.workflow names workflow 'majr' that does not exist %(did you mean 'major'%?%)")
        load_fails('rule "x" { when = { workflow = "minor" }, approvers = group "cab" }\n', 1,
            "workflow 'minor' has no approval point")
    end)

    it("refuses a person or group nobody created, with a did-you-mean", function()
        load_fails('rule "x" { approvers = group "cba" }\n', 1, "group 'cba' does not exist %(did you mean 'cab'%?%)")
        load_fails('rule "x" { approvers = levels { group "cab", person "gnia" } }\n', 1,
            "person 'gnia' does not exist %(did you mean 'gina'%?%)")
    end)
end)

describe("workflow keys for activities and approvals", function()
    teardown(H.cleanup)
    it("are checked with file:line", function()
        local path = H.rule_file [[
workflow "badflow" { initial = "a" }
state "a" { phase = "planning", activities = "some" }
state "closed" { phase = "closure", final = true }
transition "go" { from = "a", to = "closed", approval = true, on_reject = "nowhere" }
transition "back" { from = "a", to = "a", on_reject = "go" }
]]
        local wpath = path:match("^(.*)/") .. "/badflow.lua"
        assert(os.rename(path, wpath))
        local ok, problems = relm.workflow.check(wpath)
        assert.is_false(ok)
        local text = table.concat(problems, "\n")
        assert.matches(esc(wpath) .. ":2: state 'a': activities = 'some' is not \"any\" or \"done\"", text)
        assert.matches(esc(wpath) .. ":4: transition 'go': on_reject names unknown transition 'nowhere'", text)
        assert.matches(esc(wpath) .. ":5: transition 'back': on_reject needs approval = true", text)
        os.remove(wpath)
    end)
end)

describe("the rules directory", function()
    it("is $RELM_RULES_DIR when set (instead of the shipped rules)", function()
        local CLI = dofile("tests/fixtures/cli_helper.lua")
        local dir = CLI.fresh_dir("rulesdir")
        CLI.write(dir .. "/mine.lua", 'rule "mine" { when = { workflow = "major" }, approvers = group "cab" }\n')
        local script = [[
            local names = {}
            for _, r in ipairs(relm.approval.rules()) do names[#names + 1] = r.name end
            print(table.concat(names, " "))
        ]]
        local out, err = CLI.output(dir, "--db rules.db -e " .. CLI.q(script),
            { env = "RELM_RULES_DIR=" .. CLI.q(dir) })
        assert.are.same({ "mine\n", "" }, { out, err })
    end)
end)
