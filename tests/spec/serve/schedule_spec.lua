-- schedule_spec.lua: what `relm serve` does at a moment nobody types:
-- reactivating a suspended release at its reactivate_at (as serve's user,
-- through the real primitive), activity due/overdue and planned-start
-- reminders, each once, caught up after downtime.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local cjson = require "cjson"

local ENV = "RELM_WORKFLOW_PATH=tests/fixtures/workflows"

-- ISO-8601 UTC, secs from now.
local function iso(secs)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + secs)
end

-- The occurrences of release id with the given action.
local history = S.history

local function serve(opts)
    opts = opts or {}
    opts.env = ENV
    return S.serve(relm.info().db, nil, opts)
end

describe("relm serve's schedules", function()
    local j
    setup(function() j = R.setup() end)
    after_each(function() S.stop_all() end)

    describe("suspend with reactivate_at", function()
        it("refuses a moment past, unreadable, or given with another action, writing nothing", function()
            local r = R.release()
            R.refused("invalid_field", "already passed", function()
                relm.release.suspend(r.id, { justification = j.suspend, reactivate_at = iso(-60) })
            end, r.id)
            R.refused("invalid_field", "not a date", function()
                relm.release.suspend(r.id, { justification = j.suspend, reactivate_at = "next tuesday" })
            end, r.id)
            R.refused("invalid_argument", "suspend only", function()
                relm.release.act(r.id, "capture", { reactivate_at = iso(60) })
            end, r.id)
        end)

        it("is reactivated by serve at that moment, as serve's user, recorded in history", function()
            local r = R.release { sla_hours = 1 }
            local at = iso(2)
            local s = relm.release.suspend(r.id, { justification = j.suspend, reactivate_at = at })
            assert.are.equal(at, s.reactivate_at)
            assert.are.equal(at, relm.release.get(r.id).reactivate_at)
            local sv = serve()
            local done = S.wait(function() return relm.release.get(r.id).status == "open" end, 20)
            assert.is_truthy(done, "not reactivated; serve log:\n" .. (S.read(sv.log) or ""))
            local h = history(r.id, "reactivate")
            assert.are.equal(1, #h)
            assert.are.equal("admin", h[1].actor)
            assert.is_true(h[1].at >= at, h[1].at .. " before " .. at)
            assert.matches("reactivate_at " .. at, h[1].note, 1, true)
            -- The clock runs again: a deadline, as after any reactivation.
            assert.is_string(relm.release.get(r.id).deadline)
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)

        it("catches up after downtime: a serve started later reactivates once", function()
            local r = R.release()
            relm.release.suspend(r.id, { justification = j.suspend, reactivate_at = iso(1) })
            S.sleep(2)
            assert.are.equal("suspended", relm.release.get(r.id).status)
            local sv = serve()
            assert.is_truthy(S.wait(function() return #history(r.id, "reactivate") == 1 end, 20), S.read(sv.log))
            S.sleep(1.5)
            assert.are.equal(1, #history(r.id, "reactivate"))
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)

        it("is cancelled by a reactivation by hand before it", function()
            local r = R.release()
            local sv = serve()
            relm.release.suspend(r.id, { justification = j.suspend, reactivate_at = iso(2) })
            relm.release.act(r.id, "reactivate")
            relm.release.suspend(r.id, { justification = j.suspend }) -- no end in view this time
            S.sleep(3.5)
            assert.are.equal("suspended", relm.release.get(r.id).status)
            assert.are.equal(1, #history(r.id, "reactivate"))
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)

        it("is refused in C when serve's user may not reactivate: the release stays suspended", function()
            local r = R.release()
            relm.release.suspend(r.id, { justification = j.suspend, reactivate_at = iso(1) })
            local sv = serve { user = "carol" }
            local logged = S.wait(function()
                local want = "what=reactivate release=" .. r.id .. " code=permission_denied"
                return (S.read(sv.log) or ""):find(want, 1, true)
            end, 20)
            assert.is_truthy(logged, S.read(sv.log))
            assert.are.equal("suspended", relm.release.get(r.id).status)
            assert.are.equal(0, #history(r.id, "reactivate"))
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)
    end)

    describe("reminders", function()
        it("sends activity.due ahead of the due moment and activity.overdue at it, once each", function()
            relm.notify.set { due_lead_seconds = 2 }
            local recv = S.receiver()
            relm.notify.subscribe {
                channel = "webhook", url = recv.url, events = { "activity.due", "activity.overdue" },
            }
            local r = R.release()
            local due = iso(4)
            local a = relm.activity.add(r.id,
                { title = "Patch db1", phase = "planning", owner = "bob", scheduled_at = due })
            local done_a = relm.activity.add(r.id,
                { title = "Done already", phase = "planning", scheduled_at = iso(3) })
            relm.activity.move(done_a.id, "done")
            local sv = serve()
            assert.is_truthy(S.wait(function() return #history(r.id, "activity.overdue") == 1 end, 20), S.read(sv.log))
            local dues = history(r.id, "activity.due")
            assert.are.equal(1, #dues)
            assert.matches('"Patch db1" (owner bob)', dues[1].note, 1, true)
            assert.is_true(dues[1].at < due)
            assert.are.equal(due, history(r.id, "activity.overdue")[1].at)
            -- Both reach the subscription, and a restarted serve sends
            -- nothing again (once per activity and due moment).
            assert.is_truthy(S.wait(function() return #S.requests(recv) == 2 end, 20), S.read(sv.log))
            assert.are.equal(0, S.kill(sv, "TERM"))
            sv = serve()
            S.sleep(2)
            local events = {}
            for _, q in ipairs(S.requests(recv)) do
                events[#events + 1] = cjson.decode(q.body).event
            end
            assert.are.same({ "activity.due", "activity.overdue" }, events)
            -- A new due date is a new reminder.
            relm.activity.update(a.id, { scheduled_at = iso(1) })
            assert.is_truthy(S.wait(function() return #history(r.id, "activity.overdue") == 2 end, 20), S.read(sv.log))
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)

        it("after downtime past both moments fires the overdue reminder once, at its moment", function()
            relm.notify.set { due_lead_seconds = 1 }
            local r = R.release()
            local due = iso(1)
            relm.activity.add(r.id, { title = "Late one", phase = "planning", scheduled_at = due })
            S.sleep(2)
            local sv = serve()
            assert.is_truthy(S.wait(function() return #history(r.id, "activity.overdue") == 1 end, 20), S.read(sv.log))
            assert.are.equal(due, history(r.id, "activity.overdue")[1].at)
            assert.are.equal(0, #history(r.id, "activity.due"))
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)

        it("sends release.planned_start a lead time before the planned start", function()
            relm.notify.set { planned_start_lead_seconds = 2 }
            local start = iso(4)
            local r = R.release { planned_start = start }
            local sv = serve()
            assert.is_truthy(S.wait(function() return #history(r.id, "release.planned_start") == 1 end, 20),
                S.read(sv.log))
            local h = history(r.id, "release.planned_start")[1]
            assert.is_true(h.at < start)
            assert.matches(start, h.note, 1, true)
            assert.are.equal(1, #relm.sql("SELECT id FROM outbox WHERE event = 'release.planned_start' AND "
                .. "release_id = ?", r.id))
            assert.are.equal(0, S.kill(sv, "TERM"))
        end)
    end)
end)
