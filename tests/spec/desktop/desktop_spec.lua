-- desktop_spec.lua: relm.desktop, the work queue: what is waiting for a user
-- and their groups, situation and delay, filters, counts, the 80-column
-- view, JSON, and the actions (the same primitives as relm.release.act).
local H = dofile("tests/spec/related/helper.lua")
local cjson = require "cjson"

local T0 = os.time { year = 2026, month = 5, day = 1, hour = 8 } -- local time; only differences matter

local function desk(user, opts)
    return relm.user.as(user, function() return relm.desktop(opts) end)
end

local function numbers(rows)
    local out = {}
    for i, r in ipairs(rows) do
        out[i] = r.number .. (r.activity_id and ("#" .. r.activity_id) or "")
    end
    return out
end

-- On an 80-column terminal (the REPL sets relm.pretty.width).
local function on_terminal(fn)
    local saved = relm.pretty.width
    relm.pretty.width = 80
    local ok, err = pcall(fn)
    relm.pretty.width = saved
    assert(ok, err)
end

describe("relm.desktop", function()
    local urgent, patch, other, held, act
    setup(function()
        H.setup()
        relm.release.set_clock(T0)
        urgent = H.release { title = "Deploy CRM", impact = "high", urgency = "high", sla_hours = 4, requester = "bob" }
        patch = H.release { title = "Patch servers", executor_group = "leads", sla_hours = 100 }
        other = H.release { title = "Other", executor_group = "dba", sla_hours = 100 }
        held = H.release { title = "Held", sla_hours = 100 }
        relm.release.act(other.id, "share", { to_group = "ops", note = "for information" })
        act = relm.activity.add(patch.id, { phase = "planning", title = "Backup the database", group = "ops",
            scheduled_at = relm.release.now() and os.date("!%Y-%m-%dT%H:%M", T0 + 3600), estimated_minutes = 30 })
        relm.activity.add(patch.id, { phase = "planning", title = "Done already", group = "ops", status = "done" })
        H.as("dave", function() relm.release.act(held.id, "suspend", { justification = H.suspend }) end)
        local closed = H.release { title = "Closed one" }
        H.resolve(closed)
        relm.release.act(closed.id, "close", { fields = H.closing })
        relm.release.set_clock(T0 + 6 * 3600) -- six hours later
    end)
    teardown(function() relm.release.set_clock(nil) end)

    it("lists the releases and activities waiting for the user, most urgent first", function()
        local d = desk("bob")
        -- A suspended release has no running time limit: it comes after.
        assert.are.same({ urgent.number, patch.number .. "#" .. act.id, other.number, held.number }, numbers(d))
        local r = d[1]
        assert.are.equal("release", r.kind)
        assert.are.equal("bob", r.requester)
        assert.are.equal(1, r.priority)
        assert.are.equal("late", r.situation)
        assert.are.equal(2 * 3600, r.delay)
        assert.are.equal("registration", r.task)
        assert.are.equal("ops", r.group)
        assert.are.equal("assigned", r.why)
        local a = d[2]
        assert.are.equal("activity", a.kind)
        assert.are.equal("Backup the database", a.task)
        assert.are.equal("late", a.situation)
        assert.are.equal(6 * 3600 - 3600 - 1800, a.delay)
        assert.are.equal("suspended", d[4].situation)
        assert.are.equal("shared", d[3].why)
        assert.are.equal("ops", d[3].shared_with)
        assert.are.equal("in execution", d[3].situation)
    end)

    it("filters by number, assigned, shared, kind and group", function()
        assert.are.same({ urgent.number }, numbers(desk("bob", { number = urgent.number })))
        assert.are.same({ urgent.number }, numbers(desk("bob", { number = tostring(urgent.id) })))
        assert.are.same({ urgent.number }, numbers(desk("bob", { number = "000" .. urgent.id })))
        assert.are.same({}, desk("bob", { number = "99999999999999999999" })) -- no integer overflow
        assert.are.same({ other.number }, numbers(desk("bob", { shared = true })))
        assert.are.equal(3, #desk("bob", { assigned = true }))
        assert.are.same({ patch.number .. "#" .. act.id }, numbers(desk("bob", { kind = "activity" })))
        assert.are.same({ other.number }, numbers(desk("bob", { group = "dba" })))
        assert.are.equal(2, #desk("bob", { limit = 2 }))
    end)

    it("counts by situation, priority and group", function()
        local c = relm.user.as("bob", function() return relm.desktop.counts() end)
        assert.are.equal(4, c.total)
        assert.are.equal(3, c.releases)
        assert.are.equal(1, c.activities)
        assert.are.same({ ["in execution"] = 1, suspended = 1, late = 2 }, c.situation)
        assert.are.same({ 1, 0, 3, 0, 0 }, c.priority)
        assert.are.same({ ops = 3, dba = 1 }, c.group)
    end)

    it("prints as a table that fits 80 columns, with the counts", function() on_terminal(function()
        local text = tostring(desk("bob"))
        assert.matches("number%s+p%s+sit%s+limit%s+delay%s+left%s+task", text)
        assert.matches(urgent.number, text, 1, true)
        assert.matches("situation: in execution 1, suspended 1, late 2", text, 1, true)
        assert.matches("priority:  p1 1, p3 3", text, 1, true)
        assert.matches("group:     ops 3, dba 1", text, 1, true)
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
        assert.are.equal(text, relm.pretty.show(desk("bob")))
    end) end)

    it("prints its items in the output mode (csv, json, ...) and exports them", function()
        local saved = relm.pretty.mode
        relm.pretty.mode = "csv"
        local ok, text = pcall(relm.pretty.show, desk("bob"))
        relm.pretty.mode = saved
        assert(ok, text)
        local header = text:match("^([^\r\n]*)")
        assert.are.equal(table.concat(relm.desktop.fields, ","), header)
        assert.matches("\r\nrelease," .. urgent.number .. ",", text, 1, true)
        assert.is_nil(text:find("situation: ", 1, true))
        local path = os.tmpname() .. ".csv"
        assert.are.equal(4, relm.export(desk("bob"), path))
        os.remove(path)
    end)

    it("gives JSON for scripts", function()
        local j = cjson.decode(desk("bob", { format = "json" }))
        assert.are.equal("bob", j.user)
        assert.are.equal(4, #j.items)
        assert.are.equal(urgent.number, j.items[1].number)
        assert.are.equal(2, j.counts.situation.late)
    end)

    it("is empty for a user with nothing, and says so", function()
        local d = desk("carol")
        assert.are.equal(0, #d)
        assert.are.equal("(nothing waiting for carol)", tostring(d))
        local j = cjson.decode(desk("carol", { format = "json" }))
        assert.are.same({}, j.items)
        assert.are.equal(0, j.counts.total)
        assert.are.equal(0, relm.user.as("carol", function() return relm.desktop.counts() end).total)
    end)

    it("refuses bad options, unknown users and other people's desktops", function()
        local refused = dofile("tests/fixtures/spec_helper.lua").refused
        refused("invalid_argument", "unknown option 'colour'", function() relm.desktop { colour = 1 } end)
        refused("invalid_argument", "kind must be", function() relm.desktop { kind = "task" } end)
        refused("invalid_argument", "format must be", function() relm.desktop { format = "xml" } end)
        refused("invalid_argument", "limit must be", function() relm.desktop { limit = -1 } end)
        refused("not_found", "no user named 'zed'", function() relm.desktop { user = "zed" } end)
        refused("permission_denied", "administrators", function() desk("bob", { user = "dave" }) end)
        assert.are.equal(4, #relm.desktop { user = "bob" }) -- an administrator may look
    end)

    it("names itself and what it wants when given no item (the first row of an empty desktop)", function()
        local before = relm.sql("SELECT count(*) AS n FROM occurrences")[1].n
        for _, name in ipairs({ "execute", "capture", "delegate", "share", "suspend", "reactivate" }) do
            local ok, err = pcall(relm.desktop[name], nil, {})
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
            assert.matches("^relm%.desktop%." .. name .. ": argument #1 %(item%) must be a row of relm%.desktop%(%)",
                err.message)
            assert.matches("got nil$", err.message)
        end
        local ok, err = pcall(relm.desktop.execute, {}, {})
        assert.is_false(ok)
        assert.matches("got a table without release_id", err.message)
        assert.are.equal(before, relm.sql("SELECT count(*) AS n FROM occurrences")[1].n)
    end)
end)

describe("the printed desktop", function()
    setup(function()
        H.setup()
        relm.release.set_clock(T0)
    end)
    teardown(function() relm.release.set_clock(nil) end)

    it("keeps numbers whole in 80 columns whatever the other cells hold", function()
        relm.group.add { name = "network-engineering-and-security" }
        relm.group.add_member("network-engineering-and-security", "bob")
        relm.user.add { name = "maximilian.vandenberghe" }
        local long = H.release { title = "Long", executor_group = "network-engineering-and-security" }
        relm.release.act(long.id, "share", { to_user = "maximilian.vandenberghe", note = "fyi" })
        relm.release.act(long.id, "capture")
        relm.activity.add(long.id, { phase = "deployment", owner = "bob",
            title = "Back up every database of the cluster before the upgrade starts",
            scheduled_at = "2025-01-01T09:00", estimated_minutes = 30 })
        local text
        on_terminal(function() text = tostring(desk("bob")) end)
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
        -- To a pipe or a file (relm -e ... | grep) nothing is cut: the
        -- whole task, group and person names.
        local whole = relm.pretty.show(desk("bob"))
        assert.matches("#%d+ Back up every database of the cluster before the upgrade starts", whole)
        assert.matches("network-engineering-and-security  ", whole, 1, true)
        assert.matches("maximilian.vandenberghe", whole, 1, true)
        for _, r in ipairs(desk("bob")) do
            assert.matches(r.number .. "  ", text, 1, true)
        end
        -- More than ten days late prints in days only, so the column keeps
        -- its five characters.
        assert.matches("%s%d%d%dd%s", text)
        assert.matches("#%d+ Back up", text)
        assert.matches("network%-engineering%-and%-security 1", text)
    end)

end)

describe("actions from the desktop", function()
    setup(H.setup)

    it("capture, delegate, share, suspend, reactivate are relm.release.act", function()
        local r = H.release { title = "Act on me" }
        local row = desk("dave", { number = r.number })[1]
        relm.user.as("dave", function() relm.desktop.capture(row) end)
        assert.are.equal("dave", relm.release.get(r.id).responsible)
        relm.user.as("dave", function() relm.desktop.share(row, { to_user = "erin", note = "please review" }) end)
        assert.are.equal("erin", relm.release.get(r.id).shared_with[1].user)
        assert.are.equal("erin", desk("dave", { number = r.number })[1].shared_with)
        relm.user.as("dave", function() relm.desktop.suspend(r.number, { justification = H.suspend }) end)
        assert.are.equal("suspended", relm.release.get(r.id).status)
        relm.user.as("dave", function() relm.desktop.reactivate(r.id) end)
        assert.are.equal("open", relm.release.get(r.id).status)
        relm.user.as("dave", function() relm.desktop.delegate(r.id, { to_group = "dba", note = "theirs now" }) end)
        assert.are.equal("dba", relm.release.get(r.id).current_group)
        local h = relm.release.history(r.id)
        assert.are.equal("delegate", h[#h].action)
    end)

    it("executes the current task: the one open transition, or the activity's next column", function()
        local r = H.release { title = "Execute me" }
        local after = relm.desktop.execute(r.number)
        assert.are.equal("execution", after.state)
        after = relm.desktop.execute(r.id, { fields = { version = "2.0" } })
        assert.are.equal("test", after.state)
        local a = relm.activity.add(r.id, { phase = "deployment", title = "Switch DNS", group = "ops" })
        local row
        for _, it in ipairs(desk("bob", { number = r.number, kind = "activity" })) do
            row = it
        end
        assert.are.equal(a.id, row.activity_id)
        assert.are.equal("in_progress", relm.desktop.execute(row).status)
        assert.are.equal("done", relm.desktop.execute(row).status)
        local ok, err = pcall(relm.desktop.execute, row)
        assert.is_false(ok)
        assert.matches("nothing left to execute", tostring(err))
        local sched = relm.desktop.schedule(a.id, "2026-06-01T10:00", { estimated_minutes = 15 })
        assert.matches("^2026%-06%-01T10:00", sched.scheduled_at)
    end)

    it("refuses an action the primitive refuses, writing nothing", function()
        local r = H.release { title = "Not yours" }
        local before = H.counts()
        local ok, err = pcall(function()
            relm.user.as("carol", function() relm.desktop.capture(r.number) end)
        end)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        assert.are.same(before, H.counts())
    end)
end)

describe("approvals on the desktop", function()
    setup(H.setup)

    it("shows the approval requests waiting for the user, and decides from there", function()
        local dir = os.getenv("RELM_TEST_TMP") or "/tmp"
        local function write(path, text)
            local f = assert(io.open(path, "w"))
            f:write(text)
            f:close()
        end
        write(dir .. "/deskflow.lua", [[
workflow "deskflow" { initial = "build" }
state "build"        { phase = "deployment", cancel = true }
state "homologation" { phase = "deployment", cancel = true, suspend = true }
state "resolved"     { phase = "closure" }
state "closed"       { phase = "closure", final = true }
state "cancelled"    { phase = "closure", final = true }
transition "built"   { from = "build", to = "homologation" }
transition "resolve" { from = "homologation", to = "resolved", approval = true, on_reject = "rework" }
transition "rework"  { from = "homologation", to = "build", permission = "approve" }
transition "accept"  { from = "resolved", to = "closed" }
]])
        os.execute("mkdir -p '" .. dir .. "/deskrules'")
        write(dir .. "/deskrules/cab.lua",
            'rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "all" } }\n')
        relm.permission.grant { group = "cab", workflow = "*", action = "approve" }
        relm.release.workflow(dir .. "/deskflow.lua")
        relm.approval.configure { dir = dir .. "/deskrules" }
        local r = relm.release.register { workflow = "deskflow", title = "Payroll cluster",
            impact = "high", urgency = "high", executor_group = "dba" }
        relm.release.act(r.id, "built")
        local d = desk("erin", { kind = "approval" })
        assert.are.equal(1, #d)
        local item = d[1]
        assert.are.equal("approval", item.kind)
        assert.are.equal(r.number, item.number)
        assert.are.equal("approve (cab)", item.task)
        assert.are.equal("cab", item.group)
        assert.is_number(item.request_id)
        assert.are.equal(1, relm.user.as("erin", function() return relm.desktop.counts() end).approvals)
        local ok, err = pcall(function()
            relm.user.as("erin", function() relm.desktop.execute(item) end)
        end)
        assert.is_false(ok)
        assert.matches("needs {decision=", tostring(err))
        relm.user.as("erin", function() relm.desktop.execute(item, { decision = "approve" }) end)
        assert.are.equal(0, #desk("erin", { kind = "approval" }))
        assert.are.equal("resolved", relm.release.act(r.id, "resolve").state)
    end)
end)
