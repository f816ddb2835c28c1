-- openapi_spec.lua: /api/v1/openapi.json, as served by a real serve, passes
-- a real OpenAPI 3.1 validator (@redocly/cli lint, installed by `make`
-- into build/npm/openapi), names every route of the route table, and
-- says what the server really answers: the statuses a client meets, the
-- If-Match it may send, the ETag and Location it gets back.
local H = dofile("tests/fixtures/http_helper.lua")

local LINT = (os.getenv("BUILD") or "build") .. "/npm/openapi/node_modules/.bin/redocly"

describe("the OpenAPI document", function()
    local srv
    setup(function() srv = H.start(relm.info().db) end)
    teardown(function() H.S.stop_all() end)

    it("validates with @redocly/cli lint (OpenAPI 3.1), errors and warnings both zero", function()
        local f = assert(io.open(LINT), "@redocly/cli is not installed: `make test` installs it into build/npm/openapi")
        f:close()
        local s, doc, _, raw = H.req(srv, "GET", "/api/v1/openapi.json")
        assert.are.equal(200, s)
        assert.are.equal("3.1.0", doc.openapi)
        local file = H.S.TMP .. "/openapi.json"
        H.write(file, raw)
        local p = io.popen("REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true " .. H.S.q(LINT)
            .. " lint --format stylish " .. H.S.q(file) .. " 2>&1; echo rc=$?")
        local out = p:read("a")
        p:close()
        assert.is_truthy(out:find("rc=0", 1, true), out)
        assert.is_nil(out:find("warning", 1, true), out)
        -- the validator does read it: a broken document fails
        doc.paths["/api/v1/releases/{id}"].get.responses = "nothing"
        H.write(file, require("cjson").encode(doc))
        local p2 = io.popen(H.S.q(LINT) .. " lint " .. H.S.q(file) .. " > /dev/null 2>&1; echo $?")
        local rc = p2:read("a")
        p2:close()
        assert.are_not.equal("0\n", rc)
    end)

    -- An operation of the served document, and what its $refs point at.
    local function resolve(doc, v)
        if type(v) == "table" and v["$ref"] then
            local node = doc
            for part in v["$ref"]:gmatch("[^/#]+") do
                node = node[part]
            end
            return node
        end
        return v
    end

    it("declares the statuses, If-Match, ETag and Location the server really uses", function()
        local _, doc = H.req(srv, "GET", "/api/v1/openapi.json")
        local function op(method, path)
            return assert(doc.paths[path] and doc.paths[path][method], method .. " " .. path)
        end
        local function declares(method, path, status)
            local o = op(method, path)
            assert.is_table(resolve(doc, o.responses[tostring(status)]),
                method:upper() .. " " .. path .. " does not declare " .. status)
        end
        local function if_match(method, path)
            for _, p in ipairs(op(method, path).parameters or {}) do
                p = resolve(doc, p)
                if p["in"] == "header" and p.name == "If-Match" then
                    return true
                end
            end
            return false
        end
        local token = H.token("admin")
        local rel = "/api/v1/releases/{id}"
        local act = rel .. "/actions/{name}"

        -- register: 201 with ETag and Location, both declared
        local s, r, h = H.req(srv, "POST", "/api/v1/releases", { token = token, body = { title = "OpenAPI" } })
        r.id = math.tointeger(r.id)
        assert.are.equal(201, s)
        assert.is_string(h.etag)
        assert.are.equal("/api/v1/releases/" .. r.id, h.location)
        local created = op("post", "/api/v1/releases").responses["201"]
        assert.is_table(resolve(doc, created.headers.ETag))
        assert.is_table(resolve(doc, created.headers.Location))
        -- read: ETag declared; an unknown id is 404
        s, _, h = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = token })
        assert.are.equal(200, s)
        assert.is_string(h.etag)
        assert.is_table(resolve(doc, op("get", rel).responses["200"].headers.ETag))
        assert.are.equal(404, (H.req(srv, "GET", "/api/v1/releases/999999", { token = token })))
        declares("get", rel, 404)

        -- the writes that read If-Match declare it and their 412; the others do not take it
        for _, w in ipairs({ { "patch", rel, "PATCH", "/api/v1/releases/" .. r.id, { title = "x" } },
            { "post", act, "POST", "/api/v1/releases/" .. r.id .. "/actions/authorize", {} } }) do
            assert.is_true(if_match(w[1], w[2]), w[2])
            s = H.req(srv, w[3], w[4], { token = token, body = w[5], headers = { ["If-Match"] = '"v999"' } })
            assert.are.equal(412, s)
            declares(w[1], w[2], 412)
            assert.is_table(resolve(doc, op(w[1], w[2]).responses["200"].headers.ETag))
        end
        assert.is_false(if_match("post", "/api/v1/releases"))
        assert.is_false(if_match("get", rel))
        -- an action not allowed now: 409; a missing justification: 422; a body too large: 413
        assert.are.equal(409, (H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/fly", { token = token })))
        declares("post", act, 409)
        assert.are.equal(422, (H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/cancel", { token = token })))
        declares("post", act, 422)
        assert.are.equal(413, (H.req(srv, "POST", "/api/v1/releases", { token = token,
            body = '{"title":"' .. ("x"):rep(2 * 1024 * 1024) .. '"}' })))
        declares("post", "/api/v1/releases", 413)
        declares("post", act, 413)
        for _, st in ipairs({ 400, 401, 403, 404 }) do
            declares("post", act, st)
            declares("patch", rel, st)
        end

        -- login: 401 for a wrong password, 429 once rate-limited; both declared
        relm.user.set_password("admin", "openapi spec password")
        local seen = {}
        for _ = 1, 8 do
            seen[(H.req(srv, "POST", "/api/v1/login", { body = { user = "admin", password = "wrong" } }))] = true
        end
        assert.is_true(seen[401] and seen[429])
        declares("post", "/api/v1/login", 401)
        declares("post", "/api/v1/login", 429)

        -- no dead route, tags that say something, the licence by its name
        for path in pairs(doc.paths) do
            assert.matches("^/api/v1/", path)
        end
        for _, t in ipairs(doc.tags) do
            assert.are_not.equal("api", t.name)
            assert.is_nil(t.description:match("^The %S+ endpoints%.$"), t.name)
        end
        assert.are.same({ name = "MIT", identifier = "MIT" }, doc.info.license)
    end)
end)
