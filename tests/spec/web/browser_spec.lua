-- browser_spec.lua: the web desktop in a real browser: Debian's chromium,
-- headless, driven by playwright-core (tests/browser/walk.js) against a real
-- `relm serve --listen` on this spec's fresh database. Screenshots are kept
-- in build/artefacts/web/.
local H = dofile("tests/fixtures/http_helper.lua")
local cjson = require "cjson"

local PASSWORD = "correct horse battery"
local BUILD = os.getenv("BUILD") or "build"
local MODULE = BUILD .. "/npm/browser/node_modules/playwright-core"
local ARTEFACTS = BUILD .. "/artefacts/web"

local function occurrences()
    return relm.sql("SELECT count(*) AS n FROM occurrences")[1].n
end

describe("the web desktop in chromium", function()
    local srv, steps, output
    setup(function()
        relm.group.add { name = "ops" }
        relm.group.add_member("ops", "admin")
        relm.group.add_member("cab", "admin")
        relm.user.set_password("admin", PASSWORD)
        relm.justification.add { description = "Waiting for the vendor", suspend = true }
        relm.cmdb.define_type { name = "server" }
        relm.cmdb.define_type { name = "application" }
        relm.cmdb.add { type = "server", name = "web01" }
        relm.cmdb.add { type = "application", name = "crm" }
        relm.cmdb.relate("crm", "runs_on", "web01")
        -- the calendar step looks for this window's bar
        relm.window.add { name = "browser-freeze", kind = "blackout", starts = "2027-12-20T00:00Z",
            ends = "2028-01-03T00:00Z", scope = { cis = { "web01" } } }
        srv = H.start(relm.info().db)
        assert(os.execute("mkdir -p " .. H.S.q(ARTEFACTS) .. " && rm -f " .. H.S.q(ARTEFACTS) .. "/*.png"))
        local cmd = ("cd %s && RELM_URL=%s RELM_PASSWORD=%s PLAYWRIGHT=%s ARTEFACTS=%s node tests/browser/walk.js 2>&1")
            :format(H.S.q(os.getenv("PWD") or "."), H.S.q(srv.url), H.S.q(PASSWORD),
                H.S.q(os.getenv("PWD") .. "/" .. MODULE), H.S.q(ARTEFACTS))
        local p = assert(io.popen(cmd))
        output = p:read("a")
        p:close()
        steps = {}
        for line in output:gmatch("[^\n]+") do
            local ok, s = pcall(cjson.decode, line)
            if ok and type(s) == "table" and s.step then
                steps[#steps + 1] = s
                steps[s.step] = s
            end
        end
    end)
    teardown(function() H.S.stop_all() end)

    it("walks a release from registration to closure, every step passing", function()
        local failed = {}
        for _, s in ipairs(steps) do
            if not s.ok then
                failed[#failed + 1] = s.step .. ": " .. tostring(s.error)
            end
        end
        assert.are.same({}, failed)
        assert.is_true(#steps >= 15, "the walk stopped early:\n" .. output)
    end)

    it("leaves the release closed, with every action in its history, as the browser did it", function()
        local r = relm.search.releases { text = "CRM" }[1]
        assert.is_truthy(r, "no release registered through the browser")
        assert.are.equal("closed", r.status)
        local actions = {}
        for _, o in ipairs(relm.release.history(r.id)) do
            if o.action ~= "register" then
                actions[#actions + 1] = o.action
            end
        end
        -- the refused suspend and the refused accept wrote nothing
        local want = { "authorize", "execute", "pass", "resolve", "accept" }
        local seen = {}
        for _, a in ipairs(actions) do
            seen[a] = (seen[a] or 0) + 1
        end
        for _, a in ipairs(want) do
            assert.are.equal(1, seen[a], a .. " in " .. table.concat(actions, ", "))
        end
        assert.is_nil(seen.suspend)
        assert.are.equal("web01", relm.release.related(r.id)[1].target)
        assert.are.equal("in_progress", relm.activity.list(r.id)[1].status)
        assert.is_true(occurrences() > 0)
    end)

    it("asks in words for what an action needs: a justification, the closure fields", function()
        local suspend = steps["suspend asks for a justification: the browser keeps the form until one is chosen, "
            .. "nothing written"]
        assert.is_truthy(suspend, output)
        assert.are.equal("Choose a justification.", suspend.detail)
        local close = steps["close: the form asks for the closure fields, the dry run names them; then closed"]
        assert.is_truthy(close and tostring(close.detail):find("Fill in: ", 1, true), output)
    end)

    it("keeps screenshots: the desktop at 1280 px, the release page, a phone", function()
        for _, f in ipairs({ "desktop-1280.png", "release-page.png", "desktop-phone.png" }) do
            local h = io.open(ARTEFACTS .. "/" .. f, "rb")
            assert.is_truthy(h, f .. " missing")
            assert.are.equal("\137PNG", h:read(4))
            h:close()
        end
    end)
end)
