-- connections_spec.lua: serve keeps a webhook connection's poll between
-- deliveries (deliver.c); a receiver that closes idle connections, as
-- servers and proxies do, must neither stall the next deliveries nor leave
-- serve spinning on the closed socket; and a backlog goes over connections
-- serve keeps, not new ones.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local cjson = require "cjson"

describe("relm serve's webhook connections", function()
    setup(function()
        R.setup()
        relm.notify.set { backoff_seconds = 0.2 }
    end)
    after_each(function() S.stop_all() end)

    it("delivers over new connections after the receiver closed the idle ones, and does not spin meanwhile", function()
        local recv = S.receiver { idle_close = 0.3 }
        relm.notify.subscribe { channel = "webhook", url = recv.url, events = { "release.registered" } }
        local serve = S.serve(relm.info().db)
        for i = 1, 3 do
            R.release { title = "first " .. i }
        end
        assert.is_truthy(S.wait(function() return #S.requests(recv) >= 3 end),
            "the first deliveries did not arrive; serve log:\n" .. (S.read(serve.log) or ""))
        -- The receiver closes every connection serve kept: each close makes
        -- the kept socket readable, which serve must stop watching.
        local closed = S.wait(function() return S.closed(recv) >= 1 end, 10)
        assert.is_truthy(closed, "the receiver closed no connection")
        S.sleep(0.5)
        local before = S.cpu_seconds(serve)
        S.sleep(1)
        local used = S.cpu_seconds(serve) - before
        -- Idle, serve wakes once a second at most: a spin on a closed
        -- socket takes the whole second.
        assert.is_true(used < 0.3, ("serve used %.2f s of CPU in an idle second"):format(used))
        for i = 1, 3 do
            R.release { title = "second " .. i }
        end
        local got = S.wait(function() local l = S.requests(recv); return #l >= 6 and l end)
        assert.is_truthy(got, "the deliveries after the close did not arrive; serve log:\n"
            .. (S.read(serve.log) or ""))
        local titles = {}
        for _, q in ipairs(got) do
            titles[#titles + 1] = cjson.decode(q.body).release.title
        end
        table.sort(titles)
        assert.are.same({ "first 1", "first 2", "first 3", "second 1", "second 2", "second 3" }, titles)
        local dead = relm.sql("SELECT count(*) AS n FROM deliveries WHERE status <> 'delivered'")[1].n
        assert.are.equal(0, dead)
    end)

    -- The connections n queued release.registered events reach recv over,
    -- by the receiver's count of client ports (one per connection); with
    -- down, a receiver that refuses connections also subscribed.
    local function backlog_connections(n, down)
        for _, sub in ipairs(relm.notify.subscriptions()) do
            if sub.active then
                relm.notify.unsubscribe(sub.id)
            end
        end
        -- All 64 answers at once: the transfers finish together.
        local recv = S.receiver { batch = 64 }
        relm.notify.subscribe { channel = "webhook", url = recv.url, events = { "release.registered" } }
        if down then
            local gone = S.receiver()
            S.kill(gone)
            relm.notify.subscribe { channel = "webhook", url = gone.url, events = { "release.registered" } }
        end
        relm.tx(function()
            for i = 1, n do
                relm.release.register { title = "backlog " .. i }
            end
        end)
        local serve = S.serve(relm.info().db)
        local got = S.wait(function() local l = S.requests(recv); return #l >= n and l end, 60)
        assert.is_truthy(got, "the backlog was not delivered; serve log:\n" .. (S.read(serve.log) or ""))
        S.kill(serve)
        local peers, k = {}, 0
        for _, q in ipairs(got) do
            if not peers[q.peer] then
                peers[q.peer], k = true, k + 1
            end
        end
        return k
    end

    -- 64 transfers at most are in flight (RELM_SERVE_MAX_INFLIGHT). curl's
    -- default cache shrank whenever many transfers finished together and
    -- closed connections the next ones opened again.
    it("keeps its connections through a backlog: no more than it can use at once", function()
        local k = backlog_connections(1500)
        assert.is_true(k <= 64, ("%d connections for 1500 deliveries"):format(k))
    end)

    -- Transfers to a receiver that refuses connections take places in
    -- curl's connection cache too: they must not push the live receiver's
    -- connections out.
    it("keeps them while another receiver is down", function()
        local k = backlog_connections(1500, true)
        assert.is_true(k <= 64, ("%d connections for 1500 deliveries"):format(k))
    end)
end)
