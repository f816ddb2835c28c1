-- pages_spec.lua: the web desktop's pages over plain HTTP (curl, a real
-- serve): a session is needed, writes need the session's CSRF field, a
-- refused action shows its dry-run reason and writes nothing, the export
-- is the REPL's, pages stay out of the OpenAPI document; the calendar draws
-- freeze windows, a release shows its conflicts and SLA, the queue counts
-- them, and logging out ends the session on the server.
local H = dofile("tests/fixtures/http_helper.lua")
local W = dofile("tests/spec/windows/helper.lua")

local PASSWORD = "correct horse battery"

local function count(t)
    return relm.sql("SELECT count(*) AS n FROM " .. t)[1].n
end

describe("web desktop pages", function()
    local srv, jar, csrf, r
    setup(function()
        relm.group.add { name = "ops" }
        relm.group.add_member("ops", "admin")
        relm.user.set_password("admin", PASSWORD)
        r = relm.release.register { title = "Patch <the> servers", workflow = "standard", executor_group = "ops" }
        srv = H.start(relm.info().db)
        jar = H.S.TMP .. "/web.jar"
        local s, _, h = H.req(srv, "POST", "/login", { jar = jar,
            body = "user=admin&password=" .. PASSWORD:gsub(" ", "+") .. "&next=/search" })
        assert.are.equal(303, s)
        assert.are.equal("/search", h.location)
        local _, page = H.req(srv, "GET", "/", { jar = jar })
        csrf = page:match('name="csrf" value="(%x+)"')
    end)
    teardown(function() H.S.stop_all() end)

    it("sends a browser without a session to the login page, and back after it", function()
        local s, _, h = H.req(srv, "GET", "/releases/" .. r.id)
        assert.are.equal(303, s)
        assert.are.equal("/login?next=%2Freleases%2F" .. r.id, h.location)
        local s2, page = H.req(srv, "GET", "/login?next=//evil.example/")
        assert.are.equal(200, s2)
        assert.is_truthy(page:find('name="next" value="/"', 1, true))
    end)

    it("escapes what users typed", function()
        local _, page = H.req(srv, "GET", "/releases/" .. r.id, { jar = jar })
        assert.is_truthy(page:find("Patch &lt;the&gt; servers", 1, true))
        assert.is_nil(page:find("Patch <the>", 1, true))
    end)

    it("refuses a form without the session's CSRF field: 403, nothing written", function()
        assert.is_truthy(csrf)
        local before = count("occurrences")
        local s = H.req(srv, "POST", "/releases/" .. r.id .. "/act/authorize", { jar = jar, body = "note=x" })
        assert.are.equal(403, s)
        local s2 = H.req(srv, "POST", "/releases/" .. r.id .. "/act/authorize",
            { jar = jar, body = "note=x&csrf=" .. ("0"):rep(64) })
        assert.are.equal(403, s2)
        assert.are.equal(before, count("occurrences"))
        assert.are.equal("registered", relm.release.get(r.id).state)
    end)

    it("shows a refused action's dry-run reason with 422 and writes nothing", function()
        local before = count("occurrences")
        local s, page = H.req(srv, "POST", "/releases/" .. r.id .. "/act/cancel",
            { jar = jar, body = "note=no&csrf=" .. csrf })
        assert.are.equal(422, s)
        assert.is_truthy(page:find("Choose a justification.", 1, true))
        assert.are.equal(before, count("occurrences"))
        -- "Try" runs the dry run only, even when the action would pass
        local s2, page2 = H.req(srv, "POST", "/releases/" .. r.id .. "/act/authorize",
            { jar = jar, body = "try=1&csrf=" .. csrf })
        assert.are.equal(200, s2)
        assert.is_truthy(page2:find("The dry run passes", 1, true))
        assert.are.equal("registered", relm.release.get(r.id).state)
        local s3, _, h3 = H.req(srv, "POST", "/releases/" .. r.id .. "/act/authorize",
            { jar = jar, body = "csrf=" .. csrf })
        assert.are.equal(303, s3)
        assert.are.equal("/releases/" .. r.id, h3.location)
        assert.are.equal("in_execution", relm.release.get(r.id).state)
    end)

    it("exports the search as the REPL does (relm.search.export)", function()
        local path = H.S.TMP .. "/repl.csv"
        relm.search.export({ status = "open" }, path)
        local _, body = H.req(srv, "GET", "/search/export.csv?status=open", { jar = jar })
        assert.are.equal(H.S.read(path), body)
        local s, json = H.req(srv, "GET", "/search/export.json?status=open", { jar = jar })
        assert.are.equal(200, s)
        assert.are.equal(r.number, json[1].number)
    end)

    it("draws the calendar with its freeze windows for the period asked", function()
        W.setup()
        relm.window.add { name = "web-freeze", kind = "blackout", starts = "2027-12-20T00:00Z",
            ends = "2028-01-03T00:00Z", scope = { services = { "web-svc" } }, reason = "year-end freeze" }
        local s, page = H.req(srv, "GET", "/calendar?from=2027-12-01&to=2028-01-31", { jar = jar })
        assert.are.equal(200, s)
        assert.is_truthy(page:find('<rect class="blackout" data-window="web-freeze"', 1, true), page)
        assert.is_truthy(page:find('name="from"[^>]*value="2027%-12%-01"'))
        -- outside the window's period: no bar, and a bad date is a clear 400
        local _, other = H.req(srv, "GET", "/calendar?from=2027-06-01&to=2027-07-01", { jar = jar })
        assert.is_nil(other:find('data-window="web-freeze"', 1, true))
        local s3, bad = H.req(srv, "GET", "/calendar?from=soon&to=2027-07-01", { jar = jar })
        assert.are.equal(400, s3)
        assert.is_truthy(bad:find("from must be a date", 1, true), bad)
    end)

    it("shows a release's conflicts with CI and path, and counts them in the queue", function()
        local c = W.release("2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z", { "db-01" },
            { workflow = "standard", executor_group = "ops" })
        local _, page = H.req(srv, "GET", "/releases/" .. c.id, { jar = jar })
        local section = page:match('<section id="conflicts">(.-)</section>')
        assert.is_truthy(section, page)
        assert.is_truthy(section:find("blackout", 1, true))
        assert.is_truthy(section:find("db-01", 1, true))
        assert.is_truthy(section:find("web-svc → app-01 → db-01", 1, true), section)
        assert.is_truthy(section:find("web-freeze", 1, true))
        local _, q = H.req(srv, "GET", "/?number=" .. c.number, { jar = jar })
        assert.is_truthy(q:find('data-conflicts="1"', 1, true), q)
    end)

    it("shows the SLA stage and time left on the release page and in the queue", function()
        local late = relm.release.register { title = "Two seconds", workflow = "standard", executor_group = "ops",
            sla_hours = 2 / 3600 }
        assert.is_truthy(H.S.wait(function() return #H.S.history(late.id, "sla.breached") == 1 end, 30),
            "serve did not breach the SLA")
        local _, page = H.req(srv, "GET", "/releases/" .. late.id, { jar = jar })
        assert.is_truthy(page:find('data-sla-stage="breached"', 1, true), page)
        local left = tonumber(page:match('data%-time%-left="(%-?%d+)"'))
        assert.is_truthy(left and left <= 0, page)
        local _, q = H.req(srv, "GET", "/?number=" .. late.number, { jar = jar })
        assert.is_truthy(q:find('<span class="sla breached">breached</span>', 1, true), q)
        -- A clock in progress reads as words, not as the identifier.
        local going = relm.release.register { title = "Plenty of time", workflow = "standard",
            executor_group = "ops", sla_hours = 100 }
        local _, p2 = H.req(srv, "GET", "/releases/" .. going.id, { jar = jar })
        assert.is_truthy(p2:find("<dd>in progress</dd>", 1, true), p2)
        local _, q2 = H.req(srv, "GET", "/?number=" .. going.number, { jar = jar })
        assert.is_truthy(q2:find('<span class="sla in_progress">in progress</span>', 1, true), q2)
        assert.is_nil(q2:find(">in_progress<", 1, true), q2)
    end)

    it("ends the session on the server at logout: a kept copy of the cookie gets 401", function()
        local jar2 = H.S.TMP .. "/web-logout.jar"
        H.req(srv, "POST", "/login", { jar = jar2, body = "user=admin&password=" .. PASSWORD:gsub(" ", "+") })
        local cookie = H.S.read(jar2):match("relm_session%s+(%S+)")
        assert.is_truthy(cookie)
        local kept = { headers = { Cookie = "relm_session=" .. cookie } }
        assert.are.equal(200, (H.req(srv, "GET", "/api/v1/releases/" .. r.id, kept)))
        local _, page = H.req(srv, "GET", "/", { jar = jar2 })
        local token = page:match('name="csrf" value="(%x+)"')
        local s, _, h = H.req(srv, "POST", "/logout", { jar = jar2, body = "csrf=" .. token })
        assert.are.equal(303, s)
        assert.are.equal("/login", h.location)
        local s2, e = H.req(srv, "GET", "/api/v1/releases/" .. r.id, kept)
        assert.are.equal(401, s2)
        assert.are.equal("unauthorized", e.code)
        assert.is_truthy(e.message:find("revoked", 1, true), e.message)
        assert.are.equal(401, (H.req(srv, "POST", "/releases/" .. r.id .. "/act/authorize",
            { headers = { Cookie = "relm_session=" .. cookie }, body = "csrf=" .. token })))
        -- the other session (jar) is still good
        assert.are.equal(200, (H.req(srv, "GET", "/", { jar = jar })))
    end)

    it("keeps pages out of the OpenAPI document", function()
        local _, doc = H.req(srv, "GET", "/api/v1/openapi.json")
        assert.is_truthy(doc.paths["/api/v1/releases/{id}"])
        assert.is_nil(doc.paths["/releases/{id}"])
        assert.is_nil(doc.paths["/login"])
    end)
end)
