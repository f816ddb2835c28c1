-- attacks_spec.lua: bad input against a real `relm serve --listen`:
-- malformed JSON, huge bodies, slow headers, path traversal, SQL
-- metacharacters and NUL bytes in every parameter. Each gets a clear 4xx,
-- nothing is written, and the server goes on serving.
local H = dofile("tests/fixtures/http_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

-- Everything a request could have written, counted.
local function counts()
    local c = R.counts()
    c.cis = relm.sql("SELECT count(*) AS n FROM cis")[1].n
    c.tokens = relm.sql("SELECT count(*) AS n FROM tokens")[1].n
    c.tables = relm.sql("SELECT count(*) AS n FROM sqlite_schema")[1].n
    return c
end

describe("HTTP bad input", function()
    local srv, bob, r
    setup(function()
        R.setup()
        relm.notify.set { http_header_timeout_seconds = 1, http_max_body_bytes = 4096 }
        srv = H.start(relm.info().db)
        bob = H.token("bob")
        r = R.release()
    end)
    teardown(function() H.S.stop_all() end)

    local function still_serving()
        local s, got = H.req(srv, "GET", "/api/v1/releases/" .. r.id, { token = bob })
        assert.are.equal(200, s)
        assert.are.equal(r.number, got.number)
    end

    it("answers malformed JSON and a body that is not an object with 400, nothing written", function()
        local before = counts()
        local bad = { "{", "{\"title\": }", "[1,2]", "\"text\"", "{\"title\":\"x\"} trailing", "nul\0l" }
        for _, body in ipairs(bad) do
            local s, b = H.req(srv, "POST", "/api/v1/releases", { token = bob, body = body })
            assert.are.equal(400, s, body)
            assert.are.equal("malformed_json", b.code, body)
        end
        assert.are.same(before, counts())
        still_serving()
    end)

    it("answers a body over the limit with 413, nothing written", function()
        local before = counts()
        local s = H.req(srv, "POST", "/api/v1/releases", { token = bob,
            body = { workflow = R.WF, title = ("x"):rep(10000), executor_group = "ops" } })
        assert.are.equal(413, s)
        assert.are.same(before, counts())
        still_serving()
    end)

    it("closes a connection whose headers do not arrive in time (slowloris)", function()
        -- half a request's headers, then nothing: serve must hang up
        local cmd = ("timeout 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s; "
            .. "printf \"GET /api/v1/me HTTP/1.1\\r\\nX-Slow: 1\\r\\n\" >&3; "
            .. "cat <&3 > /dev/null; echo closed'"):format(srv.url:match(":(%d+)$"))
        local p = io.popen(cmd)
        local out = p:read("a")
        p:close()
        assert.are.equal("closed\n", out)
        still_serving()
    end)

    it("refuses path traversal and encoded dots in paths with a 4xx", function()
        for _, path in ipairs({ "/api/v1/../../etc/passwd", "/api/v1/%2e%2e/%2e%2e/etc/passwd",
            "/../../../etc/passwd", "/api/v1/releases/..%2f..%2fetc%2fpasswd" }) do
            local s, _, _, raw = H.req(srv, "GET", path, { token = bob, raw = true })
            assert.is_true(s >= 400 and s < 500, path .. " -> " .. tostring(s))
            assert.is_nil(raw:find("root:", 1, true), path)
        end
        still_serving()
    end)

    it("answers SQL metacharacters and NUL bytes in every parameter with a 4xx, nothing written", function()
        local before = counts()
        local evil = { "1'--", "1;%20DROP%20TABLE%20releases", "'%20OR%20'1'='1", "%00", "1%00", "x%00y",
            "%27%3B", "\"", "%22)" }
        local routes = require("relm.http").routes
        local tried = 0
        for _, route in ipairs(routes) do
            if route[2]:find("{", 1, true) and route.auth ~= false and route[2] ~= "/api/v1/events" then
                for _, e in ipairs(evil) do
                    local path = route[2]:gsub("{[%w_]+}", function() return e end)
                    local body = route[1] ~= "GET" and route[1] ~= "DELETE" and { title = e, name = e } or nil
                    local s, b = H.req(srv, route[1], path, { token = bob, body = body, raw = true })
                    assert.is_true(s >= 400 and s < 500, route[1] .. " " .. path .. " -> " .. tostring(s)
                        .. " " .. require("cjson").encode(b))
                    assert.is_string(b.code)
                    tried = tried + 1
                end
            end
        end
        for _, q in ipairs({ "text=%27%20OR%201%3D1", "text=%00", "status=%27", "limit=1%27", "cursor=%27",
            "number=*%27*", "priority=1%20OR%201" }) do
            local s = H.req(srv, "GET", "/api/v1/search/releases?" .. q, { token = bob })
            assert.is_true(s == 200 or (s >= 400 and s < 500), q .. " -> " .. tostring(s))
            tried = tried + 1
        end
        assert.is_true(tried > 50)
        assert.are.same(before, counts())
        still_serving()
    end)
end)

describe("HTTP static files", function()
    local srv, root
    setup(function()
        local CLI = dofile("tests/fixtures/cli_helper.lua")
        root = CLI.fresh_dir("web")
        local q = CLI.q
        -- a directory of files relm must not serve (it serves none from
        -- disk), named where an old build looked for them
        assert(os.execute(table.concat({
            "mkdir -p " .. q(root .. "/assets/css"),
            "echo 'body{}' > " .. q(root .. "/assets/css/a.css"),
            "echo secret > " .. q(root .. "/secret.txt"),
            "ln -s /etc/passwd " .. q(root .. "/assets/passwd"),
        }, " && ")))
        srv = H.start(relm.info().db, nil, "RELM_WEB_ROOT=" .. CLI.q(root))
    end)
    teardown(function() H.S.stop_all() end)

    it("serves the desktop's stylesheet and script from the engine and no file from disk, however the path is spelt",
        function()
            local s, _, h, raw = H.req(srv, "GET", "/web/app.css")
            assert.are.equal(200, s)
            assert.are.equal(require("relm.web_assets").css, raw)
            assert.are.equal("text/css; charset=utf-8", h["content-type"])
            assert.are.equal(200, (H.req(srv, "GET", "/web/app.js")))
            for _, path in ipairs({ "/assets/css/a.css", "/assets/passwd", "/web/../secret.txt",
                "/web/%2e%2e/secret.txt", "/web/..%2fsecret.txt", "/web/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "/web/app.css%00.png", "/web//etc/passwd", "/web/%5c..%5csecret.txt", "/secret.txt" }) do
                local st, _, _, body = H.req(srv, "GET", path, { raw = true })
                assert.is_true(st == 400 or st == 404, path .. " -> " .. tostring(st))
                assert.is_nil(body:find("^secret"), path) -- the file itself, not a message naming it
                assert.is_nil(body:find("root:", 1, true), path)
                assert.is_nil(body:find("body{}", 1, true), path)
            end
        end)
end)
