-- engine_spec.lua: one truth on every path (issue 10): guards see the same
-- ctx from act, dry-run and actions(); fields given with act honour the
-- state's editable list; an action may not set priority nor return what a
-- field cannot hold (file:line); workflow fields keep their Lua type; a
-- dry run and the act agree on a closing an entry action completes.
local H = dofile("tests/fixtures/release_helper.lua")

local function install()
    local dir = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/enginewf"
    os.execute("mkdir -p '" .. dir .. "'")
    local path = dir .. "/ctxflow.lua"
    local f = assert(io.open(path, "w"))
    f:write([[
workflow "ctxflow" {
    initial = "a", close_state = "done",
    fields = { "seen", "who", flag = "boolean", ratio = "number", due = "date", count = "integer" },
}
state "a" { phase = "registration", editable = { "title", "flag", "ratio", "due", "count" } }
state "b" { phase = "deployment", on_enter = function(r, ctx) return { seen = ctx.note, who = ctx.groups[1] } end }
state "p" { phase = "deployment", on_enter = function() return { priority = 1 } end }
state "n" { phase = "deployment", on_enter = function() return { nested = { x = 1 } } end }
state "done" {
    phase = "closure", final = true,
    on_enter = function()
        return { release_date = "2027-01-01", solution_category = "as planned", closure_text = "done" }
    end,
}
transition "go" {
    from = "a", to = "b",
    guard = function(r, ctx)
        if ctx.note ~= "please" or ctx.action ~= "go" or type(ctx.groups) ~= "table" then
            return false, "say please"
        end
        return true
    end,
}
transition "prio" { from = "a", to = "p" }
transition "nest" { from = "a", to = "n" }
transition "finish" { from = { "b", "p", "n" }, to = "done" }
]])
    f:close()
    relm.release.workflow(path)
    relm.permission.grant { group = "ops", workflow = "ctxflow", action = "create" }
    relm.permission.grant { group = "ops", workflow = "ctxflow", action = "execute" }
end

local function new()
    return relm.user.as("bob", relm.release.register, { workflow = "ctxflow", title = "ctx" })
end

local function has(list, name)
    for _, v in ipairs(list) do
        if v == name then
            return true
        end
    end
    return false
end

describe("the release engine", function()
    setup(function()
        H.setup()
        install()
    end)

    it("gives guards the same ctx from act, dry-run and actions()", function()
        local r = new()
        local d = relm.user.as("bob", relm.release.act, r.id, "go", { dry_run = true })
        assert.is_false(d.allowed)
        assert.matches("say please", d.reason)
        assert.is_false(has(relm.user.as("bob", relm.release.actions, r.id), "go"))
        d = relm.user.as("bob", relm.release.act, r.id, "go", { dry_run = true, note = "please" })
        assert.is_true(d.allowed)
        assert.are.equal("b", d.to)
        assert.are.equal("a", relm.release.get(r.id).state)
        local after = relm.user.as("bob", relm.release.act, r.id, "go", { note = "please" })
        assert.are.equal("b", after.state)
        assert.are.equal("please", after.seen)
        assert.are.equal("ops", after.who)
    end)

    it("refuses fields given with act that the state does not list as editable", function()
        local r = new()
        H.refused("invalid_field", "cannot be changed in state 'a'", function()
            relm.release.act(r.id, "go", { note = "please", description = "not editable here" })
        end, r.id)
        assert.are.equal("b", relm.release.act(r.id, "go", { note = "please", flag = true }).state)
    end)

    it("refuses an entry action that sets priority, and one that returns a nested table (file:line)", function()
        local r = new()
        H.refused("invalid_field", "priority", function() relm.release.act(r.id, "prio") end, r.id)
        local err = H.refused("sandbox", "ctxflow%.lua:%d+: the action returned a table for field 'nested'",
            function() relm.release.act(r.id, "nest") end, r.id)
        assert.is_not_nil(err)
    end)

    it("keeps a workflow field's type: false stays false, 2.5 stays 2.5", function()
        local r = new()
        r = relm.release.update(r.id, { flag = false, ratio = 2.5 })
        assert.are.equal(false, r.flag)
        assert.are.equal(2.5, r.ratio)
        r = relm.release.get(r.id)
        assert.are.equal(false, r.flag)
        r = relm.release.update(r.id, { flag = true, ratio = 3 })
        assert.are.equal(true, r.flag)
        assert.are.equal(3, r.ratio)
        assert.are.equal("integer", math.type(r.ratio))
    end)

    it("checks a declared field type, naming the field and its type", function()
        local r = new()
        H.refused("invalid_field", "field 'flag' is declared boolean, got 'yes'", function()
            relm.release.update(r.id, { flag = "yes" })
        end, r.id)
        H.refused("invalid_field", "declared date", function() relm.release.update(r.id, { due = "2027-02-30" }) end,
            r.id)
        H.refused("invalid_field", "declared integer", function() relm.release.update(r.id, { count = 1.5 }) end, r.id)
        r = relm.release.update(r.id, { due = "2027-02-28", count = 4 })
        assert.are.equal("2027-02-28", r.due)
        assert.are.equal(4, r.count)
    end)

    it("tells actions after a rejection who rejected and why (ctx.rejected_by, ctx.rejection_note)", function()
        local dir = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/enginewf"
        local f = assert(io.open(dir .. "/rejflow.lua", "w"))
        f:write([[
workflow "rejflow" { initial = "a", close_state = "done", fields = { "why", "who" } }
state "a" { phase = "registration" }
state "r" {
    phase = "registration",
    on_enter = function(r, ctx) return { why = ctx.rejection_note, who = ctx.rejected_by } end,
}
state "done" { phase = "closure", final = true }
transition "go" { from = "a", to = "done", approval = true, on_reject = "back" }
transition "back" { from = "a", to = "r", permission = "approve" }
transition "again" { from = "r", to = "a" }
]])
        f:close()
        f = assert(io.open(dir .. "/rej_rules.lua", "w"))
        f:write([[rule "lead" { when = { workflow = "rejflow" }, approvers = person "dave" }]])
        f:close()
        relm.release.workflow(dir .. "/rejflow.lua")
        relm.permission.grant { group = "leads", workflow = "rejflow", action = "approve" }
        relm.approval.configure { dir = false }
        relm.approval.load(dir .. "/rej_rules.lua")
        local r = relm.release.register { workflow = "rejflow", title = "rej" }
        assert.are.equal("open", relm.approval.status(r.id).status)
        relm.user.as("dave", relm.approval.decide, r.id, { decision = "reject", note = "no rollback plan" })
        local after = relm.release.get(r.id)
        assert.are.equal("r", after.state)
        assert.are.equal("dave", after.who)
        assert.are.equal("no rollback plan", after.why)
    end)

    it("agrees with the act on a closing whose closure fields an entry action sets", function()
        local r = new()
        relm.release.act(r.id, "go", { note = "please" })
        local d = relm.release.act(r.id, "finish", { dry_run = true })
        assert.is_true(d.allowed, d.reason)
        assert.are.equal("closed", d.status)
        assert.are.equal("closed", relm.release.act(r.id, "finish").status)
    end)
end)
