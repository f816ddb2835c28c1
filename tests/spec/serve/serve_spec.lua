-- serve_spec.lua: `relm serve` as a real process on this spec's database,
-- with a real HTTP receiver and a real SMTP server (aiosmtpd) on loopback:
-- SLA warning and breach arrive as signed webhooks and e-mails and are in
-- the release's history; retries, dead letters, one serve per database,
-- clean stop, catch-up after downtime, a stopped clock while suspended.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local cjson = require "cjson"

local SECRET = "correct horse battery staple"

local function db()
    return relm.info().db
end

-- The occurrences of release id with the given action.
local history = S.history

-- Deliveries of release id's events to subscription sub, by event name.
local function requests_for(recv, release_id)
    local out = {}
    for _, q in ipairs(S.requests(recv)) do
        local body = cjson.decode(q.body)
        if body.release and body.release.id == release_id then
            out[#out + 1] = { event = body.event, body = body, raw = q.body, headers = q.headers, status = q.status }
        end
    end
    return out
end

-- The event named event in list (a receiver's requests), or nil.
local find_by = dofile("tests/fixtures/spec_helper.lua").find
local function find(list, event)
    return find_by(list, "event", event)
end

describe("relm serve", function()
    local j
    setup(function()
        j = R.setup()
        relm.notify.set { backoff_seconds = 0.2 }
    end)
    after_each(function() S.stop_all() end)

    it("delivers a short SLA's warning and breach as a signed webhook and an e-mail, recorded in history", function()
        local recv, smtp = S.receiver(), S.smtp()
        local hook = relm.notify.subscribe { channel = "webhook", url = recv.url,
            events = { "sla.*", "release.registered" }, secret = SECRET }
        local mail = relm.notify.subscribe { channel = "email", to = "ops@example.org", url = smtp.url,
            events = { "sla.*" } }
        local serve = S.serve(db())
        local r = R.release { sla_hours = 3 / 3600, title = "Short SLA" }
        local got = S.wait(function()
            local l = requests_for(recv, r.id)
            return find(l, "sla.breached") and #S.mails(smtp) >= 2 and l
        end)
        assert.is_truthy(got, "no breach arrived; serve log:\n" .. (S.read(serve.log) or ""))
        for _, ev in ipairs({ "release.registered", "sla.warning", "sla.breached" }) do
            local q = assert(find(got, ev), ev .. " missing")
            assert.are.equal("sha256=" .. S.hmac(SECRET, q.raw), q.headers["x-relm-signature"])
            assert.are.equal(r.number, q.body.release.number)
            assert.are.equal("Short SLA", q.body.release.title)
            assert.are.equal(ev, q.headers["x-relm-event"])
            assert.are.equal(("%d"):format(q.body.id), q.headers["x-relm-event-id"])
        end
        local breach = find(got, "sla.breached")
        assert.are.equal(r.deadline, breach.body.at)
        local subjects = {}
        for _, m in ipairs(S.mails(smtp)) do
            assert.is_truthy(m:find("To: <ops@example.org>", 1, true))
            subjects[#subjects + 1] = m:match("Subject: ([^\r\n]*)")
        end
        table.sort(subjects)
        assert.are.same({ "[relm] sla.breached " .. r.number .. " Short SLA",
            "[relm] sla.warning " .. r.number .. " Short SLA" }, subjects)
        -- both stages are in the release's history, once each
        assert.are.equal(1, #history(r.id, "sla.warning"))
        local b = history(r.id, "sla.breached")
        assert.are.equal(1, #b)
        assert.are.equal(r.deadline, b[1].at)
        local st = relm.notify.status()
        assert.are.equal(0, st.email.queued)
        assert.is_true(st.email.delivered >= 2)
        assert.is_true(st.webhook.delivered >= 3)
        assert.are.equal(0, S.kill(serve, "TERM"))
        relm.notify.unsubscribe(hook)
        relm.notify.unsubscribe(mail)
    end)

    it("retries a 5xx with backoff until it succeeds; a 4xx is a dead letter at once; replay re-queues", function()
        local flaky, gone = S.receiver { fail = 2 }, S.receiver { status = 404 }
        local a = relm.notify.subscribe { channel = "webhook", url = flaky.url, events = { "release.suspend" } }
        local b = relm.notify.subscribe { channel = "webhook", url = gone.url, events = { "release.suspend" } }
        local serve = S.serve(db())
        local r = R.release()
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        local ok = S.wait(function()
            local d = relm.sql("SELECT status, attempts FROM deliveries WHERE subscription_id = ?"
                .. " AND status = 'delivered'", a)
            return #d == 1 and #relm.notify.dead() == 1 and d[1]
        end)
        assert.is_truthy(ok, S.read(serve.log))
        assert.are.equal(3, ok.attempts)
        assert.are.same({ 500, 500, 200 }, (function()
            local s = {}
            for _, q in ipairs(S.requests(flaky)) do s[#s + 1] = q.status end
            return s
        end)())
        local dead = relm.notify.dead()[1]
        assert.are.equal(b, dead.subscription)
        assert.are.equal("release.suspend", dead.event)
        assert.are.equal("HTTP 404", dead.reason)
        assert.are.equal(1, dead.attempts)
        assert.are.equal(1, #S.requests(gone))
        relm.notify.replay(dead.id)
        assert.is_truthy(S.wait(function() return #S.requests(gone) == 2 and #relm.notify.dead() == 1 end))
        assert.are.equal(0, S.kill(serve, "TERM"))
        relm.notify.unsubscribe(a)
        relm.notify.unsubscribe(b)
    end)

    it("gives up after max_tries and says why", function()
        relm.notify.set { max_tries = 2 }
        local down = S.receiver { fail = 100 }
        local a = relm.notify.subscribe { channel = "webhook", url = down.url, events = { "release.cancel" } }
        -- nothing listens on port 1: the SMTP server cannot be reached
        local m = relm.notify.subscribe { channel = "email", to = "ops@example.org", url = "smtp://127.0.0.1:1",
            events = { "release.cancel" } }
        local serve = S.serve(db())
        local r = R.release()
        relm.release.act(r.id, "cancel", { justification = j.cancel })
        local function dead_of(sub)
            for _, x in ipairs(relm.notify.dead()) do
                if x.subscription == sub then return x end
            end
        end
        local dead = S.wait(function() return dead_of(a) and dead_of(m) and dead_of(a) end)
        assert.is_truthy(dead, S.read(serve.log))
        assert.are.equal(2, dead.attempts)
        assert.are.equal("HTTP 500", dead.reason)
        local mail = dead_of(m)
        assert.are.equal(2, mail.attempts)
        assert.matches("connect", mail.reason)
        assert.are.equal("ops@example.org", mail.target)
        assert.are.equal(0, S.kill(serve, "INT"))
        relm.notify.unsubscribe(a)
        relm.notify.unsubscribe(m)
        relm.notify.set { max_tries = 8 }
    end)

    it("refuses a second serve on the same database, naming the lock", function()
        local first = S.serve(db())
        assert.is_truthy(S.wait(function() return (S.read(first.log) or ""):find("started") end))
        local second = S.serve(db())
        local rc = S.wait(function() return tonumber(S.read(second.rcfile) or "") end)
        assert.are.equal(1, rc)
        assert.matches("^relm: serve: busy: another relm serve %(pid " .. first.pid .. "%) is already running",
            S.read(second.log))
        assert.matches("serve%.lock", S.read(second.log))
        assert.is_true(S.alive(first))
        assert.are.equal(0, S.kill(first, "TERM"))
    end)

    it("writes one JSON object per line with --log json, and stops with exit 0 on SIGTERM", function()
        local serve = S.serve(db(), "--log json")
        assert.is_truthy(S.wait(function() return (S.read(serve.log) or ""):find("started") end))
        os.execute("kill -HUP " .. serve.pid)
        assert.is_truthy(S.wait(function() return (S.read(serve.log) or ""):find("reloaded") end))
        assert.are.equal(0, S.kill(serve, "TERM"))
        local msgs = {}
        for _, line in ipairs(S.log_lines(serve)) do
            local o = cjson.decode(line)
            assert.is_string(o.at)
            msgs[#msgs + 1] = o.msg
        end
        assert.are.same({ "started", "reloaded", "stopping", "stopped" }, msgs)
    end)

    it("finishes a delivery in flight on SIGTERM before it exits 0", function()
        local slow = S.receiver { delay = 2 }
        local a = relm.notify.subscribe { channel = "webhook", url = slow.url, events = { "release.capture" } }
        local serve = S.serve(db())
        local r = R.release()
        relm.release.act(r.id, "capture")
        -- the receiver has the request (and is still waiting to answer)
        assert.is_truthy(S.wait(function() return #S.requests(slow) == 1 end), S.read(serve.log))
        assert.are.equal(0, S.kill(serve, "TERM"))
        local d = relm.sql("SELECT status, attempts FROM deliveries WHERE subscription_id = ?", a)
        assert.are.same({ { status = "delivered", attempts = 1 } }, d)
        assert.matches("stopping signal=SIGTERM in_flight=1", S.read(serve.log))
        relm.notify.unsubscribe(a)
    end)

    it("catches up after downtime: a breach that happened while no serve ran fires once, at its real time", function()
        local r = R.release { sla_hours = 1 / 3600 }
        S.sleep(2.5)
        local serve = S.serve(db())
        assert.is_truthy(S.wait(function() return #history(r.id, "sla.breached") == 1 end), S.read(serve.log))
        local h = history(r.id, "sla.breached")[1]
        assert.are.equal(r.deadline, h.at)
        assert.are.equal(1, #history(r.id, "sla.warning"))
        assert.are.equal(0, S.kill(serve, "TERM"))
        -- a second start finds nothing left to fire
        serve = S.serve(db())
        assert.is_truthy(S.wait(function() return (S.read(serve.log) or ""):find("started") end))
        S.sleep(1.5)
        assert.are.equal(0, S.kill(serve, "TERM"))
        assert.are.equal(1, #history(r.id, "sla.breached"))
        assert.are.equal(1, #history(r.id, "sla.warning"))
    end)

    it("stops the clock while a release is suspended and fires on the recomputed deadline", function()
        local serve = S.serve(db())
        local r = R.release { sla_hours = 2 / 3600 }
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        S.sleep(3.5) -- past the first deadline, suspended throughout
        assert.are.equal(0, #history(r.id, "sla.breached"))
        r = relm.release.act(r.id, "reactivate")
        assert.is_truthy(S.wait(function() return #history(r.id, "sla.breached") == 1 end), S.read(serve.log))
        assert.are.equal(r.deadline, history(r.id, "sla.breached")[1].at)
        assert.are.equal(0, S.kill(serve, "TERM"))
    end)
end)
