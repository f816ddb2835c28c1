-- api_spec.lua: the HTTP/JSON API of `relm serve --listen`, as a pipeline
-- uses it: a real serve on a loopback port, curl, token auth, ETags.
local H = dofile("tests/fixtures/http_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

-- What a write would change of a release (not its ticking clocks).
local function fixed(r)
    return { r.row_version, r.state, r.status, r.title, r.description, r.updated_at }
end

local function tag(v)
    return ('"v%d"'):format(math.tointeger(v))
end

describe("relm serve --listen", function()
    local srv, admin, bob, carol
    setup(function()
        R.setup()
        srv = H.start(relm.info().db)
        admin, bob, carol = H.token("admin"), H.token("bob"), H.token("carol")
    end)
    teardown(function() H.S.stop_all() end)

    it("refuses a request without a token with 401 and {code, message}", function()
        local status, body, headers = H.req(srv, "GET", "/api/v1/releases/1")
        assert.are.equal(401, status)
        assert.are.equal("unauthorized", body.code)
        assert.is_truthy(body.message:find("Bearer", 1, true))
        assert.are.equal("Bearer", headers["www-authenticate"])
    end)

    it("registers a release as the token's user, returns it with an ETag, and reads it back", function()
        local status, r, h = H.req(srv, "POST", "/api/v1/releases", { token = bob,
            body = { workflow = R.WF, title = "Patch the web tier", executor_group = "ops" } })
        assert.are.equal(201, status, require("cjson").encode(r))
        assert.are.equal("Patch the web tier", r.title)
        assert.are.equal("bob", r.requester)
        assert.are.equal(tag(r.row_version), h.etag)
        assert.are.equal("/api/v1/releases/" .. math.tointeger(r.id), h.location)
        local s2, got, h2 = H.req(srv, "GET", "/api/v1/releases/" .. math.tointeger(r.id), { token = bob })
        assert.are.equal(200, s2)
        assert.are.equal(r.number, got.number)
        assert.are.equal(h.etag, h2.etag)
        -- the engine's own view agrees: written by bob, in one occurrence
        assert.are.equal("bob", relm.release.history(math.tointeger(r.id))[1].actor)
    end)

    it("lists the actions allowed now and takes one, with a dry run that changes nothing", function()
        local r = R.release()
        local s, actions = H.req(srv, "GET", "/api/v1/releases/" .. r.id .. "/actions", { token = bob })
        assert.are.equal(200, s)
        assert.is_true(#actions > 0)
        local before = relm.release.get(r.id)
        local name = actions[1]
        local sd, report = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/" .. name,
            { token = bob, body = { dry_run = true } })
        assert.are.equal(200, sd, require("cjson").encode(report))
        assert.are.same(fixed(before), fixed(relm.release.get(r.id)))
        local sa, after, h = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/" .. name,
            { token = bob, headers = { ["If-Match"] = '"v' .. before.row_version .. '"' } })
        assert.are.equal(200, sa, require("cjson").encode(after))
        assert.is_true(after.row_version > before.row_version)
        assert.are.equal(tag(after.row_version), h.etag)
    end)

    it("answers a write with a stale If-Match with 412 and changes nothing", function()
        local r = R.release()
        relm.release.update(r.id, { description = "changed meanwhile" })
        local before, counts = relm.release.get(r.id), R.counts()
        local s, body = H.req(srv, "PATCH", "/api/v1/releases/" .. r.id, { token = bob,
            headers = { ["If-Match"] = '"v' .. r.row_version .. '"' }, body = { title = "Mine" } })
        assert.are.equal(412, s)
        assert.are.equal("precondition_failed", body.code)
        local s2 = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/suspend", { token = bob,
            headers = { ["If-Match"] = '"v' .. r.row_version .. '"' }, body = {} })
        assert.are.equal(412, s2)
        assert.are.same(fixed(before), fixed(relm.release.get(r.id)))
        assert.are.same(counts, R.counts())
    end)

    it("refuses a user without permission on the release's workflow with 403, nothing written", function()
        local r = R.release()
        local before, counts = relm.release.get(r.id), R.counts()
        local s, body = H.req(srv, "PATCH", "/api/v1/releases/" .. r.id, { token = carol,
            body = { title = "Not yours" } })
        assert.are.equal(403, s)
        assert.are.equal("permission_denied", body.code)
        local s2 = H.req(srv, "POST", "/api/v1/releases", { token = carol,
            body = { workflow = R.WF, title = "Nope", executor_group = "ops" } })
        assert.are.equal(403, s2)
        assert.are.same(fixed(before), fixed(relm.release.get(r.id)))
        assert.are.same(counts, R.counts())
    end)

    it("maps the Lua API's error codes to statuses: 404, 400, 409/422", function()
        local s, body = H.req(srv, "GET", "/api/v1/releases/999999", { token = admin })
        assert.are.equal(404, s)
        assert.are.equal("not_found", body.code)
        local s2, b2 = H.req(srv, "GET", "/api/v1/nowhere", { token = admin })
        assert.are.equal(404, s2)
        assert.are.equal("not_found", b2.code)
        local s3, b3 = H.req(srv, "DELETE", "/api/v1/releases/1", { token = admin })
        assert.are.equal(405, s3)
        assert.are.equal("method_not_allowed", b3.code)
        local r = R.release()
        local s4, b4 = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/fly", { token = admin, body = {} })
        assert.is_true(s4 == 409 or s4 == 422, tostring(s4))
        assert.is_string(b4.message)
    end)

    it("serves its OpenAPI 3.1 document, generated from the route table", function()
        local s, doc = H.req(srv, "GET", "/api/v1/openapi.json")
        assert.are.equal(200, s)
        assert.are.equal("3.1.0", doc.openapi)
        assert.is_table(doc.paths["/api/v1/releases/{id}"].get)
        assert.is_table(doc.paths["/api/v1/releases/{id}/actions/{name}"].post)
        for _, route in ipairs(require("relm.http").routes) do
            local key = route[2]:gsub("%*}", "}") -- {path*}: the rest of the path
            assert.is_table(doc.paths[key] and doc.paths[key][route[1]:lower()], route[2])
        end
    end)
end)
