-- attacks_load_spec.lua: the attacks of issue 12 that attacks_spec.lua
-- leaves out, against a real `relm serve --listen`: many slowloris clients
-- at once (headers and bodies) while others are served, a chunked body
-- over the limit, and NUL bytes in every query parameter and every body
-- field of every route of the OpenAPI document. Each gets a 4xx or its
-- connection closed, nothing is written, and the server goes on serving.
local H = dofile("tests/fixtures/http_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local cjson = require "cjson"

local function counts()
    local c = R.counts()
    c.tokens = relm.sql("SELECT count(*) AS n FROM tokens")[1].n
    c.occurrences = relm.sql("SELECT count(*) AS n FROM occurrences")[1].n
    return c
end

describe("HTTP attacks under load", function()
    local srv, bob, admin, r, port
    setup(function()
        R.setup()
        relm.notify.set { http_header_timeout_seconds = 1, http_max_body_bytes = 65536 }
        srv = H.start(relm.info().db)
        port = srv.url:match(":(%d+)$")
        bob = H.token("bob")
        admin = H.token("admin")
        r = R.release()
    end)
    teardown(function() H.S.stop_all() end)

    local function still_serving()
        local s, got = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = bob })
        assert.are.equal(200, s)
        assert.are.equal(r.number, got.number)
    end

    for _, mode in ipairs({ "headers", "body" }) do
        it("closes 30 slowloris clients trickling their " .. mode .. " and serves others meanwhile", function()
            local before = counts()
            local p = io.popen("python3 tests/fixtures/http_slow.py " .. port .. " " .. mode .. " 30")
            -- while the 30 hold their connections, ordinary requests are answered
            for _ = 1, 5 do
                still_serving()
            end
            local out = p:read("a")
            p:close()
            local n = 0
            for state, secs in out:gmatch("(%a+) ([%d.]+)") do
                n = n + 1
                assert.are.equal("closed", state, out)
                -- the header timeout is 1 s: closed long before the 18 s of trickle
                assert.is_true(tonumber(secs) < 10, out)
            end
            assert.are.equal(30, n, out)
            assert.are.same(before, counts())
            still_serving()
        end)
    end

    it("answers a chunked body over the limit (no Content-Length) with 413, nothing written", function()
        local before = counts()
        local p = io.popen("python3 tests/fixtures/http_slow.py " .. port .. " chunked " .. bob)
        local line = p:read("a")
        p:close()
        assert.truthy(line:match("^HTTP/1%.1 413"), line)
        assert.are.same(before, counts())
        still_serving()
    end)

    it("refuses a NUL byte in every query parameter and every body field of every route, nothing written", function()
        local before = counts()
        local _, doc = H.req(srv, "GET", "/api/v1/openapi.json", {})
        local tried = 0
        for path, item in pairs(doc.paths) do
            for method, op in pairs(item) do
                local url = path:gsub("{[%w_]+}", tostring(r.id))
                if path ~= "/api/v1/events" and type(op) == "table" then
                    for _, prm in ipairs(op.parameters or {}) do
                        if prm["in"] == "query" then
                            local s, b = H.req(srv, method:upper(), url .. "?" .. prm.name .. "=a%00b",
                                { token = admin, raw = true })
                            assert.are.equal(400, s, method .. " " .. url .. " ?" .. prm.name)
                            assert.are.equal("invalid_argument", b.code)
                            tried = tried + 1
                        end
                    end
                    local schema = op.requestBody and op.requestBody.content["application/json"].schema
                    local fields = {}
                    for name in pairs(schema and schema.properties or {}) do
                        fields[name] = true
                    end
                    -- routes whose body is any object: the fields releases and the CMDB take
                    if schema and not schema.properties then
                        for _, name in ipairs({ "workflow", "title", "name", "type", "kind", "target", "note" }) do
                            fields[name] = true
                        end
                    end
                    for name in pairs(fields) do
                        -- JSON strings with an escaped NUL: text that would be cut short
                        -- (a workflow named "\0" once read the workflow directory: 500)
                        for _, v in ipairs({ '"a\\u0000b"', '"\\u0000"' }) do
                            local body = '{' .. cjson.encode(name) .. ': ' .. v .. '}'
                            local s, b = H.req(srv, method:upper(), url, { token = admin, body = body })
                            assert.is_true(s >= 400 and s < 500,
                                method .. " " .. url .. " " .. body .. " -> " .. tostring(s) .. " " .. cjson.encode(b))
                            assert.is_string(b.code)
                            tried = tried + 1
                        end
                    end
                end
            end
        end
        -- the route table shrinking would make this test weak
        assert.is_true(tried >= 40, "tried " .. tried)
        assert.are.same(before, counts())
        still_serving()
    end)
end)
