-- language_spec.lua: the web desktop speaks its reader's language (a real
-- serve over loopback, curl): serve's LANG by default, the browser's
-- Accept-Language when relm has it, English last; lang is a BCP 47 tag;
-- the JSON API stays English whatever the page language was.
local H = dofile("tests/fixtures/http_helper.lua")

local PASSWORD = "correct horse battery"

-- The page's lang attribute and its h1.
local function lang_and_h1(page)
    return page:match('<html lang="([^"]*)"'), page:match("<h1>([^<]*)</h1>")
end

describe("web desktop language", function()
    local pt, jar, r
    setup(function()
        relm.group.add { name = "ops" }
        relm.group.add_member("ops", "admin")
        relm.user.set_password("admin", PASSWORD)
        r = relm.release.register { title = "Patch servers", workflow = "standard", executor_group = "ops" }
        -- No locale generated for pt_BR here: relm still finds its catalogue.
        pt = H.start(relm.info().db, nil, "LANG=pt_BR.UTF-8")
        jar = H.S.TMP .. "/lang.jar"
        local s = H.req(pt, "POST", "/login", { jar = jar,
            body = "user=admin&password=" .. PASSWORD:gsub(" ", "+") .. "&next=/" })
        assert.are.equal(303, s)
    end)
    teardown(function() H.S.stop_all() end)

    it("draws pages in the language serve runs in, with a BCP 47 lang tag", function()
        local s, page, h = H.req(pt, "GET", "/login")
        assert.are.equal(200, s)
        local lang, h1 = lang_and_h1(page)
        assert.are.equal("pt-BR", lang)
        assert.are.equal("Entrar", h1)
        assert.is_truthy(page:find("<title>Entrar · relm</title>", 1, true))
        assert.is_truthy(page:find(">Nome de usuário</label>", 1, true))
        assert.are.equal("pt-BR", h["content-language"])
        assert.are.equal("Accept-Language", h.vary)
        local _, rel = H.req(pt, "GET", "/releases/" .. r.id, { jar = jar })
        assert.is_truthy(rel:find("<h2>Ações que você pode tomar agora</h2>", 1, true))
        assert.is_nil(rel:find("Actions you may take now", 1, true))
        local _, queue = H.req(pt, "GET", "/", { jar = jar })
        assert.is_truthy(queue:find(">Número</th>", 1, true))
    end)

    it("follows the browser's Accept-Language, q-values and all, when relm has the language", function()
        local cases = {
            { "es-ES,es;q=0.9,en;q=0.5", "es", "Iniciar sesión" },
            { "en-US,en;q=0.9", "en", "Log in" },
            { "de-DE, pt;q=0.4", "pt-BR", "Entrar" },
            { "en;q=0.2, es;q=0.8", "es", "Iniciar sesión" },
            { "es;q=0, en;q=0.1", "en", "Log in" },
            { "fr-FR, de", "pt-BR", "Entrar" }, -- none relm has: serve's language
            { "*", "pt-BR", "Entrar" },
        }
        for _, c in ipairs(cases) do
            local _, page, h = H.req(pt, "GET", "/login", { headers = { ["Accept-Language"] = c[1] } })
            local lang, h1 = lang_and_h1(page)
            assert.are.same({ c[1], c[2], c[3] }, { c[1], lang, h1 })
            assert.are.equal(c[2], h["content-language"])
        end
        local _, rel = H.req(pt, "GET", "/releases/" .. r.id,
            { jar = jar, headers = { ["Accept-Language"] = "es" } })
        assert.is_truthy(rel:find("<h2>Acciones que puede realizar ahora</h2>", 1, true))
    end)

    it("keeps one request's language out of the next", function()
        H.req(pt, "GET", "/login", { headers = { ["Accept-Language"] = "es" } })
        local _, page = H.req(pt, "GET", "/login")
        assert.are.same({ "pt-BR", "Entrar" }, { lang_and_h1(page) })
        H.req(pt, "GET", "/login", { headers = { ["Accept-Language"] = "en" } })
        local _, again = H.req(pt, "GET", "/login")
        assert.are.same({ "pt-BR", "Entrar" }, { lang_and_h1(again) })
    end)

    it("keeps the JSON API English after pages in other languages", function()
        local token = H.token("admin")
        H.req(pt, "GET", "/login", { headers = { ["Accept-Language"] = "es" } })
        local s, body = H.req(pt, "GET", "/api/v1/releases/REL-0", { token = token,
            headers = { ["Accept-Language"] = "es" } })
        assert.are.equal(404, s)
        assert.are.equal("not_found", body.code)
        assert.is_truthy(tostring(body.message):find("no release", 1, true))
        local _, rel = H.req(pt, "GET", "/api/v1/releases/" .. r.id, { token = token })
        assert.are.equal("registered", rel.state)
    end)
    it("falls back to English when serve runs in the C locale", function()
        H.S.kill(pt) -- one serve per database
        local plain = H.start(relm.info().db, nil, "LANG=C")
        local _, page = H.req(plain, "GET", "/login")
        assert.are.same({ "en", "Log in" }, { lang_and_h1(page) })
        local _, pt_page = H.req(plain, "GET", "/login", { headers = { ["Accept-Language"] = "pt-BR" } })
        assert.are.same({ "pt-BR", "Entrar" }, { lang_and_h1(pt_page) })
    end)

end)
