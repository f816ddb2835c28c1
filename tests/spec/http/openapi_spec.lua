-- openapi_spec.lua: /api/v1/openapi.json, as served by a real serve, passes
-- a real OpenAPI 3.1 validator (@redocly/cli lint, installed by `make`
-- into build/npm/openapi), and names every route of the route table.
local H = dofile("tests/fixtures/http_helper.lua")

local LINT = (os.getenv("BUILD") or "build") .. "/npm/openapi/node_modules/.bin/redocly"

describe("the OpenAPI document", function()
    local srv
    setup(function() srv = H.start(relm.info().db) end)
    teardown(function() H.S.stop_all() end)

    it("validates with @redocly/cli lint (OpenAPI 3.1), errors and warnings both zero", function()
        if not io.open(LINT) then
            pending("@redocly/cli is not installed (make openapi-lint needs npm and a registry)")
            return
        end
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
end)
