-- conflicts_spec.lua: the freeze-window routes of the HTTP API: a release's
-- conflicts with their CI and path, the calendar between two dates, and
-- `authorize` refused during a blackout (409, the path in the message,
-- nothing written), its dry run reporting the same reason.
local H = dofile("tests/fixtures/http_helper.lua")
local W = dofile("tests/spec/windows/helper.lua")

describe("the HTTP API and freeze windows", function()
    local srv, admin, r
    setup(function()
        W.setup()
        relm.window.add { name = "api-freeze", kind = "blackout", starts = "2027-12-20T00:00Z",
            ends = "2028-01-03T00:00Z", scope = { services = { "web-svc" } }, reason = "year-end freeze" }
        r = W.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-01" })
        srv = H.start(relm.info().db)
        admin = H.token("admin")
    end)
    teardown(function() H.S.stop_all() end)

    it("lists a release's conflicts with the CI and the path through the graph", function()
        local s, list = H.req(srv, "GET", "/api/v1/releases/" .. r.id .. "/conflicts", { token = admin })
        assert.are.equal(200, s, require("cjson").encode(list))
        assert.are.equal(1, #list)
        assert.are.equal("blackout", list[1].kind)
        assert.are.equal("db-01", list[1].ci)
        assert.are.equal("api-freeze", list[1].window)
        local path = type(list[1].path) == "table" and table.concat(list[1].path, " → ") or list[1].path
        assert.are.equal("web-svc → app-01 → db-01", path)
        local s404, e = H.req(srv, "GET", "/api/v1/releases/999999/conflicts", { token = admin })
        assert.are.equal(404, s404)
        assert.are.equal("not_found", e.code)
    end)

    it("gives the calendar of releases and window occurrences between from and to", function()
        local s, rows = H.req(srv, "GET", "/api/v1/calendar?from=2027-12-01&to=2028-01-31", { token = admin })
        assert.are.equal(200, s, require("cjson").encode(rows))
        local seen = {}
        for _, row in ipairs(rows) do
            seen[row.kind .. ":" .. row.name] = row
        end
        assert.is_truthy(seen["blackout:api-freeze"])
        assert.are.equal(1, seen["release:" .. r.number].conflicts)
        local sb, e = H.req(srv, "GET", "/api/v1/calendar?from=2028-01-31&to=2027-12-01", { token = admin })
        assert.are.equal(400, sb)
        assert.are.equal("invalid_argument", e.code)
    end)

    it("refuses authorize during the blackout with 409 and the path, nothing written; dry run says the same",
        function()
            local before = #relm.release.history(r.id)
            local sd, report = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/authorize",
                { token = admin, body = { dry_run = true } })
            assert.are.equal(200, sd, require("cjson").encode(report))
            assert.is_false(report.allowed)
            assert.are.equal("not_allowed", report.code)
            assert.is_truthy(report.reason:find("web-svc → app-01 → db-01", 1, true), report.reason)
            local s, e = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/actions/authorize",
                { token = admin, body = {} })
            assert.are.equal(409, s, require("cjson").encode(e))
            assert.are.equal("not_allowed", e.code)
            -- the dry run said exactly what the real request was refused with
            assert.are.equal(e.message, report.reason)
            assert.is_truthy(e.message:find("web-svc → app-01 → db-01", 1, true), e.message)
            assert.is_truthy(e.message:find("api-freeze", 1, true), e.message)
            assert.are.equal("registered", relm.release.get(r.id).state)
            assert.are.equal(before, #relm.release.history(r.id))
        end)

    it("declares both routes in the OpenAPI document", function()
        local _, doc = H.req(srv, "GET", "/api/v1/openapi.json")
        assert.is_truthy(doc.paths["/api/v1/releases/{id}/conflicts"].get)
        assert.is_truthy(doc.paths["/api/v1/calendar"].get)
    end)
end)
