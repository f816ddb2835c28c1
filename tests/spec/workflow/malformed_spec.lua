-- malformed_spec.lua: malformed and malicious workflow files
-- (tests/fixtures/workflows): every problem reported with file:line, load
-- refuses them, and the engine goes on afterwards.
local W = relm.workflow
local sb = require "relm.core.sandbox"

local function fixture(name)
    return "tests/fixtures/workflows/" .. name .. ".lua"
end

-- check() must fail and report exactly these problems (patterns, in order).
local function problems_of(name)
    local ok, problems = W.check(fixture(name))
    assert.is_false(ok, name .. " passed check()")
    return problems
end

local function assert_problems(name, expected)
    local problems = problems_of(name)
    assert.are.equal(#expected, #problems, table.concat(problems, "\n"))
    for i, pat in ipairs(expected) do
        assert.matches(pat, problems[i])
    end
    -- And load refuses the file with the same problems.
    local ok, err = pcall(W.load, fixture(name))
    assert.is_false(ok)
    assert.is_true(relm.is_error(err, "invalid_workflow"))
    for _, p in ipairs(problems) do
        assert.is_truthy(err.message:find(p, 1, true), p)
    end
end

local F = "^tests/fixtures/workflows/"

describe("a malformed workflow file", function()
    it("with a syntax error: the compiler's message and line", function()
        assert_problems("syntax_error",
            { F .. "syntax_error%.lua:8: '}' expected %(to close '{' at line 7%) near <eof>$" })
    end)

    it("with an unknown state in a transition: both ends named, with a hint", function()
        local problems = problems_of("unknown_state")
        local all = table.concat(problems, "\n")
        assert.matches("unknown_state%.lua:7: transition 'finish': from 'registred' is not a state of this workflow " ..
            "%(did you mean 'registered'%?%)", all)
        assert.matches("unknown_state%.lua:8: transition 'close_it': to 'done' is not a state of this workflow", all)
    end)

    it("written over several lines: each problem at the line of the misspelt name", function()
        local all = table.concat(problems_of("unknown_state_multiline"), "\n")
        assert.matches("unknown_state_multiline%.lua:13: transition 'finish': to 'closd' is not a state of " ..
            "this workflow %(did you mean 'closed'%?%)", all)
        assert.matches("unknown_state_multiline%.lua:19: transition 'close_it': by = 'robot' is not one of", all)
    end)

    it("with an unreachable state", function()
        assert_problems("unreachable",
            { F .. "unreachable%.lua:5: state 'limbo' is unreachable from the initial state 'registered'$" })
    end)

    it("with declarations that have no name: one problem each", function()
        assert_problems("unnamed", {
            F .. "unnamed%.lua:6: transition needs a name in quotes: transition \"name\" { ... }$",
            F .. "unnamed%.lua:7: state needs a name in quotes: state \"name\" { ... }$",
        })
    end)

    it("with no workflow declaration", function()
        assert_problems("no_workflow", { F .. "no_workflow%.lua:1: no workflow declaration" })
    end)

    it("reports every problem, in line order", function()
        assert_problems("many_problems", {
            ":2: workflow 'many_problems': unknown field 'descripton' %(did you mean 'description'%?%)$",
            ":2: workflow 'many_problems' needs initial",
            ":2: reopen_to 'nowhere' is not a state",
            ":4: state 'registered': unknown phase 'registation' %(did you mean 'registration'%?%)",
            ":4: state 'registered' allows cancel but the workflow has no cancel state",
            ":5: state 'registered' is declared twice %(first at tests/fixtures/workflows/many_problems%.lua:4%)$",
            ":6: state 'work': suspend must be true or false, not string$",
            ":9: transition 'go': unknown permission 'exec'",
            ":10: transition 'go' is declared twice",
            ":11: transition name 'cancel' is reserved",
            ":12: transition 'done': guard must be a function, not string$",
            ":13: transition 'back' leaves final state 'closed'",
            ":13: transition 'back': by = 'boss' is not one of anyone, requester, executor",
            ":15: on_enter names unknown state 'wrk' %(did you mean 'work'%?%)$",
            ":16: state 'pending' needs its description in braces",
        })
    end)

    it("that cannot be read: not_found from load, a problem from check", function()
        local ok, problems = W.check("tests/fixtures/workflows/absent.lua")
        assert.is_false(ok)
        assert.matches("absent%.lua: cannot read the workflow file", problems[1])
        local ok2, err = pcall(W.load, "tests/fixtures/workflows/absent.lua")
        assert.is_false(ok2)
        assert.is_true(relm.is_error(err, "not_found"))
    end)
end)

describe("a malicious workflow file", function()
    before_each(function()
        sb.config({ timeout_ms = 40 })
    end)
    after_each(function()
        sb.config({ timeout_ms = 200 })
    end)

    it("that reaches for io while loading is stopped at that line", function()
        assert_problems("escape_load", { F .. "escape_load%.lua:3: unknown global 'io'$" })
    end)

    it("that loops while loading times out with the line", function()
        assert_problems("loop_load",
            { F .. "loop_load%.lua:5: time limit of 40 ms exceeded while loading the workflow$" })
    end)

    it("that allocates without end while loading hits the memory cap", function()
        sb.config({ timeout_ms = 10000, memory_mb = 4 })
        local ok, problems = W.check(fixture("memory_load"))
        sb.config({ memory_mb = 16 })
        assert.is_false(ok)
        assert.are.same(
            { "tests/fixtures/workflows/memory_load.lua: memory limit of 4 MB exceeded while loading the workflow" },
            problems)
    end)

    it("whose description tables carry looping metamethods: they never run", function()
        local ok, problems = W.check(fixture("tricky_table"))
        assert.is_true(ok, table.concat(problems or {}, "\n"))
        assert.are.equal("registration", W.load(fixture("tricky_table")).states.a.phase)
    end)

    it("with guards that try to escape: each refused with its line", function()
        local wf = W.load(fixture("escape_guard"))
        local expect = {
            via_os = ":8: attempt to call a nil value %(field 'execute'%)",
            via_require = ":10: unknown global 'require'",
            via_string_metatable = ":12: attempt to index a nil value",
            via_method = ":14: string.dump is not available",
            via_load = ":16: attempt to call a nil value",
            via_debug = ":18: unknown global 'debug'",
            via_global = ":20: cannot create global 'shared_state'",
            via_declaration = ":22: transition is a declaration: write it at the top level of the file",
            via_relm = ":24: unknown global 'relm'",
        }
        for tname, pat in pairs(expect) do
            local ok, reason = wf:guard(tname, {})
            assert.is_false(ok, tname)
            assert.matches("^guard of '" .. tname .. "' failed: tests/fixtures/workflows/escape_guard%.lua" .. pat,
                reason)
        end
        assert.is_nil(wf.transitions.sneak)
    end)

    it("with a looping guard: that action fails, the next guard works", function()
        local wf = W.load(fixture("loop_guard"))
        local ok, reason = wf:guard("spin", {})
        assert.is_false(ok)
        assert.are.equal(
            "guard of 'spin' at tests/fixtures/workflows/loop_guard.lua:8 failed: time limit of 40 ms exceeded "
                .. "(reached tests/fixtures/workflows/loop_guard.lua:9)",
            reason)
        ok, reason = wf:guard("spin_in_pcall", {})
        assert.is_false(ok)
        assert.matches("time limit of 40 ms exceeded", reason)
        assert.are.same({ true }, { wf:guard("fine", { ok = true }) })
        assert.are.same({ false, "not ok" }, { wf:guard("fine", { ok = false }) })
        local e = wf:explain("spin", { state = "a" }, {})
        assert.is_false(e.allowed)
        assert.matches("time limit", e.guard.reason)
    end)

    it("with a guard that allocates without end: refused, the engine goes on", function()
        local wf = W.load(fixture("memory_guard"))
        local ok, reason = wf:guard("hog", {}, { limits = { timeout_ms = 10000, memory_mb = 4 } })
        assert.is_false(ok)
        assert.are.equal("guard of 'hog' failed: memory limit of 4 MB exceeded", reason)
        assert.are.equal(1, #relm.sql("SELECT 1 AS one"))
    end)

    it("with a buggy guard: the error and its line", function()
        local wf = W.load(fixture("guard_error"))
        local ok, reason = wf:guard("go", {})
        assert.is_false(ok)
        assert.are.equal("guard of 'go' failed: tests/fixtures/workflows/guard_error.lua:7: attempt to index a nil " ..
            "value (field 'risk')", reason)
    end)
end)
