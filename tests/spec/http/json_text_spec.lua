-- json_text_spec.lua: the JSON relm writes (the HTTP API, relm.export,
-- --mode json) keeps '/' as it is, as the
-- docs show it ("/api/v1/login", "workflows/rules/cab.lua:9"), and still
-- reads back to the very text it was given, backslashes included.
local H = dofile("tests/fixtures/http_helper.lua")
local CLI = dofile("tests/fixtures/cli_helper.lua")
local cjson = require "cjson"

-- A text with slashes next to backslashes: the escaping must not mix them up.
local TRICKY = [[a/b \/ c\\/d \ e/]]

describe("JSON text", function()
    local srv, token
    setup(function()
        token = H.token("admin")
        srv = H.start(relm.info().db)
    end)
    teardown(function() H.S.stop_all() end)

    it("is served by the HTTP API with slashes unescaped", function()
        local s, doc, _, raw = H.req(srv, "GET", "/api/v1/openapi.json")
        assert.are.equal(200, s)
        assert.is_truthy(raw:find('"/api/v1/login"', 1, true))
        assert.is_nil(raw:find("\\/", 1, true))
        assert.is_table(doc.paths["/api/v1/login"])
        local r = relm.release.register { title = TRICKY }
        local s2, body, _, raw2 = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = token })
        assert.are.equal(200, s2)
        assert.are.equal(TRICKY, body.title)
        -- each backslash doubled, each slash alone
        assert.is_truthy(raw2:find([["a/b \\/ c\\\\/d \\ e/"]], 1, true), raw2)
        -- an error message naming a path
        local s3, _, _, raw3 = H.req(srv, "GET", "/api/v1/no/such/route", { token = token })
        assert.are.equal(404, s3)
        assert.is_truthy(raw3:find("/api/v1/no/such/route", 1, true), raw3)
    end)

    it("is written by relm.export and --mode json with slashes unescaped", function()
        local file = CLI.TMP .. "/slashes.json"
        relm.export({ { path = "workflows/rules/cab.lua:9", tricky = TRICKY } }, file)
        local text = CLI.read(file)
        assert.is_truthy(text:find('"workflows/rules/cab.lua:9"', 1, true), text)
        assert.are.equal(TRICKY, cjson.decode(text)[1].tricky)
        local dir = CLI.fresh_dir("json_slash")
        local out = CLI.output(dir, "--mode json -e " .. CLI.q("relm.sql([[SELECT 'a/b' AS p, ?1 AS t]], "
            .. ("%q"):format(TRICKY) .. ")"))
        assert.is_truthy(out:find('"p":"a/b"', 1, true), out)
        assert.are.equal(TRICKY, cjson.decode(out)[1].t)
    end)
end)
