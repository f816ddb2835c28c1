-- outbox_spec.lua: every primitive writes its events into the outbox in its
-- own transaction, queued for each matching subscription; a refused action
-- writes none.
local H = dofile("tests/fixtures/release_helper.lua")

local CLOSURE = { release_date = "2027-01-20", solution_category = "deployed", closure_text = "done" }

local function events(release_id)
    local out = {}
    for _, r in ipairs(relm.sql("SELECT event FROM outbox WHERE release_id = ? ORDER BY id", release_id)) do
        out[#out + 1] = r.event
    end
    return out
end

describe("the outbox", function()
    local j
    setup(function() j = H.setup() end)

    it("holds one event per release action, named release.<action>, and release.closed on closure", function()
        local r = H.release()
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        relm.release.act(r.id, "reactivate")
        relm.release.act(r.id, "authorize")
        relm.release.act(r.id, "execute", { version = "1" })
        relm.release.act(r.id, "pass", { test_result = "ok" })
        relm.release.act(r.id, "close", CLOSURE)
        assert.are.same({ "release.registered", "release.suspend", "release.reactivate", "release.authorize",
            "release.execute", "release.pass", "release.close", "release.closed" }, events(r.id))
    end)

    it("names an activity's events after its action (activity.add, activity.update)", function()
        local r = H.release()
        local a = relm.activity.add(r.id, { phase = "planning", title = "Order disks" })
        relm.activity.update(a.id, { title = "Order more disks" })
        assert.are.same({ "release.registered", "activity.add", "activity.update" }, events(r.id))
    end)

    it("carries the release as it was, and the occurrence it came from", function()
        local r = H.release { title = "Payload check" }
        local e = relm.sql("SELECT * FROM outbox WHERE release_id = ? ORDER BY id DESC LIMIT 1", r.id)[1]
        local p = relm.sql("SELECT json_extract(?1, '$.number') AS number, json_extract(?1, '$.title') AS title,"
            .. " json_extract(?1, '$.status') AS status", e.payload)[1]
        assert.are.same({ number = r.number, title = "Payload check", status = "open" }, p)
        local o = relm.sql("SELECT action, subject_id FROM occurrences WHERE id = ?", e.occurrence_id)[1]
        assert.are.same({ action = "register", subject_id = r.id }, o)
    end)

    it("writes nothing for a refused action (same transaction)", function()
        local r = H.release()
        local before = #events(r.id)
        assert.has_error(function() relm.release.act(r.id, "execute", { version = "1" }) end)
        assert.are.equal(before, #events(r.id))
    end)

    it("queues a delivery for each subscription whose patterns match", function()
        local all = relm.notify.subscribe { channel = "webhook", url = "http://127.0.0.1:9/all",
            events = { "release.*" } }
        local sus = relm.notify.subscribe { channel = "email", to = "ops@example.org", url = "smtp://127.0.0.1:9",
            events = { "release.suspend", "sla.*" } }
        local r = H.release()
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        local rows = relm.sql([[SELECT o.event, d.subscription_id AS sub FROM deliveries d
            JOIN outbox o ON o.id = d.outbox_id WHERE o.release_id = ? ORDER BY d.id]], r.id)
        assert.are.same({
            { event = "release.registered", sub = all },
            { event = "release.suspend", sub = all },
            { event = "release.suspend", sub = sus },
        }, rows)
        assert.are.equal(3, relm.notify.status().webhook.queued + relm.notify.status().email.queued)
    end)
end)
