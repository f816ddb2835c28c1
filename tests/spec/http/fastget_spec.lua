-- fastget_spec.lua: `GET /api/v1/releases/{id}` answered in C (core/http/
-- fastget.c) gives the same document and ETag as the Lua path, and refuses
-- a token at once once it is revoked, expired or its user disabled.
local cjson = require "cjson"
local H = dofile("tests/fixtures/http_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

-- The C path writes the snapshot's keys in the view's order (id first)
-- and the clock's last; the Lua path writes them in its hash order. So a
-- body of this shape shows the C path answered.
local function from_c(raw)
    return raw:match('^{"id":') ~= nil and raw:match(',"elapsed":%-?%d+[^{}]*"overdue":%a+}$') ~= nil
end

-- The document without the SLA clock's fields, which tick between two
-- requests made a second apart (they are compared separately).
local function still(doc)
    local out = {}
    for k, v in pairs(doc) do
        out[k] = v
    end
    out.elapsed, out.time_left = nil, nil
    return out
end

describe("GET /api/v1/releases/{id} in C", function()
    local srv, bob
    setup(function()
        R.setup()
        srv = H.start(relm.info().db)
        bob = H.token("bob")
    end)
    teardown(function() H.S.stop_all() end)

    -- Both paths' answers for path: status, document, headers, raw body.
    -- The route reads no query parameter; a query sends it to Lua.
    local function both(path, token)
        local s1, c, h1, raw = H.req(srv, "GET", path, { token = token or bob })
        local s2, l, h2, lraw = H.req(srv, "GET", path .. "?via=lua", { token = token or bob })
        return { s1, c, h1, raw }, { s2, l, h2, lraw }
    end

    it("gives the Lua path's document, types and ETag, for releases of every shape", function()
        local cases = {
            R.release(),
            R.release { title = "Bärbel’s 🚀 rollout \"quoted\" / slashed \\ back",
                description = "two\nlines\tand a tab" },
            R.release { title = "日本語のリリース", test_result = "pass ✓", version = "1.2.3" },
            R.release { title = "No description, no version" },
            -- the workflow's own field of each kind a release can hold
            R.release { test_result = true },
            R.release { test_result = false },
            R.release { test_result = 42 },
            R.release { test_result = 1.5 },
            R.release { test_result = 123456789012345678 },
        }
        -- one moved on, one closed off the clock, one suspended (Lua answers)
        relm.release.act(cases[3].id, "authorize")
        local j = R.setup()
        local susp = R.release { title = "Waiting" }
        relm.release.suspend(susp.id, { justification = j.suspend })
        cases[#cases + 1] = susp
        local cancelled = R.release { title = "Called off" }
        relm.release.act(cancelled.id, "cancel", { justification = j.cancel })
        cases[#cases + 1] = cancelled
        local fast = 0
        for _, r in ipairs(cases) do
            for _, path in ipairs({ "/api/v1/releases/" .. r.id, "/api/v1/releases/" .. r.number }) do
                local c, l = both(path)
                assert.are.equal(200, c[1], c[4])
                assert.are.equal(200, l[1], l[4])
                if from_c(c[4]) then
                    fast = fast + 1
                end
                assert.are.same(still(l[2]), still(c[2]))
                -- the clock agrees to the second the two requests were apart
                assert.is_true(math.abs(c[2].elapsed - l[2].elapsed) <= 2, c[4] .. "\n" .. l[4])
                assert.are.equal(l[2].time_left == nil, c[2].time_left == nil)
                assert.are.equal(l[3].etag, c[3].etag)
                assert.are.equal(('"v%d"'):format(relm.release.get(r.id).row_version), c[3].etag)
                assert.are.equal(l[3]["content-type"], c[3]["content-type"])
                -- a JSON text the engine's own decoder reads the same way
                assert.are.same(cjson.decode(l[4]).extra, cjson.decode(c[4]).extra)
            end
        end
        -- all but the suspended one and the two numbers JSON writes
        -- differently (and only with the fast path) from C
        assert.are.equal(2 * (#cases - 3), fast)
    end)

    it("answers a changed release at once, whoever changed it", function()
        local r = R.release { title = "Before" }
        local _, got = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = bob })
        assert.are.equal("Before", got.title)
        -- this process (another connection) writes
        relm.release.update(r.id, { title = "After" })
        local _, now, h, raw = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = bob })
        assert.is_true(from_c(raw))
        assert.are.equal("After", now.title)
        assert.are.equal(('"v%d"'):format(relm.release.get(r.id).row_version), h.etag)
        -- the server's own connection writes
        local sp = H.req(srv, "PATCH", "/api/v1/releases/" .. r.id, { token = bob, body = { title = "Patched" } })
        assert.are.equal(200, sp)
        local _, again = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = bob })
        assert.are.equal("Patched", again.title)
    end)

    it("refuses a token revoked, expired or of a disabled user on the next request", function()
        local r = R.release()
        local path = "/api/v1/releases/" .. r.id
        local token, id = relm.token.create { user = "bob", name = "soon revoked" }
        assert.are.equal(200, (H.req(srv, "GET", path, { token = token })))
        relm.token.revoke(id)
        local s, body = H.req(srv, "GET", path, { token = token })
        assert.are.equal(401, s)
        assert.are.equal("unauthorized", body.code)

        relm.user.add { name = "erin" }
        local erin = H.token("erin")
        assert.are.equal(200, (H.req(srv, "GET", path, { token = erin })))
        relm.user.set_active("erin", false)
        assert.are.equal(401, (H.req(srv, "GET", path, { token = erin })))

        local brief = H.token("bob", { expires = os.time() + 2 })
        assert.are.equal(200, (H.req(srv, "GET", path, { token = brief })))
        os.execute("sleep 3")
        local se, be = H.req(srv, "GET", path, { token = brief })
        assert.are.equal(401, se)
        assert.is_truthy(be.message:find("expired", 1, true))
    end)

    it("leaves errors and everything else to the Lua path", function()
        local s, body = H.req(srv, "GET", "/api/v1/releases/999999", { token = bob })
        assert.are.equal(404, s)
        assert.are.equal("not_found", body.code)
        s, body = H.req(srv, "GET", "/api/v1/releases/1", { token = "relm_nonsense" })
        assert.are.equal(401, s)
        assert.are.equal("unauthorized", body.code)
        local s3, _, h = H.req(srv, "GET", "/api/v1/releases/1")
        assert.are.equal(401, s3)
        assert.are.equal("Bearer", h["www-authenticate"])
        assert.is_nil(h.etag)
    end)
end)
