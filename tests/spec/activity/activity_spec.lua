-- activity_spec.lua: relm.activity: add/get/list/update/move/schedule,
-- dependencies and cycles, permissions, the release's log, the planning ->
-- deployment gate, pre-fill from a model, DOT, and the bad input that must
-- write nothing.
local H = dofile("tests/spec/activity/helper.lua")

local function as(user, fn, ...)
    return relm.user.as(user, fn, ...)
end

describe("relm.activity", function()
    setup(H.setup)

    it("adds planning and deployment activities with every field", function()
        local r = H.release()
        local a = relm.activity.add(r.id, {
            phase = "planning", title = "Size the new cluster", description = "CPU and disk",
            group = "ops", owner = "bob", scheduled_at = "2027-03-01T09:00Z", estimated_minutes = 90,
            notes = "ask the DBA",
        })
        assert.is_true(math.type(a.id) == "integer")
        assert.are.equal(r.id, a.release_id)
        assert.are.equal(r.number, a.release)
        assert.are.equal("planning", a.phase)
        assert.are.equal("todo", a.status)
        assert.are.equal(1, a.order)
        assert.are.equal("ops", a.group)
        assert.are.equal("bob", a.owner)
        assert.are.equal("2027-03-01T09:00Z", a.scheduled_at)
        assert.are.equal(90, a.estimated_minutes)
        assert.are.same({}, a.depends_on)
        assert.are.same(a, relm.activity.get(a.id))
        local b = relm.activity.add(r.number, { phase = "planning", title = "Order disks" })
        assert.are.equal(2, b.order)
        local c = relm.activity.add(r, { phase = "deployment", title = "Install" })
        assert.are.equal(1, c.order)
        local list = relm.activity.list(r.id)
        assert.are.same({ a.id, b.id, c.id }, { list[1].id, list[2].id, list[3].id })
        assert.are.equal(1, #relm.activity.list(r.id, { phase = "deployment" }))
        assert.are.equal(1, #relm.activity.list(r.id, { owner = "bob" }))
    end)

    it("writes one occurrence per action in the release's log", function()
        local r = H.release()
        local n = #relm.release.history(r.id)
        local a = relm.activity.add(r.id, { phase = "planning", title = "Write the plan" })
        relm.activity.move(a.id, "in_progress")
        relm.activity.move(a.id, "done", { actual_minutes = 45, note = "plan approved by the team" })
        local h = relm.release.history(r.id)
        assert.are.equal(n + 3, #h)
        assert.are.equal("activity.add", h[n + 1].action)
        assert.are.equal("activity.move", h[n + 2].action)
        assert.are.equal("todo", h[n + 2].before.status)
        assert.are.equal("in_progress", h[n + 2].after.status)
        assert.are.equal("plan approved by the team", h[n + 3].note)
        assert.are.equal(45, h[n + 3].after.actual_minutes)
        assert.is_true((relm.audit.verify()))
    end)

    it("moves across the board and stamps start and finish", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "Review" })
        a = relm.activity.move(a.id, "in_progress")
        assert.are.equal("in_progress", a.status)
        assert.is_string(a.started_at)
        assert.is_nil(a.finished_at)
        a = relm.activity.move(a.id, "done")
        assert.is_string(a.finished_at)
        a = relm.activity.move(a.id, "todo")
        assert.is_nil(a.started_at)
        assert.is_nil(a.finished_at)
    end)

    it("updates and schedules; false clears a field", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "deployment", title = "Migrate", group = "ops" })
        a = relm.activity.update(a.id, { title = "Migrate the data", notes = "weekend", order = 5 })
        assert.are.equal("Migrate the data", a.title)
        assert.are.equal(5, a.order)
        a = relm.activity.schedule(a.id, "2027-04-03T22:00", { estimated_minutes = 240, owner = "bob" })
        assert.are.equal("2027-04-03T22:00", a.scheduled_at)
        assert.are.equal(240, a.estimated_minutes)
        assert.are.equal("bob", a.owner)
        a = relm.activity.update(a.id, { group = false, notes = "" })
        assert.is_nil(a.group)
        assert.is_nil(a.notes)
        a = relm.activity.schedule(a.id, false)
        assert.is_nil(a.scheduled_at)
        local h = relm.release.history(r.id)
        assert.are.same({ "activity.schedule", "activity.update", "activity.schedule" },
            { h[#h - 2].action, h[#h - 1].action, h[#h].action })
    end)

    it("keeps dependencies and refuses to start an activity before what it waits for", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "deployment", title = "Back up" })
        local b = relm.activity.add(r.id, { phase = "deployment", title = "Upgrade", waits_for = { a.id } })
        assert.are.same({ a.id }, b.depends_on)
        H.refused("not_allowed", "waits for #" .. a.id .. " 'Back up' %(todo%)", function()
            relm.activity.move(b.id, "in_progress")
        end)
        relm.activity.move(a.id, "done")
        assert.are.equal("done", relm.activity.move(b.id, "done").status)
        relm.activity.undepend(b.id, a.id)
        assert.are.same({}, relm.activity.get(b.id).depends_on)
    end)

    it("refuses a dependency cycle, naming the path, and writes nothing", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "A" })
        local b = relm.activity.add(r.id, { phase = "planning", title = "B", waits_for = { a.id } })
        local c = relm.activity.add(r.id, { phase = "planning", title = "C", waits_for = { b.id } })
        H.refused("not_allowed", "dependency cycle: #" .. a.id .. " cannot wait for #" .. c.id
            .. ", which already waits for it %(#" .. c.id .. " %-> #" .. b.id .. " %-> #" .. a.id .. "%)", function()
            relm.activity.depend(a.id, c.id)
        end)
        H.refused("not_allowed", "cannot wait for itself", function()
            relm.activity.depend(a.id, a.id)
        end)
        H.refused("duplicate", "already waits for", function()
            relm.activity.depend(b.id, a.id)
        end)
        H.refused("not_found", "does not wait for", function()
            relm.activity.undepend(a.id, b.id)
        end)
        -- a cycle through add's waits_for leaves no activity behind either
        H.refused("not_found", "no activity with id 999999", function()
            relm.activity.add(r.id, { phase = "planning", title = "D", waits_for = { c.id, 999999 } })
        end)
    end)

    it("refuses dependencies across releases", function()
        local a = relm.activity.add(H.release().id, { phase = "planning", title = "A" })
        local b = relm.activity.add(H.release().id, { phase = "planning", title = "B" })
        H.refused("invalid_argument", "different releases", function()
            relm.activity.depend(a.id, b.id)
        end)
    end)

    it("refuses activities on a closed or cancelled release and writes nothing", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "Plan" })
        relm.release.act(r.id, "cancel", { justification = H.justification })
        for _, fn in ipairs({
            function() relm.activity.add(r.id, { phase = "planning", title = "Late" }) end,
            function() relm.activity.move(a.id, "done") end,
            function() relm.activity.update(a.id, { title = "x" }) end,
            function() relm.activity.schedule(a.id, "2027-01-01") end,
        }) do
            H.refused("not_allowed", "is cancelled: its activities can no longer change", fn)
        end
        local c = H.release()
        local ca = relm.activity.add(c.id, { phase = "deployment", title = "Deploy" })
        relm.sql("SELECT 1") -- closed: go through the workflow to the end
        relm.release.act(c.id, "rush")
        relm.activity.move(ca.id, "done")
        relm.release.act(c.id, "finish")
        relm.release.act(c.id, "resolve")
        relm.release.act(c.id, "close", { fields = { release_date = "2027-01-01", solution_category = "done",
            closure_text = "ok" } })
        assert.are.equal("closed", relm.release.get(c.id).status)
        H.refused("not_allowed", "is closed", function()
            relm.activity.add(c.id, { phase = "deployment", title = "After" })
        end)
        H.refused("not_allowed", "is closed", function()
            relm.activity.move(ca.id, "todo")
        end)
    end)

    it("checks permissions: execute, or being the activity's owner", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "Owned by olga's group", group = "owners" })
        local b = relm.activity.add(r.id, { phase = "planning", title = "Owned by carol", owner = "carol" })
        H.refused("permission_denied", nil, function()
            as("carol", relm.activity.add, r.id, { phase = "planning", title = "x" })
        end)
        H.refused("permission_denied", nil, function()
            as("carol", relm.activity.move, a.id, "done")
        end)
        assert.are.equal("done", as("olga", relm.activity.move, a.id, "done").status)
        assert.are.equal("in_progress", as("carol", relm.activity.move, b.id, "in_progress").status)
        assert.are.equal("carol", relm.release.history(r.id)[#relm.release.history(r.id)].actor)
        H.refused("permission_denied", nil, function()
            as("carol", relm.activity.depend, b.id, a.id)
        end)
        assert.are.equal("todo", as("bob", relm.activity.move, b.id, "todo").status)
    end)

    it("refuses bad fields with a message naming them, writing nothing", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "ok" })
        local cases = {
            { "invalid_field", "phase: required", function() relm.activity.add(r.id, { title = "x" }) end },
            { "invalid_field", "title: required", function() relm.activity.add(r.id, { phase = "planning" }) end },
            { "invalid_field", "phase: must be planning or deployment", function()
                relm.activity.add(r.id, { phase = "testing", title = "x" }) end },
            { "invalid_field", "unknown field 'colour'", function()
                relm.activity.add(r.id, { phase = "planning", title = "x", colour = "red" }) end },
            { "invalid_field", "estimated_minutes must be an integer", function()
                relm.activity.add(r.id, { phase = "planning", title = "x", estimated_minutes = 1.5 }) end },
            { "invalid_field", "scheduled_at: must be a date", function()
                relm.activity.add(r.id, { phase = "planning", title = "x", scheduled_at = "next tuesday" }) end },
            { "invalid_field", "group: no group named 'nobody'", function()
                relm.activity.add(r.id, { phase = "planning", title = "x", group = "nobody" }) end },
            { "invalid_field", "owner: no active user named 'ghost'", function()
                relm.activity.update(a.id, { owner = "ghost" }) end },
            { "invalid_field", "title: may not be empty", function() relm.activity.update(a.id, { title = "" }) end },
            { "invalid_argument", "column%) must be one of", function() relm.activity.move(a.id, "doing") end },
            { "invalid_field", "actual_minutes: may not be negative", function()
                relm.activity.move(a.id, "done", { actual_minutes = -5 }) end },
            { "invalid_argument", "unknown option 'notes' %(note, actual_minutes%)", function()
                relm.activity.move(a.id, "done", { notes = "x" }) end },
            { "not_found", "no release with id 424242", function()
                relm.activity.add(424242, { phase = "planning", title = "x" }) end },
            { "not_found", "no release numbered 'REL%-1999%-000001'", function()
                relm.activity.list("REL-1999-000001") end },
            { "not_found", "no activity with id 424242", function() relm.activity.get(424242) end },
        }
        for _, c in ipairs(cases) do
            H.refused(c[1], c[2], c[3])
        end
    end)

    it("gates planning -> deployment until every planning activity is done or cancelled", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "Risk review" })
        local b = relm.activity.add(r.id, { phase = "planning", title = "Rollback plan" })
        relm.activity.add(r.id, { phase = "deployment", title = "Deploy" })
        local err = H.refused("not_allowed", "'deploy' is not allowed on release " .. r.number:gsub("%-", "%%-")
            .. ": 2 planning activities are not done or cancelled: #" .. a.id .. " 'Risk review' %(todo%)", function()
            relm.release.act(r.id, "deploy")
        end)
        assert.matches("'Rollback plan'", err.message)
        assert.are_not.matches("deploy", table.concat(relm.release.actions(r.id), ","))
        local dry = relm.release.act(r.id, "deploy", { dry_run = true })
        assert.is_false(dry.allowed)
        assert.matches("2 planning activities are not done or cancelled", dry.reason)
        relm.activity.move(a.id, "done")
        relm.activity.move(b.id, "cancelled")
        assert.matches("deploy", table.concat(relm.release.actions(r.id), ","))
        assert.are.equal("deployment", relm.release.act(r.id, "deploy").phase)
    end)

    it("lets a workflow relax the gate (activities = \"any\") or extend it (\"done\")", function()
        local r = H.release()
        local p = relm.activity.add(r.id, { phase = "planning", title = "Still open" })
        assert.are.equal("deployment", relm.release.act(r.id, "rush").state)
        local d = relm.activity.add(r.id, { phase = "deployment", title = "Deploy" })
        H.refused("not_allowed", "1 deployment activity is not done or cancelled: #" .. d.id, function()
            relm.release.act(r.id, "finish")
        end)
        relm.activity.move(d.id, "done")
        assert.are.equal("homologation", relm.release.act(r.id, "finish").state)
        assert.are.equal("todo", relm.activity.get(p.id).status)
    end)

    it("draws the dependency order as DOT", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = 'Plan "A"' })
        local b = relm.activity.add(r.id, { phase = "deployment", title = "Do B", owner = "bob", waits_for = { a.id } })
        local dot = relm.activity.dot(r.id)
        assert.matches('^digraph "' .. r.number:gsub("%-", "%%-") .. ' activities" {', dot)
        assert.matches("subgraph cluster_planning", dot, 1, true)
        assert.matches('a' .. a.id .. ' %[label="#' .. a.id .. ' Plan \\"A\\"\\ntodo"', dot)
        assert.matches("a" .. a.id .. " %-> a" .. b.id .. ";", dot)
        assert.matches("bob", dot, 1, true)
        assert.is_nil(dot:find("[style=invis]", 1, true)) -- the dependency already orders the phases
        -- Without one, an invisible edge draws planning before deployment.
        local c = relm.activity.add(r.id, { phase = "planning", title = "Check C" })
        assert.matches("a" .. c.id .. " %-> a" .. b.id .. " %[style=invis%];", relm.activity.dot(r.id))
        assert.matches("}\n$", dot)
        -- Graphviz draws it, when installed.
        if os.execute("command -v dot >/dev/null 2>&1") then
            local path = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/activities.dot"
            local f = assert(io.open(path, "w"))
            f:write(dot)
            f:close()
            assert.is_true(os.execute("dot -Tsvg '" .. path .. "' -o '" .. path .. ".svg'") == true)
            os.remove(path)
            os.remove(path .. ".svg")
        end
    end)
end)
