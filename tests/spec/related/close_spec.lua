-- close_spec.lua: what a closing release does to its CIs (the workflow's
-- ci_on_close, default in_development -> active), inside the closure's
-- transaction, with the release as origin in the CI history.
local H = dofile("tests/spec/related/helper.lua")

local function status(name)
    return relm.cmdb.get(name).status
end

local function set(name, st)
    relm.cmdb.update(name, { status = st })
end

describe("closing a release", function()
    setup(function() H.setup(); H.cmdb() end)
    before_each(function() set("web-01", "in_development") end)

    it("promotes its in-development CIs to active; history names the release", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "web-01")
        relm.release.relate(r.id, "ci", "db-01")
        H.resolve(r)
        assert.are.equal("in_development", status("web-01")) -- not before closure
        r = relm.release.act(r.id, "close", { fields = H.closing })
        assert.are.equal("closed", r.status)
        assert.are.equal("active", status("web-01"))
        assert.are.equal("active", status("db-01"))
        local h = relm.cmdb.history("web-01")
        local last = h[#h]
        assert.are.same({ "in_development", "active" }, last.diff.status)
        assert.are.equal(r.id, last.origin_release)
        -- db-01 was already active: no history row from the closure.
        local hd = relm.cmdb.history("db-01")
        assert.is_nil(hd[#hd].origin_release)
    end)

    it("changes nothing when the closure is refused (same transaction)", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "web-01")
        H.resolve(r)
        local before = H.counts()
        local ok, err = pcall(relm.release.act, r.id, "close", { fields = { release_date = "2026-11-20" } })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.are.same(before, H.counts())
        assert.are.equal("in_development", status("web-01"))
    end)

    -- The engine runs its own compile of the workflow: a policy is changed
    -- by installing a file that says it, not by editing a script's copy.
    local variants = 0
    local function ci_on_close(policy)
        local f = assert(io.open("tests/fixtures/workflows/shimflow.lua"))
        local src = f:read("a")
        f:close()
        if policy ~= nil then
            local decl = 'fields = { "test_result" },'
            src = src:gsub(decl, decl .. '\n    ci_on_close = ' .. policy .. ',')
        end
        variants = variants + 1
        local dir = ("%s/close%d"):format(os.getenv("RELM_TEST_TMP") or "/tmp", variants)
        os.execute("mkdir -p '" .. dir .. "'")
        local path = dir .. "/shimflow.lua"
        f = assert(io.open(path, "w"))
        f:write(src)
        f:close()
        relm.release.workflow(path)
    end

    it("follows the workflow's ci_on_close, and a failing CI update refuses the closure", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "web-01")
        H.resolve(r)
        ci_on_close('{ in_development = "no_such_status" }')
        local before = H.counts()
        local ok, err = pcall(relm.release.act, r.id, "close", { fields = H.closing })
        assert.is_false(ok, "the CMDB should refuse the status")
        assert.matches("no_such_status", tostring(err))
        assert.are.same(before, H.counts())
        assert.are.equal("resolved", relm.release.get(r.id).state)
        ci_on_close('{ in_development = "homologation" }')
        relm.release.act(r.id, "close", { fields = H.closing })
        assert.are.equal("homologation", status("web-01"))
        ci_on_close(nil)
    end)

    it("undoes CIs already promoted when the closure fails after them", function()
        relm.cmdb.add { type = "app", name = "zz-late", status = "to_validate" }
        local r = H.release()
        relm.release.relate(r.id, "ci", "web-01")
        relm.release.relate(r.id, "ci", "zz-late")
        H.resolve(r)
        local before = H.counts()
        -- web-01 is promoted first (by name), then zz-late's update fails.
        ci_on_close('{ in_development = "active", to_validate = "no_such_status" }')
        local ok, err = pcall(relm.release.act, r.id, "close", { fields = H.closing })
        ci_on_close(nil)
        assert.is_false(ok)
        assert.matches("no_such_status", tostring(err))
        assert.are.same(before, H.counts())
        assert.are.equal("in_development", status("web-01"))
        -- The CI updates succeed, then something later in the same
        -- transaction raises: the promotion goes with the closure. (The
        -- engine's hooks cannot be swapped from a script any more, so the
        -- later step is the caller's own transaction failing.)
        ok, err = pcall(relm.tx, function()
            relm.release.act(r.id, "close", { fields = H.closing })
            assert.are.equal("active", status("web-01")) -- promoted, not committed
            relm.error("not_allowed", "a later step refused")
        end)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_allowed"), tostring(err))
        assert.are.same(before, H.counts())
        assert.are.equal("in_development", status("web-01"))
        assert.are.equal("resolved", relm.release.get(r.id).state)
        local h = relm.cmdb.history("web-01")
        assert.are_not.equal(r.id, h[#h].origin_release)
        relm.release.act(r.id, "close", { fields = H.closing })
        assert.are.equal("active", status("web-01"))
    end)

    it("a dry run of the closure names each missing closure field once", function()
        local r = relm.release.register { workflow = "standard", title = "Dry close" }
        for _, a in ipairs({ "authorize", "execute" }) do
            relm.release.act(r.id, a)
        end
        relm.release.act(r.id, "pass", { test_result = "ok" })
        relm.release.act(r.id, "resolve")
        local d = relm.release.act(r.id, "accept", { dry_run = true, closure_text = "Done" })
        assert.is_false(d.allowed)
        assert.are.same({ "release_date", "solution_category" }, d.missing)
        assert.are.equal("'accept' is not allowed on release " .. r.number
            .. ": missing required field(s): release_date, solution_category", d.reason)
    end)

    it("leaves CIs alone when the workflow says ci_on_close = false", function()
        ci_on_close("false")
        local r = H.release()
        relm.release.relate(r.id, "ci", "web-01")
        H.resolve(r)
        relm.release.act(r.id, "close", { fields = H.closing })
        ci_on_close(nil)
        assert.are.equal("in_development", status("web-01"))
    end)

    it("is done by an executor without the cmdb permission, and cannot be replayed from a script", function()
        local C = require "relm.core.related"
        local r = relm.user.as("bob", H.release) -- bob requests, so he closes
        relm.release.relate(r.id, "ci", "web-01")
        -- Not before the release is closed.
        local ok, err = pcall(C.close_cis, r.id, { in_development = "archived" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_allowed"), tostring(err))
        H.resolve(r)
        r = relm.user.as("bob", relm.release.act, r.id, "close", { fields = H.closing })
        assert.are.equal("closed", r.status)
        assert.are.equal("active", status("web-01"))
        set("web-01", "in_development")
        local before = H.counts()
        -- Nobody replays the closure's CI updates, not even its executor...
        ok, err = pcall(relm.user.as, "bob", C.close_cis, r.id, { in_development = "archived" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_allowed"), tostring(err))
        -- ...and a user who may not work the release is refused outright.
        ok, err = pcall(relm.user.as, "carol", C.close_cis, r.id, { in_development = "archived" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        assert.are.same(before, H.counts())
        assert.are.equal("in_development", status("web-01"))
    end)
end)

describe("ci_on_close in the workflow DSL", function()
    setup(function() H.setup(); H.cmdb() end)

    -- The fixture workflow under another name with a ci_on_close line.
    local function variant(name, line)
        local text = io.open("tests/fixtures/workflows/shimflow.lua"):read("a")
        text = text:gsub('workflow "shimflow" {', 'workflow "' .. name .. '" {\n    ' .. line, 1)
        local path = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/" .. name .. ".lua"
        local f = assert(io.open(path, "w"))
        f:write(text)
        f:close()
        return path
    end

    it("is read from the workflow file", function()
        relm.release.workflow(variant("homolflow", 'ci_on_close = { in_development = "homologation" },'))
        relm.cmdb.update("web-01", { status = "in_development" })
        local r = H.release { workflow = "homolflow" }
        relm.release.relate(r.id, "ci", "web-01")
        H.resolve(r)
        relm.release.act(r.id, "close", { fields = H.closing })
        assert.are.equal("homologation", relm.cmdb.get("web-01").status)
    end)

    it("is checked like every workflow field", function()
        local path = variant("badflow", 'ci_on_close = { "active" },')
        local ok, err = pcall(relm.release.workflow, path)
        assert.is_false(ok)
        assert.matches("ci_on_close must be CI statuses", tostring(err))
    end)
end)
