-- notify_spec.lua: relm.notify: subscriptions checked at definition time,
-- admin only, settings checked, dead letters replayed.
local H = dofile("tests/fixtures/release_helper.lua")

local refused = dofile("tests/fixtures/spec_helper.lua").refused

describe("relm.notify", function()
    setup(function() H.setup() end)

    it("refuses a subscription it could never deliver, saying why", function()
        local n = #relm.notify.subscriptions()
        refused("invalid_field", "http:// or https://", function()
            relm.notify.subscribe { channel = "webhook", url = "ftp://example.org/x", events = { "*" } }
        end)
        refused("invalid_field", "channel must be", function()
            relm.notify.subscribe { channel = "sms", to = "123", events = { "*" } }
        end)
        refused("invalid_field", "address", function()
            relm.notify.subscribe { channel = "email", to = "nobody", events = { "*" } }
        end)
        refused("invalid_field", "no SMTP server", function()
            relm.notify.subscribe { channel = "email", to = "ops@example.org", events = { "*" } }
        end)
        refused("invalid_field", "smtp://", function()
            relm.notify.subscribe { channel = "email", to = "a@b.org", url = "http://x", events = { "*" } }
        end)
        refused("invalid_field", "at least one", function()
            relm.notify.subscribe { channel = "webhook", url = "http://x/", events = {} }
        end)
        refused("invalid_field", "events%[1%]", function()
            relm.notify.subscribe { channel = "webhook", url = "http://x/", events = { "release\"x" } }
        end)
        refused("invalid_field", "unknown field 'secrt'", function()
            relm.notify.subscribe { channel = "webhook", url = "http://x/", events = { "*" }, secrt = "k" }
        end)
        assert.are.equal(n, #relm.notify.subscriptions())
    end)

    it("is for administrators only, and logs who subscribed without the secret", function()
        local code, out = H.run(nil, "bob",
            'relm.notify.subscribe{channel="webhook", url="http://x/", events={"*"}}')
        assert.are.equal(1, code)
        assert.matches("permission_denied", out)
        local id = relm.notify.subscribe { channel = "webhook", url = "http://x/", events = { "*" }, secret = "s3cret" }
        local o = relm.sql("SELECT actor, after FROM occurrences WHERE subject = 'subscription'"
            .. " AND subject_id = ?", id)[1]
        assert.are.equal("admin", o.actor)
        assert.is_nil(o.after:find("s3cret", 1, true))
        local s = relm.notify.subscriptions()
        assert.is_true(s[#s].signed)
    end)

    it("checks settings", function()
        refused("invalid_field", "sla_warning_percent", function() relm.notify.set { sla_warning_percent = 120 } end)
        refused("invalid_field", "unknown setting", function() relm.notify.set { retries = 3 } end)
        refused("invalid_field", "smtp_tls", function() relm.notify.set { smtp_tls = "maybe" } end)
        relm.notify.set { max_tries = 3, sla_warning_percent = 50 }
        assert.are.same({ max_tries = "3", sla_warning_percent = "50" }, relm.notify.settings())
    end)

    it("replays only a dead delivery", function()
        refused("not_found", "no dead delivery", function() relm.notify.replay(999) end)
        assert.are.same({}, relm.notify.dead())
    end)
end)
