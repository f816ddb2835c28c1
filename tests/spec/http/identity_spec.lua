-- identity_spec.lua: who a request is: API tokens (shown once, stored as a
-- hash, listed, revoked, expiring), passwords and browser sessions with
-- CSRF tokens, rate-limited login, disabled users. A real serve, curl.
local H = dofile("tests/fixtures/http_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

local function jar(name)
    return H.S.TMP .. "/" .. name .. ".jar"
end

describe("HTTP identity", function()
    local srv
    setup(function()
        R.setup()
        srv = H.start(relm.info().db)
    end)
    teardown(function() H.S.stop_all() end)

    it("stores only a token's hash, lists tokens without it, and a revoked token is refused", function()
        local token, id = relm.token.create { user = "bob", name = "pipeline" }
        assert.is_truthy(token:match("^relm_[%w_%-]+$"))
        local rows = relm.sql("SELECT hash FROM tokens WHERE id = ?", id)
        assert.are_not.equal(token, rows[1].hash)
        assert.is_nil(require("cjson").encode(relm.sql("SELECT * FROM tokens")):find(token, 1, true))
        local list = relm.token.list("bob")
        assert.are.equal("pipeline", list[#list].name)
        assert.is_nil(list[#list].token)
        assert.are.equal(200, (H.req(srv, "GET", "/api/v1/me", { token = token })))
        local s, me = H.req(srv, "GET", "/api/v1/me", { token = token })
        assert.are.equal(200, s)
        assert.are.equal("bob", me.user)
        relm.token.revoke(id)
        local s2, b2 = H.req(srv, "GET", "/api/v1/me", { token = token })
        assert.are.equal(401, s2)
        assert.is_truthy(b2.message:find("revoked", 1, true))
    end)

    it("checks who may make and revoke tokens in the core: others' only for an administrator", function()
        local ok, err = pcall(relm.user.as, "carol", relm.token.create, { user = "bob", name = "stolen" })
        assert.is_false(ok)
        assert.are.equal("permission_denied", err.code)
        local _, id = relm.token.create { user = "bob", name = "bob's" }
        local ok2, err2 = pcall(relm.user.as, "carol", relm.token.revoke, id)
        assert.is_false(ok2)
        assert.are.equal("permission_denied", err2.code)
        -- over HTTP: carol's token cannot make one for bob
        local carol = H.token("carol")
        local s, b = H.req(srv, "POST", "/api/v1/tokens", { token = carol, body = { user = "bob", name = "x" } })
        assert.are.equal(403, s)
        assert.are.equal("permission_denied", b.code)
        local s2, b2 = H.req(srv, "POST", "/api/v1/tokens", { token = carol, body = { name = "mine" } })
        assert.are.equal(201, s2)
        assert.are.equal(200, (H.req(srv, "GET", "/api/v1/me", { token = b2.token })))
    end)

    it("refuses an expired token and a disabled user's token with 401", function()
        local past = relm.token.create { user = "dave", name = "short", expires = relm.release.now() + 2 }
        assert.are.equal(200, (H.req(srv, "GET", "/api/v1/me", { token = past })))
        relm.user.add { name = "erin" }
        local erin = H.token("erin")
        assert.are.equal(200, (H.req(srv, "GET", "/api/v1/me", { token = erin })))
        relm.user.set_active("erin", false)
        local s, b = H.req(srv, "GET", "/api/v1/me", { token = erin })
        assert.are.equal(401, s)
        assert.is_truthy(b.message:find("disabled", 1, true))
        -- valid for 2 s: accepted now, refused once they have passed
        H.S.wait(function() return (H.req(srv, "GET", "/api/v1/me", { token = past })) == 401 end, 10)
        local s2, b2 = H.req(srv, "GET", "/api/v1/me", { token = past })
        assert.are.equal(401, s2)
        assert.is_truthy(b2.message:find("expired", 1, true))
        local counts = R.counts()
        local s3 = H.req(srv, "POST", "/api/v1/releases", { token = erin,
            body = { workflow = R.WF, title = "x", executor_group = "ops" } })
        assert.are.equal(401, s3)
        assert.are.same(counts, R.counts())
    end)

    it("logs in with a password: HttpOnly SameSite=Strict cookie; writes need the CSRF token", function()
        relm.user.set_password("bob", "hunter2-hunter2")
        local hash = relm.sql("SELECT password_hash FROM users WHERE name = 'bob'")[1].password_hash
        assert.is_truthy(hash:match("^%$argon2id%$"))
        local j = jar("bob")
        local s, b, h = H.req(srv, "POST", "/api/v1/login", { jar = j,
            body = { user = "bob", password = "hunter2-hunter2" } })
        assert.are.equal(200, s)
        local cookie = h["set-cookie"]
        assert.is_truthy(cookie:find("HttpOnly", 1, true))
        assert.is_truthy(cookie:find("SameSite=Strict", 1, true))
        assert.is_string(b.csrf_token)
        local s2, me = H.req(srv, "GET", "/api/v1/me", { jar = j })
        assert.are.equal(200, s2)
        assert.are.equal("bob", me.user)
        local counts = R.counts()
        local spec = { workflow = R.WF, title = "From the browser", executor_group = "ops" }
        local s3, b3 = H.req(srv, "POST", "/api/v1/releases", { jar = j, body = spec })
        assert.are.equal(403, s3)
        assert.are.equal("csrf", b3.code)
        local s4 = H.req(srv, "POST", "/api/v1/releases", { jar = j, body = spec,
            headers = { ["X-CSRF-Token"] = ("0"):rep(64) } })
        assert.are.equal(403, s4)
        assert.are.same(counts, R.counts())
        local s5, r = H.req(srv, "POST", "/api/v1/releases", { jar = j, body = spec,
            headers = { ["X-CSRF-Token"] = b.csrf_token } })
        assert.are.equal(201, s5)
        assert.are.equal("bob", r.requester)
    end)

    it("refuses a wrong password with 401 and rate-limits repeated failures with 429", function()
        relm.user.set_password("dave", "correct-horse")
        for _ = 1, 5 do
            local s, b = H.req(srv, "POST", "/api/v1/login", { body = { user = "dave", password = "wrong-wrong" } })
            assert.are.equal(401, s)
            assert.are.equal("unauthorized", b.code)
        end
        local s, b = H.req(srv, "POST", "/api/v1/login", { body = { user = "dave", password = "correct-horse" } })
        assert.are.equal(429, s)
        assert.are.equal("rate_limited", b.code)
        -- an unknown user says the same as a wrong password
        local s2, b2 = H.req(srv, "POST", "/api/v1/login", { body = { user = "nobody", password = "whatever1" } })
        assert.are.equal(401, s2)
        assert.are.equal(b.code == "rate_limited" and "unauthorized" or "", b2.code)
    end)
end)
