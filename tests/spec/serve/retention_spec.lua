-- retention_spec.lua: serve prunes delivered events older than
-- outbox_keep_days; dead letters stay until an admin replays or purges
-- them (relm.notify.purge); occurrences are never pruned.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

local function outbox(event)
    return relm.sql("SELECT count(*) AS n FROM outbox WHERE event = ?", event)[1].n
end

local function occurrences()
    return relm.sql("SELECT count(*) AS n FROM occurrences")[1].n
end

describe("relm serve's outbox retention", function()
    setup(function() R.setup() end)
    after_each(function() S.stop_all() end)

    it("prunes delivered events past outbox_keep_days, keeps dead letters until purged", function()
        local good, bad = S.receiver(), S.receiver { status = 400 }
        relm.notify.subscribe { channel = "webhook", url = good.url, events = { "release.registered" } }
        relm.notify.subscribe { channel = "webhook", url = bad.url, events = { "release.capture" } }
        local sv = S.serve(relm.info().db)
        local r
        for _ = 1, 3 do
            r = R.release()
        end
        relm.release.act(r.id, "capture")
        assert.is_truthy(S.wait(function()
            return #relm.notify.dead() == 1 and relm.notify.status().webhook.delivered == 3
        end, 20), S.read(sv.log))
        -- Kept 30 days by default: nothing goes yet.
        S.sleep(1.5)
        assert.are.equal(3, outbox("release.registered"))
        local before = occurrences()
        relm.notify.set { outbox_keep_days = 1 / 86400 } -- one second
        assert.is_truthy(S.wait(function() return outbox("release.registered") == 0 end, 20), S.read(sv.log))
        assert.are.equal(0, relm.sql("SELECT count(*) AS n FROM deliveries WHERE status = 'delivered'")[1].n)
        -- The dead letter and its event stay; the audit is whole.
        assert.are.equal(1, #relm.notify.dead())
        assert.are.equal(1, outbox("release.capture"))
        assert.is_true(occurrences() >= before)
        assert.are.equal(4, #relm.sql("SELECT id FROM occurrences WHERE action IN ('register', 'capture') "
            .. "AND subject = 'release'"))
        assert.matches("pruned events=%d+", S.read(sv.log))
        -- Purged by an admin, the dead letter goes, then its event.
        assert.are.equal(1, relm.notify.purge { all = true })
        assert.are.equal(0, #relm.notify.dead())
        assert.is_truthy(S.wait(function() return outbox("release.capture") == 0 end, 20), S.read(sv.log))
        assert.are.equal(0, S.kill(sv, "TERM"))
    end)

    it("purge takes exactly one of id=, before=, all=true, and only from an admin", function()
        assert.has_error(function() relm.notify.purge {} end)
        assert.has_error(function() relm.notify.purge { id = 1, all = true } end)
        local ok, err = pcall(relm.notify.purge, { id = 999999 })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"), tostring(err))
        ok, err = pcall(relm.notify.purge, { before = "yesterday" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        local rc, out = R.run(nil, "bob", 'relm.notify.purge{all=true}')
        assert.are_not.equal(0, rc)
        assert.matches("permission_denied", out)
    end)
end)
