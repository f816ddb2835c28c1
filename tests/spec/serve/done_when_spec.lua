-- done_when_spec.lua: the done-when of issue 11 as one scenario. `relm serve`
-- runs beside this process (the REPL's side); a release registered here with
-- a 3-second SLA has its warning and breach arrive as e-mails in aiosmtpd and
-- as HMAC-SHA256-signed webhooks in an HTTP receiver, both in its history;
-- a blackout on a service refuses `authorize` of a release touching a CI the
-- service depends on, with the path through the CMDB in the reason.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local W = dofile("tests/spec/windows/helper.lua")
local cjson = require "cjson"

local SECRET = "done when secret"

-- The receiver's requests about release id, by event name.
local function webhooks(recv, id)
    local out = {}
    for _, q in ipairs(S.requests(recv)) do
        local body = cjson.decode(q.body)
        if body.release and body.release.id == id then
            out[body.event] = q
        end
    end
    return out
end

-- The subjects of the mails aiosmtpd holds about number.
local function subjects(smtp, number)
    local out = {}
    for _, m in ipairs(S.mails(smtp)) do
        local subject = m:match("Subject: ([^\r\n]*)") or ""
        if subject:find(number, 1, true) then
            out[#out + 1] = subject
        end
    end
    table.sort(out)
    return out
end

describe("issue 11 done when", function()
    setup(function()
        R.setup()
        W.setup()
    end)
    teardown(function() S.stop_all() end)

    it("a short SLA's warning and breach arrive as e-mail and as a signed webhook, both in history", function()
        local recv, smtp = S.receiver(), S.smtp()
        local hook = relm.notify.subscribe { channel = "webhook", url = recv.url, events = { "sla.*" },
            secret = SECRET }
        local mail = relm.notify.subscribe { channel = "email", to = "release-managers@example.org", url = smtp.url,
            events = { "sla.*" } }
        local serve = S.serve(relm.info().db)
        local r = R.release { sla_hours = 3 / 3600, title = "Done-when SLA" }
        local got = S.wait(function()
            local w = webhooks(recv, r.id)
            return w["sla.warning"] and w["sla.breached"] and #subjects(smtp, r.number) >= 2 and w
        end, 30)
        assert.is_truthy(got, "the warning and breach did not both arrive; serve log:\n" .. (S.read(serve.log) or ""))
        for _, ev in ipairs({ "sla.warning", "sla.breached" }) do
            local q = got[ev]
            -- the signature is checked by Python's hmac, not relm's own code
            assert.are.equal("sha256=" .. S.hmac(SECRET, q.body), q.headers["x-relm-signature"])
            assert.are.equal(r.number, cjson.decode(q.body).release.number)
        end
        assert.are.same({ "[relm] sla.breached " .. r.number .. " Done-when SLA",
            "[relm] sla.warning " .. r.number .. " Done-when SLA" }, subjects(smtp, r.number))
        for _, m in ipairs(S.mails(smtp)) do
            assert.is_truthy(m:find("release-managers@example.org", 1, true))
        end
        assert.are.equal(1, #S.history(r.id, "sla.warning"))
        local breach = S.history(r.id, "sla.breached")
        assert.are.equal(1, #breach)
        assert.are.equal(r.deadline, breach[1].at)
        assert.are.equal(0, S.kill(serve, "TERM"))
        relm.notify.unsubscribe(hook)
        relm.notify.unsubscribe(mail)
    end)

    it("a blackout on a service refuses authorize of a release on a CI it depends on, the path in the reason",
        function()
            relm.window.add { name = "done-when-freeze", kind = "blackout", starts = "2027-12-20T00:00Z",
                ends = "2028-01-03T00:00Z", scope = { services = { "web-svc" } }, reason = "year-end freeze" }
            local r = W.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-01" })
            local before = #relm.release.history(r.id)
            local err = W.refused("not_allowed", "web-svc → app-01 → db-01", relm.release.act, r.id, "authorize")
            assert.is_truthy(tostring(err):find("done-when-freeze", 1, true), tostring(err))
            assert.are.equal("registered", relm.release.get(r.id).state)
            assert.are.equal(before, #relm.release.history(r.id))
            local conflicts = relm.release.conflicts(r.id)
            assert.are.equal("db-01", conflicts[1].ci)
        end)
end)
