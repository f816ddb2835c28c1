-- kill9_spec.lua: kill -9 of `relm serve` at any moment loses no event:
-- serve is killed again and again, at random moments, while 1,000 events
-- drain to a real HTTP receiver; in the end every event has arrived at
-- least once, and the only duplicates are deliveries a killed serve had
-- claimed (in flight) when it died: at most 64 per kill.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local cjson = require "cjson"

describe("relm serve killed with SIGKILL", function()
    setup(function() R.setup() end)
    after_each(function() S.stop_all() end)

    it("delivers every one of 1,000 events at least once, duplicates bounded by what was in flight", function()
        math.randomseed(os.time())
        local recv = S.receiver { delay = 0.01 }
        local sub = relm.notify.subscribe { channel = "webhook", url = recv.url, events = { "release.registered" } }
        local serve = S.serve(relm.info().db)
        local kills, in_flight, claimed = 0, {}, 0
        -- 10 rounds: 100 new events, then kill -9 while they drain and start
        -- a new serve (which sends again what the dead one had claimed).
        for _ = 1, 10 do
            relm.tx(function()
                for _ = 1, 100 do
                    R.release()
                end
            end)
            S.wait(function() return #S.requests(recv) > 0 end, 5)
            S.sleep(string.format("%.2f", 0.05 + math.random() * 0.5))
            S.kill(serve, "KILL")
            kills = kills + 1
            -- What the dead serve had claimed: the only events it may
            -- have sent that the next serve sends again.
            for _, c in ipairs(relm.sql("SELECT outbox_id FROM deliveries WHERE subscription_id = ? AND claimed = 1",
                sub)) do
                in_flight[c.outbox_id] = true
                claimed = claimed + 1
            end
            serve = S.serve(relm.info().db)
        end
        local want = relm.sql("SELECT o.id FROM outbox o JOIN deliveries d ON d.outbox_id = o.id "
            .. "WHERE d.subscription_id = ?", sub)
        assert.are.equal(1000, #want)
        local done = S.wait(function()
            return relm.sql("SELECT count(*) AS n FROM deliveries WHERE subscription_id = ? AND status = 'delivered'",
                sub)[1].n == 1000
        end, 120)
        assert.is_truthy(done, "not all delivered; serve log:\n" .. (S.read(serve.log) or ""))
        assert.are.equal(0, S.kill(serve, "TERM"))
        local got, n = {}, 0
        for _, q in ipairs(S.requests(recv)) do
            local id = math.tointeger(cjson.decode(q.body).id)
            got[id] = (got[id] or 0) + 1
            n = n + 1
        end
        -- Duplicates: counted, each one of a delivery in flight at a kill.
        local dups, stray = n - 1000, {}
        for id, k in pairs(got) do
            if k > 1 and not in_flight[id] then
                stray[#stray + 1] = id
            end
        end
        print(("kill9: %d kills, %d events, %d requests, %d duplicates, %d in flight at the kills"):format(kills,
            #want, n, dups, claimed))
        assert.are.same({}, stray)
        assert.is_true(dups <= claimed, dups .. " duplicates, " .. claimed .. " claimed")
        -- A serve claims at most 64 transfers in flight plus 128 ready to
        -- start (core/loop/serve_int.h); only those in flight can have been
        -- sent, so at most 64 duplicates per kill.
        assert.is_true(claimed <= kills * (64 + 128), claimed .. " claimed at " .. kills .. " kills")
        assert.is_true(dups <= kills * 64, dups .. " duplicates at " .. kills .. " kills")
        local missing = {}
        for _, w in ipairs(want) do
            if not got[w.id] then
                missing[#missing + 1] = w.id
            end
        end
        assert.are.same({}, missing)
        assert.is_true(n >= 1000)
        assert.are.equal(10, kills)
    end)
end)
