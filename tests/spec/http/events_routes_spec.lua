-- events_routes_spec.lua: the outbox as server-sent events with
-- Last-Event-ID resume, site routes (relm.route in a route file, in the
-- sandbox, as the request's user), and the CMDB, related-item, approval,
-- search and desktop endpoints against a real serve.
local H = dofile("tests/fixtures/http_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local cjson = require "cjson"

-- The events curl reads from /api/v1/events within secs seconds: a list
-- of {id=, event=, data=}.
local function events(srv, token, secs, headers)
    local cmd = ("curl -s -N --max-time %d -H %s %s %s/api/v1/events"):format(secs, H.S.q("Authorization: Bearer "
        .. token), headers or "", srv.url)
    local p = io.popen(cmd)
    local text = p:read("a")
    p:close()
    local out = {}
    for block in text:gmatch("(.-)\n\n") do
        local id = block:match("id: (%d+)")
        if id then
            out[#out + 1] = { id = tonumber(id), event = block:match("event: ([^\n]+)"),
                data = cjson.decode(block:match("data: ([^\n]+)")) }
        end
    end
    return out, text
end

describe("HTTP events, site routes and the other endpoints", function()
    local srv, bob, carol, routes
    setup(function()
        R.setup()
        routes = H.S.TMP .. "/routes"
        os.execute("mkdir -p " .. H.S.q(routes))
        H.write(routes .. "/site.lua", [[
relm.route("GET", "/api/v1/site/whoami/{id}", function(req, params)
    return 200, { user = relm.whoami(), id = params.id, title = relm.release.get(tonumber(params.id)).title }
end)
relm.route("POST", "/api/v1/site/touch/{id}", function(req, params)
    relm.release.update(tonumber(params.id), { description = "touched by " .. req.user })
    return 200, { ok = true }
end)
relm.route("GET", "/api/v1/site/spin", function() while true do end end)
relm.route("GET", "/api/v1/site/io", function()
    local ok, v = pcall(function() return io end)
    return 200, { io = ok and v ~= nil }
end)
]])
        srv = H.start(relm.info().db, "--routes " .. H.S.q(routes))
        bob, carol = H.token("bob"), H.token("carol")
    end)
    teardown(function() H.S.stop_all() end)

    it("streams the outbox as server-sent events and resumes after Last-Event-ID", function()
        local r1 = R.release { title = "First" }
        local r2 = R.release { title = "Second" }
        local got = events(srv, bob, 2)
        assert.is_true(#got >= 2)
        for _, e in ipairs(got) do
            assert.are.equal(e.id, e.data.id)
            assert.are.equal(e.event, e.data.event)
        end
        local last = got[#got]
        assert.are.equal(r2.number, last.data.release.number)
        assert.are.equal(relm.sql("SELECT max(id) AS n FROM outbox")[1].n, last.id)
        -- resume: only what came after the id given
        local prev = got[#got - 1].id
        local again = events(srv, bob, 2, "-H 'Last-Event-ID: " .. prev .. "'")
        assert.are.equal(1, #again)
        assert.are.equal(last.id, again[1].id)
        assert.is_truthy(r1.id)
        -- a stream sees events committed while it is open
        local p = io.popen(("sleep 1; %s --db %s -e %s"):format(H.S.q(H.S.BIN), H.S.q(relm.info().db),
            H.S.q("relm.justification.add{description='x', suspend=true}")))
        local live = events(srv, bob, 1, "-H 'Last-Event-ID: " .. last.id .. "'")
        p:close()
        assert.are.same({}, live) -- a justification is not an event; nothing invented
        local r3 = R.release { title = "Third" }
        local after = events(srv, bob, 2, "-H 'Last-Event-ID: " .. last.id .. "'")
        assert.are.equal(r3.number, after[#after].data.release.number)
        local s, b = H.req(srv, "GET", "/api/v1/events", { token = bob, headers = { ["Last-Event-ID"] = "x'1" } })
        assert.are.equal(400, s)
        assert.are.equal("invalid_argument", b.code)
    end)

    it("runs a site route as the request's user, in the sandbox, listed in the OpenAPI document", function()
        local r = R.release { title = "Site" }
        local s, b = H.req(srv, "GET", "/api/v1/site/whoami/" .. r.id, { token = bob })
        assert.are.equal(200, s, cjson.encode(b))
        assert.are.same({ user = "bob", id = tostring(r.id), title = "Site" }, b)
        -- carol may not write through a site route either: the core checks
        local s2, b2 = H.req(srv, "POST", "/api/v1/site/touch/" .. r.id, { token = carol, body = {} })
        assert.are.equal(403, s2)
        assert.are.equal("permission_denied", b2.code)
        local s3 = H.req(srv, "POST", "/api/v1/site/touch/" .. r.id, { token = bob, body = {} })
        assert.are.equal(200, s3)
        assert.are.equal("touched by bob", relm.release.get(r.id).description)
        -- the sandbox: no io, and a loop is stopped by the time limit
        local _, io_b = H.req(srv, "GET", "/api/v1/site/io", { token = bob })
        assert.is_false(io_b.io)
        local s4, b4 = H.req(srv, "GET", "/api/v1/site/spin", { token = bob })
        assert.are.equal(500, s4)
        assert.are.equal("sandbox", b4.code)
        assert.is_truthy(b4.message:find("time limit", 1, true))
        assert.are.equal(200, (H.req(srv, "GET", "/api/v1/site/whoami/" .. r.id, { token = bob })))
        local _, doc = H.req(srv, "GET", "/api/v1/openapi.json")
        assert.is_table(doc.paths["/api/v1/site/whoami/{id}"].get)
    end)

    it("relates a CI, shows release impact and CI impact with paths, history, search pages and the desktop",
        function()
            relm.cmdb.define_type { name = "server", attributes = {} }
            relm.cmdb.define_type { name = "application", attributes = {} }
            relm.cmdb.add { type = "server", name = "web01" }
            relm.cmdb.add { type = "application", name = "shop" }
            relm.cmdb.relate("shop", "runs_on", "web01")
            local admin = H.token("admin")
            local r = R.release { title = "Patch web01" }
            local s, b = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/related", { token = bob,
                body = { kind = "ci", target = "web01" } })
            assert.are.equal(201, s, cjson.encode(b))
            local _, rel = H.req(srv, "GET", "/api/v1/releases/" .. r.id .. "/related", { token = bob })
            assert.is_truthy(cjson.encode(rel):find("web01", 1, true))
            local si, imp = H.req(srv, "GET", "/api/v1/cmdb/cis/web01/impact?direction=up", { token = bob })
            assert.are.equal(200, si)
            assert.are.equal("shop", imp[1].name)
            assert.is_truthy(cjson.encode(imp[1]):find("web01", 1, true)) -- the path back to web01
            local sr, rimp = H.req(srv, "GET", "/api/v1/releases/" .. r.id .. "/impact", { token = bob })
            assert.are.equal(200, sr)
            assert.is_truthy(cjson.encode(rimp):find("shop", 1, true))
            local sc = H.req(srv, "POST", "/api/v1/cmdb/relationships", { token = bob,
                body = { from = "shop", kind = "depends_on", to = "web01" } })
            assert.are.equal(403, sc) -- bob has no cmdb permission
            local sh, hist = H.req(srv, "GET", "/api/v1/cmdb/cis/web01/history", { token = admin })
            assert.are.equal(200, sh)
            assert.is_true(#hist >= 1)
            -- search with cursor pages: every release once
            local seen, cursor, pages = {}, nil, 0
            repeat
                local ss, page = H.req(srv, "GET", "/api/v1/search/releases?limit=2"
                    .. (cursor and ("&cursor=" .. cursor) or ""), { token = bob })
                assert.are.equal(200, ss)
                for _, it in ipairs(page.items) do
                    assert.is_nil(seen[it.number])
                    seen[it.number] = true
                end
                cursor, pages = page.next_cursor, pages + 1
            until cursor == nil or pages > 50
            local n = relm.sql("SELECT count(*) AS n FROM releases")[1].n
            local count = 0
            for _ in pairs(seen) do count = count + 1 end
            assert.are.equal(n, count)
            local sd, desk = H.req(srv, "GET", "/api/v1/desktop", { token = bob })
            assert.are.equal(200, sd)
            assert.is_table(desk.items)
            assert.is_table(desk.counts)
            local sa, audit = H.req(srv, "GET", "/api/v1/audit/verify", { token = bob })
            assert.are.equal(200, sa)
            assert.is_true(audit.ok)
            -- an activity added and moved on the board; the catalogues a form needs
            local sa2, act = H.req(srv, "POST", "/api/v1/releases/" .. r.id .. "/activities", { token = bob,
                body = { title = "Patch web01", phase = "deployment", group = "ops" } })
            assert.are.equal(201, sa2, cjson.encode(act))
            local sm, moved = H.req(srv, "POST", "/api/v1/activities/" .. math.tointeger(act.id) .. "/move",
                { token = bob, body = { column = "in_progress" } })
            assert.are.equal(200, sm, cjson.encode(moved))
            assert.are.equal("in_progress", relm.activity.get(math.tointeger(act.id)).status)
            local sj, just = H.req(srv, "GET", "/api/v1/justifications?use=suspend", { token = bob })
            assert.are.equal(200, sj)
            assert.is_truthy(cjson.encode(just):find("Waiting for the vendor", 1, true))
            local spf, pf = H.req(srv, "GET", "/api/v1/portfolios", { token = bob })
            assert.are.equal(200, spf)
            assert.is_table(pf)
            local sp, pending = H.req(srv, "GET", "/api/v1/approvals/pending", { token = bob })
            assert.are.equal(200, sp)
            assert.is_table(pending)
        end)

    it("stops on SIGTERM with exit 0 while an event stream is open", function()
        local out = H.S.TMP .. "/open-stream.txt"
        os.execute(("curl -s -N --max-time 20 -H %s %s/api/v1/events > %s 2>&1 &"):format(
            H.S.q("Authorization: Bearer " .. bob), srv.url, H.S.q(out)))
        assert.is_truthy(H.S.wait(function() return (H.S.read(out) or ""):find("retry:", 1, true) end, 10))
        assert.are.equal(0, H.S.kill(srv, "TERM"))
        assert.is_truthy((H.S.read(srv.log) or ""):find("stopped", 1, true))
    end)
end)
