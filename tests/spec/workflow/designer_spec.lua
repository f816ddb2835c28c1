-- designer_spec.lua: what process designers hit (issue 10): the engine's
-- clock inside guards, check() catching mistyped names, and the guard's
-- own line when it loops in a helper.
local W = relm.workflow
local tmpdir = os.getenv("RELM_TEST_TMP") or "/tmp"

-- Write a workflow file named name.lua in the spec's temporary directory.
local function write(name, text)
    local path = ("%s/%s.lua"):format(tmpdir, name)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    return path
end

local HEAD = [[
workflow "%s" { initial = "open", fields = %s }
state "open" { phase = "registration", requires = %s }
state "closed" { phase = "closure", final = true }
transition "finish" { from = "open", to = "closed", requires = %s, guard = %s }
]]

local function wf_text(name, o)
    return HEAD:format(name, o.fields or "{}", o.state_requires or "{}", o.requires or "{}",
        o.guard or "nil")
end

describe("the sandbox clock", function()
    teardown(function() relm.release.set_clock(nil) end)

    it("is the engine clock: a maintenance-window guard can be tested", function()
        local path = write("window", wf_text("window", {
            guard = [[function()
                local h = tonumber(os.date("!%H"))
                if h < 22 then return false, "outside the window (" .. os.date("!%Y-%m-%d %H:%M") .. ")" end
                return os.time() > 0
            end]],
        }))
        local wf = W.load(path)
        relm.release.set_clock(1767225600 + 23 * 3600) -- 2026-01-01 23:00 UTC
        assert.is_true((wf:guard("finish", {})))
        relm.release.set_clock(1767225600 + 10 * 3600) -- 10:00 UTC
        local ok, why = wf:guard("finish", {})
        assert.is_false(ok)
        assert.are.equal("outside the window (2026-01-01 10:00)", why)
    end)

    it("os.time() in a guard is the fixed clock, and os.time{...} still converts", function()
        local path = write("clockread", wf_text("clockread", {
            guard = [[function()
                return false, os.time() .. " " .. os.time{ year = 2026, month = 1, day = 1, hour = 0 } // 86400
            end]],
        }))
        relm.release.set_clock(1767225600)
        local _, why = W.load(path):guard("finish", {})
        local now, day = why:match("^(%d+) (%d+)$")
        assert.are.equal("1767225600", now)
        assert.is_truthy(tonumber(day) >= 20453 and tonumber(day) <= 20455, why)
    end)
end)

describe("check() of a workflow", function()
    it("refuses a requires or editable name nobody declared, with file:line and a did-you-mean", function()
        local path = write("typo", wf_text("typo", {
            fields = '{ "ticket" }', state_requires = '{ "tiket" }', requires = '{ "relase_date", "ticket", "note" }',
        }))
        local ok, problems = W.check(path)
        assert.is_false(ok)
        assert.are.equal(2, #problems, table.concat(problems, "\n"))
        assert.matches(":2: state 'open': requires names field 'tiket' that nobody declared "
            .. "%(did you mean 'ticket'%?%)", problems[1])
        assert.matches(":4: transition 'finish': requires names field 'relase_date' that nobody declared "
            .. "%(did you mean 'release_date'%?%)", problems[2])
        local lok, err = pcall(W.load, path)
        assert.is_false(lok)
        assert.is_true(relm.is_error(err, "invalid_workflow"))
        assert.matches("tiket", err.message)
    end)
end)

describe("a guard that loops in a helper", function()
    it("reports the guard's own file:line and the line reached", function()
        local path = write("helperloop", [[
local function wait_for_ever()
    while true do end
end
workflow "helperloop" { initial = "open" }
state "open" { phase = "registration" }
state "closed" { phase = "closure", final = true }
transition "finish" { from = "open", to = "closed",
    guard = function(r)
        return wait_for_ever()
    end }
]])
        local ok, why = W.load(path):guard("finish", {}, { limits = { timeout_ms = 40 } })
        assert.is_false(ok)
        local file = path:match("[^/]+$")
        assert.matches("^guard of 'finish' at [^ ]*" .. file .. ":8 failed: time limit of 40 ms exceeded "
            .. "%(reached [^ ]*" .. file .. ":2%)$", why)
    end)
end)

describe("fields a designer can now express", function()
    local wfname
    setup(function()
        if not relm.user.get("ann") then
            relm.user.add { name = "ann" }
            relm.group.add { name = "dba" }
        end
        local path = write("fieldflow", [[
workflow "fieldflow" {
    initial = "open",
    fields = { owner = "user", team = "group", env = { "test", "prod" }, window = "date", ticket = "string" },
}
state "open" { phase = "registration", read_only = { "ticket" } }
state "planned" { phase = "planning", hidden = { "env" } }
state "closed" { phase = "closure", final = true }
transition "plan" { from = "open", to = "planned", prompt = { "window" } }
transition "finish" { from = "planned", to = "closed" }
]])
        wfname = relm.release.workflow(path).name
    end)

    local function refused(pattern, fn)
        local ok, err = pcall(fn)
        assert.is_false(ok, "expected a refusal")
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.matches(pattern, err.message)
    end

    it("checks user, group and list-of-values fields on every write", function()
        refused("field 'owner' is declared user: no user named 'nobody'", function()
            relm.release.register { workflow = wfname, title = "x", owner = "nobody" }
        end)
        refused("field 'env' takes one of test, prod, got 'prd' %(did you mean 'prod'%?%)", function()
            relm.release.register { workflow = wfname, title = "x", env = "prd" }
        end)
        local r = relm.release.register { workflow = wfname, title = "x", owner = "ann", team = "dba", env = "test" }
        assert.are.same({ "ann", "dba", "test" }, { r.owner, r.team, r.env })
        refused("field 'team' is declared group: no group named 'dbas'", function()
            relm.release.update(r.id, { team = "dbas" })
        end)
        refused("field 'env' takes one of", function()
            relm.release.act(r.id, "plan", { fields = { window = "2026-05-01", env = "staging" } })
        end)
    end)

    it("refuses a read-only or hidden field on register, update and act", function()
        refused("register: field 'ticket' is read%-only in state 'open'", function()
            relm.release.register { workflow = wfname, title = "x", ticket = "T-1" }
        end)
        local r = relm.release.register { workflow = wfname, title = "x" }
        refused("update: field 'ticket' is read%-only in state 'open'", function()
            relm.release.update(r.id, { ticket = "T-1" })
        end)
        refused("plan: field 'ticket' is read%-only in state 'open'", function()
            relm.release.act(r.id, "plan", { fields = { window = "2026-05-01", ticket = "T-1" } })
        end)
        r = relm.release.act(r.id, "plan", { fields = { window = "2026-05-01" } })
        refused("update: field 'env' is hidden in state 'planned'", function()
            relm.release.update(r.id, { env = "prod" })
        end)
        assert.are.equal("T-2", relm.release.update(r.id, { ticket = "T-2" }).ticket) -- not read-only here
    end)

    it("prompt: a field must be given with the action even when the release has a value", function()
        local r = relm.release.register { workflow = wfname, title = "x", window = "2026-04-01" }
        refused("'plan' on release .* needs window given with the action itself", function()
            relm.release.act(r.id, "plan")
        end)
        local dry = relm.release.act(r.id, "plan", { dry_run = true })
        assert.is_false(dry.allowed)
        r = relm.release.act(r.id, "plan", { fields = { window = "2026-05-02" } })
        assert.are.same({ "planned", "2026-05-02" }, { r.state, r.window })
    end)
end)

describe("hidden and prompted fields as people see them", function()
    it("a hidden field stays off the release's card; explain counts a prompt field as missing", function()
        local path = write("cardflow", [[
workflow "cardflow" { initial = "open", fields = { verdict = "string", window = "date" } }
state "open" { phase = "registration", hidden = { "verdict" } }
state "closed" { phase = "closure", final = true }
transition "finish" { from = "open", to = "closed", prompt = { "window" } }
on_enter "open" (function() return { verdict = "pending" } end)
]])
        local wf = relm.release.workflow(path)
        local r = relm.release.register { workflow = wf.name, title = "card", window = "2026-01-02" }
        assert.are.equal("pending", r.verdict) -- scripts still read it
        assert.is_nil(tostring(r):find("verdict", 1, true))
        assert.is_truthy(tostring(r):find("window", 1, true))
        assert.are.same({ "window" }, W.load(path):explain("finish", r, {}).missing)
        assert.are.same({}, W.load(path):explain("finish", r, { fields = { window = "2026-01-03" } }).missing)
    end)
end)
