-- tls_spec.lua: `relm serve --listen ... --tls-cert --tls-key` speaks HTTPS
-- (OpenSSL through H2O) with a self-signed certificate made by openssl(1).
local H = dofile("tests/fixtures/http_helper.lua")

describe("relm serve --listen with TLS", function()
    local dir
    setup(function()
        dir = dofile("tests/fixtures/cli_helper.lua").fresh_dir("tls")
        assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
            .. "-keyout %s -out %s > /dev/null 2>&1"):format(H.S.q(dir .. "/key.pem"), H.S.q(dir .. "/cert.pem"))))
    end)
    after_each(function() H.S.stop_all() end)

    it("answers over HTTPS, and plain HTTP on that port gets no answer", function()
        local srv = H.start(relm.info().db, ("--tls-cert %s --tls-key %s"):format(H.S.q(dir .. "/cert.pem"),
            H.S.q(dir .. "/key.pem")))
        assert.matches("^https://", srv.url)
        local token = H.token("admin")
        local s, me = H.req(srv, "GET", "/api/v1/me", { token = token, insecure = true })
        assert.are.equal(200, s)
        assert.are.equal("admin", me.user)
        local plain = { url = srv.url:gsub("^https", "http") }
        local s2 = H.req(plain, "GET", "/api/v1/me", { token = token })
        assert.are_not.equal(200, s2)
    end)

    it("refuses to start with a key that is not the certificate's, naming the file", function()
        local other = dir .. "/other.pem"
        assert(os.execute(("openssl genrsa -out %s 2048 > /dev/null 2>&1"):format(H.S.q(other))))
        local p = io.popen(("%s --db %s serve --listen 127.0.0.1:0 --tls-cert %s --tls-key %s 2>&1; echo rc=$?"):format(
            H.S.q(H.S.BIN), H.S.q(relm.info().db), H.S.q(dir .. "/cert.pem"), H.S.q(other)))
        local out = p:read("a")
        p:close()
        assert.is_truthy(out:find("rc=1", 1, true), out)
        assert.is_truthy(out:find("other.pem", 1, true), out)
        local p2 = io.popen(("%s --db %s serve --listen 127.0.0.1:0 --tls-cert %s 2>&1; echo rc=$?"):format(
            H.S.q(H.S.BIN), H.S.q(relm.info().db), H.S.q(dir .. "/cert.pem")))
        local out2 = p2:read("a")
        p2:close()
        assert.is_truthy(out2:find("rc=2", 1, true), out2)
    end)
end)
