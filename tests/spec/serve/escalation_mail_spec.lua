-- escalation_mail_spec.lua: an escalation rule's notify = "group" sends a
-- mail to that group through `relm serve`, delivered to a real SMTP server
-- (aiosmtpd): to the group's own address (relm.notify.address) when it has
-- one, else to each member with an address, as model templates address
-- "group:NAME"; a group with no address at all is a dead letter saying so.
local S = dofile("tests/fixtures/serve_helper.lua")

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

-- The mails aiosmtpd got for envelope recipient addr.
local function mails_to(smtp, addr)
    local out = {}
    for _, m in ipairs(S.mails(smtp)) do
        if (m:match("X%-RcptTo: ([^\r\n]*)") or ""):find(addr, 1, true) then
            out[#out + 1] = m
        end
    end
    return out
end

describe("escalation rules that notify a group", function()
    teardown(function() S.stop_all() end)

    it("mail the group's address, or its members', through serve", function()
        relm.group.add { name = "esc-managers" }
        relm.group.add { name = "esc-team" }
        relm.group.add { name = "esc-nobody" }
        relm.user.add { name = "esc-rita", email = "rita@example.org" }
        relm.user.add { name = "esc-tom" }
        relm.group.add_member("esc-team", "esc-rita")
        relm.group.add_member("esc-team", "esc-tom")
        relm.notify.address { group = "esc-managers", email = "managers@example.org" }
        local smtp = S.smtp()
        relm.notify.set { smtp_url = smtp.url, smtp_from = "relm@example.org", backoff_seconds = 0.2, max_tries = 2 }
        local dir = S.TMP .. "/esc-mail"
        os.execute("rm -rf " .. S.q(dir) .. " && mkdir -p " .. S.q(dir))
        write(dir .. "/notify.lua", [[
rule { name = "tell-managers", at = "breached", notify = "esc-managers" }
rule { name = "tell-team", at = "warning", notify = "esc-team" }
rule { name = "tell-nobody", at = "breached", notify = "esc-nobody" }
]])
        local serve = S.serve(relm.info().db, "", { env = { RELM_ESCALATIONS_DIR = dir } })
        assert.is_truthy(S.wait(function() return (S.read(serve.log) or ""):find("started", 1, true) end))
        local r = relm.release.register { title = "Escalate by mail", sla_hours = 3 / 3600 }
        local got = S.wait(function()
            return #mails_to(smtp, "managers@example.org") >= 1 and #mails_to(smtp, "rita@example.org") >= 1
                and #relm.notify.dead() >= 1
        end, 30)
        assert.is_truthy(got, "serve log:\n" .. (S.read(serve.log) or ""))
        local m = mails_to(smtp, "managers@example.org")[1]
        assert.is_truthy(m:find("Subject: [relm] SLA escalation " .. r.number .. " Escalate by mail", 1, true), m)
        assert.is_truthy(m:find("escalation rule 'tell-managers' notifies group esc-managers", 1, true), m)
        assert.is_truthy(m:find("SLA stage breached", 1, true), m)
        local t = mails_to(smtp, "rita@example.org")[1]
        assert.is_truthy(t:find("SLA stage warning", 1, true), t)
        assert.is_truthy(t:find("'tell-team'", 1, true), t)
        -- once each: the managers are not told of the warning, nor twice
        S.sleep(1)
        assert.are.equal(1, #mails_to(smtp, "managers@example.org"))
        assert.are.equal(1, #mails_to(smtp, "rita@example.org"))
        local reasons = {}
        for _, d in ipairs(relm.notify.dead()) do
            reasons[#reasons + 1] = tostring(d.reason or d.error or "")
        end
        assert.is_truthy(table.concat(reasons, "\n"):find("esc-nobody has no address and no member with one", 1, true),
            table.concat(reasons, "\n"))
        assert.are.equal(0, S.kill(serve, "TERM"))
    end)
end)
