-- status_line_spec.lua: what `relm serve --listen` writes on the wire
-- before the body: each status with its own reason phrase (303 See
-- Other, not "303 OK"), and a content type only on a response that has a
-- body (a redirect carries none, so it claims no JSON).
local H = dofile("tests/fixtures/http_helper.lua")

-- The status line and the headers (lower-case names) of one request,
-- straight from curl -i: H.req parses the headers but drops the status line.
local function head(srv, method, path, args)
    local p = assert(io.popen("curl -s -i -o /dev/null -D - -X " .. method .. " " .. (args or "") .. " "
        .. H.S.q(srv.url .. path)))
    local text = p:read("a")
    p:close()
    local status_line = text:match("^(HTTP/[%d.]+ [^\r\n]*)")
    local headers = {}
    for line in text:gmatch("[^\r\n]+") do
        local k, v = line:match("^([^:]+):%s*(.*)$")
        if k then
            headers[k:lower()] = v
        end
    end
    return status_line, headers
end

describe("HTTP status lines", function()
    local srv, token
    local PASSWORD = "status line pass 1"
    setup(function()
        relm.user.set_password("admin", PASSWORD)
        token = H.token("admin")
        srv = H.start(relm.info().db)
    end)
    teardown(function() H.S.stop_all() end)

    it("sends 303 See Other with no content type for the redirects of GET / and POST /login", function()
        local line, h = head(srv, "GET", "/")
        assert.are.equal("HTTP/1.1 303 See Other", line)
        assert.is_nil(h["content-type"])
        assert.matches("^/login", h.location)
        line, h = head(srv, "POST", "/login",
            "-H 'Content-Type: application/x-www-form-urlencoded' --data-binary "
            .. H.S.q("user=admin&password=" .. PASSWORD:gsub(" ", "+")))
        assert.are.equal("HTTP/1.1 303 See Other", line)
        assert.is_nil(h["content-type"])
        assert.are.equal("/", h.location)
        assert.matches("^relm_session=", h["set-cookie"])
    end)

    it("names every status with its own reason phrase, JSON bodies still typed", function()
        local auth = "-H " .. H.S.q("Authorization: Bearer " .. token)
        local json = "-H 'Content-Type: application/json' "
        local r = relm.release.register { title = "Status lines" }
        local cases = {
            { "200 OK", "GET", "/api/v1/me", auth },
            { "201 Created", "POST", "/api/v1/releases", auth .. " " .. json .. "--data-binary '{\"title\":\"x\"}'" },
            { "400 Bad Request", "POST", "/api/v1/releases", auth .. " " .. json .. "--data-binary '{'" },
            { "401 Unauthorized", "GET", "/api/v1/me" },
            { "404 Not Found", "GET", "/api/v1/nothing-here", auth },
            { "405 Method Not Allowed", "DELETE", "/api/v1/me", auth },
            { "409 Conflict", "POST", "/api/v1/releases/" .. r.id .. "/actions/fly", auth },
            { "412 Precondition Failed", "POST", "/api/v1/releases/" .. r.id .. "/actions/authorize",
                auth .. " -H 'If-Match: \"v999\"'" },
        }
        for _, c in ipairs(cases) do
            local line, h = head(srv, c[2], c[3], c[4])
            assert.are.equal("HTTP/1.1 " .. c[1], line, c[2] .. " " .. c[3])
            assert.are.equal("application/json", h["content-type"], c[2] .. " " .. c[3])
        end
        -- HEAD answers with the headers its GET would have
        local line, h = head(srv, "HEAD", "/api/v1/me", auth .. " -I")
        assert.are.equal("HTTP/1.1 200 OK", line)
        assert.are.equal("application/json", h["content-type"])
    end)
end)
