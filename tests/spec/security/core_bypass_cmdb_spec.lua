-- core_bypass_cmdb_spec.lua: no function a script can reach under
-- relm.core.* (CMDB, media, baselines, related records, people,
-- portfolios, desktop, audit, base) writes without the C core's own check:
-- every module is enumerated from package.preload, every function in it
-- must be classified here as a read or a write, and every write is called
-- directly as a user without the permission and must be refused with
-- permission_denied, leaving every table as it was. The race spec shows
-- the check runs inside the write transaction (a revocation committed by
-- another process while the writer waits for the lock is honoured).
local H = dofile("tests/fixtures/release_helper.lua")
local uv = require "luv"

-- The relm.core modules this spec covers (the release engine's own,
-- relm.core.release/activity/approval, have their spec; relm.core.sandbox
-- runs untrusted code and writes nothing).
local AREA = {
    ["relm.core.cmdb"] = true, ["relm.core.media"] = true, ["relm.core.related"] = true,
    ["relm.core.people"] = true, ["relm.core.portfolio"] = true, ["relm.core.desktop"] = true,
    ["relm.core.audit"] = true, ["relm.core.base"] = true,
}
local function in_area(name)
    return AREA[name] or name:match("^relm%.core%.cmdb_") ~= nil
end

-- Functions that write nothing to the database.
local READ = {
    ["relm.core.cmdb"] = { export = "writes a file from what the user may read" },
    ["relm.core.cmdb_baseline"] = { baseline_diff = "compares snapshots" },
    ["relm.core.cmdb_graph"] = { impact = "walks the graph", graph_stats = "counts" },
    ["relm.core.media"] = { verify = "compares checksums", checksum = "hashes a file" },
    ["relm.core.related"] = { impact = "walks the graph" },
    ["relm.core.people"] = { is_admin = "asks about the actor" },
    ["relm.core.portfolio"] = { templates = "lists template files" },
    ["relm.core.desktop"] = { load = "queries the queue", sql = "returns query text" },
    ["relm.core.audit"] = { verify = "walks the chain", head = "reads the last row" },
    ["relm.core.base"] = {
        sql = "read-only SQL", error = "raises", is_error = "tests a value",
        whoami = "names the actor", info = "versions",
        tx = "opens a transaction; what fn writes goes through these checks",
    },
}

local fixture
-- As admin, once: people (carol: no group), CIs s1..s3 (s1 runs_on s2), a
-- medium, a change record, a CSV to import, an open release of the
-- fixture workflow linked to s1, a justification and a portfolio model.
local function setup()
    if fixture then
        return fixture
    end
    H.setup()
    relm.cmdb.define_type { name = "server", attributes = { cpu = "integer" } }
    for _, n in ipairs({ "s1", "s2", "s3" }) do
        relm.cmdb.add { type = "server", name = n }
    end
    relm.cmdb.relate("s1", "runs_on", "s2")
    relm.media.add { name = "pg", version = "1", sha256 = ("a"):rep(64) }
    local chg = relm.change.add { title = "Upgrade" }
    local csv = os.getenv("RELM_TEST_TMP") .. "/bypass.csv"
    local f = assert(io.open(csv, "w"))
    f:write("name,type\ns10,server\n")
    f:close()
    local rel = H.release()
    relm.release.relate(rel.id, "ci", "s1")
    local p = relm.portfolio.list()[1]
    fixture = {
        csv = csv, change = chg.number or chg, release = rel.id,
        justification = relm.justification.add { description = "Vendor", suspend = true },
        portfolio = p.name, model = p.models[1].name or p.models[1],
    }
    return fixture
end

-- Each write, called the way a script could call it, with arguments that
-- are valid (so that only the permission can refuse it).
local WRITE = {
    ["relm.core.cmdb"] = {
        define_type = function(C) C.define_type("app", nil, { { name = "tier", kind = "string" } }) end,
        define_relation = function(C) C.define_relation("hosts", "forward", nil) end,
        add = function(C) C.add("server", { name = "s9" }) end,
        update = function(C) C.update("s1", { status = "in_maintenance" }) end,
        remove = function(C) C.remove("s3", false) end,
        relate = function(C) C.relate("s1", "depends_on", "s3") end,
        unrelate = function(C) C.unrelate("s1", "runs_on", "s2") end,
        import = function(C, fx) C.import(fx.csv, "csv", "cis", false) end,
    },
    ["relm.core.cmdb_baseline"] = {
        baseline = function(C) C.baseline("b1", { type = "server" }) end,
    },
    ["relm.core.media"] = {
        add = function(C) C.add { name = "pg", version = "2", sha256 = ("b"):rep(64) } end,
        update = function(C) C.update("pg", "1", { notes = "moved" }) end,
        link = function(C) C.link("s1", "pg", "1") end,
        spare_add = function(C) C.spare_add { name = "disk", quantity = 2 } end,
    },
    ["relm.core.related"] = {
        record_add = function(C) C.record_add("problem", { title = "Slow" }) end,
        record_update = function(C, fx) C.record_update("change", fx.change, { title = "Other" }) end,
        relate = function(C, fx) C.relate(fx.release, "ci", "s3") end,
        unrelate = function(C, fx) C.unrelate(fx.release, "ci", "s1") end,
        close_cis = function(C, fx) C.close_cis(fx.release, { active = "archived" }) end,
    },
    ["relm.core.people"] = {
        user_add = function(C) C.user_add { name = "mallory" } end,
        user_set_active = function(C) C.user_set_active("bob", false) end,
        group_add = function(C) C.group_add("cabal") end,
        member = function(C) C.member("carol", "administrators", true) end,
        permission = function(C) C.permission("ops", "*", "cmdb", true) end,
        justification_add = function(C) C.justification_add { description = "x", cancel = true } end,
        justification_update = function(C, fx) C.justification_update(fx.justification, { active = false }) end,
        -- Acting as someone else is how a script would borrow their rights.
        as_user = function(C) C.as_user("admin", function() end) end,
    },
    ["relm.core.portfolio"] = {
        sync = function(C) C.sync("shadow", "d", nil, {}, false) end,
        model_status = function(C, fx) C.model_status(fx.portfolio, fx.model, "retired") end,
    },
}

-- Every row of every table, as text: "nothing changed" means this is equal.
local function dump()
    local out = {}
    for _, t in ipairs(relm.sql("SELECT name FROM sqlite_schema WHERE type = 'table' "
        .. "AND name NOT LIKE 'sqlite%' ORDER BY name")) do
        local rows = relm.sql('SELECT * FROM "' .. t.name .. '"')
        local lines = {}
        for _, r in ipairs(rows) do
            local keys = {}
            for k in pairs(r) do
                keys[#keys + 1] = k
            end
            table.sort(keys)
            local cells = {}
            for _, k in ipairs(keys) do
                cells[#cells + 1] = k .. "=" .. tostring(r[k])
            end
            lines[#lines + 1] = table.concat(cells, ",")
        end
        table.sort(lines)
        out[t.name] = #rows .. " rows\n" .. table.concat(lines, "\n")
    end
    return out
end

local function counts()
    local function n(t)
        return relm.sql("SELECT count(*) AS n FROM " .. t)[1].n
    end
    return { occurrences = n("occurrences"), ci_history = n("ci_history") }
end

-- The relm.core modules of this area, from package.preload, sorted.
local function area_modules()
    local names = {}
    for name in pairs(package.preload) do
        if name:sub(1, #"relm.core.") == "relm.core." and in_area(name) then
            names[#names + 1] = name
        end
    end
    table.sort(names)
    return names
end

describe("relm.core.* outside the release engine", function()
    it("has every function classified as a read or a write", function()
        local modules = area_modules()
        assert.is_true(#modules >= 10, "expected the area's modules in package.preload")
        local unclassified = {}
        for _, name in ipairs(modules) do
            for k, v in pairs(require(name)) do
                if type(v) == "function" then
                    local r, w = READ[name] and READ[name][k], WRITE[name] and WRITE[name][k]
                    if not r and not w then
                        unclassified[#unclassified + 1] = name .. "." .. k
                    end
                    assert.is_false(r ~= nil and w ~= nil, name .. "." .. k .. " is classified twice")
                end
            end
        end
        table.sort(unclassified)
        assert.are.same({}, unclassified)
        -- And nothing classified has gone away unnoticed.
        for _, list in ipairs({ READ, WRITE }) do
            for name, fns in pairs(list) do
                local M = require(name)
                for k in pairs(fns) do
                    assert.are.equal("function", type(M[k]), name .. "." .. k .. " is gone")
                end
            end
        end
    end)

    it("refuses every write to a user without the permission, writing nothing", function()
        local fx = setup()
        local tried = 0
        for _, name in ipairs(area_modules()) do
            local M = require(name)
            local fns = {}
            for k in pairs(WRITE[name] or {}) do
                fns[#fns + 1] = k
            end
            table.sort(fns)
            for _, k in ipairs(fns) do
                local before, c0 = dump(), counts()
                local ok, err = relm.user.as("carol", pcall, WRITE[name][k], M, fx)
                assert.is_false(ok, name .. "." .. k .. " was not refused")
                assert.is_true(relm.is_error(err, "permission_denied"),
                    name .. "." .. k .. ": expected permission_denied, got " .. tostring(err))
                assert.are.same(c0, counts(), name .. "." .. k .. " left a trail")
                assert.are.same(before, dump(), name .. "." .. k .. " changed a table")
                tried = tried + 1
            end
        end
        assert.are.equal(28, tried)
    end)

    it("lets a user granted cmdb do each CMDB write (so the permission was the refusal)", function()
        local fx = setup()
        relm.group.add { name = "cmdb-team" }
        relm.group.add_member("cmdb-team", "carol")
        relm.permission.grant { group = "cmdb-team", action = "cmdb" }
        local done = 0
        for _, name in ipairs({ "relm.core.cmdb", "relm.core.cmdb_baseline", "relm.core.media" }) do
            local fns = {}
            for k in pairs(WRITE[name]) do
                fns[#fns + 1] = k
            end
            table.sort(fns)
            for _, k in ipairs(fns) do
                local o = counts()
                -- Done, then rolled back to keep the fixture as it was.
                local ok, err = pcall(relm.tx, function()
                    relm.user.as("carol", WRITE[name][k], require(name), fx)
                    error("ROLL BACK", 0)
                end)
                assert.is_false(ok)
                assert.are.equal("ROLL BACK", tostring(err), name .. "." .. k)
                done = done + 1
                assert.are.same(o, counts())
            end
        end
        assert.are.equal(13, done)
        relm.permission.revoke { group = "cmdb-team", action = "cmdb" }
    end)

    it("logs every CMDB write: CI changes in ci_history, the rest as occurrences", function()
        setup()
        local function last()
            return relm.sql("SELECT subject, action, actor_id FROM occurrences ORDER BY id DESC LIMIT 1")[1]
        end
        local h = counts()
        relm.cmdb.define_type { name = "router", attributes = { ports = "integer" } }
        assert.are.same({ "ci_type", "define" }, { last().subject, last().action })
        relm.cmdb.define_type { name = "router", attributes = { ports = "integer" } }
        relm.cmdb.define_relation { name = "feeds" }
        assert.are.same({ "rel_type", "define" }, { last().subject, last().action })
        relm.cmdb.define_relation { name = "feeds" }
        relm.cmdb.baseline("snap")
        assert.are.same({ "baseline", "create" }, { last().subject, last().action })
        relm.media.spare_add { name = "psu" }
        assert.are.same({ "spare", "add" }, { last().subject, last().action })
        relm.media.update("pg", "1", { physical_location = "safe" })
        assert.are.same({ "media", "update" }, { last().subject, last().action })
        -- Idempotent definitions that change nothing leave nothing.
        assert.are.equal(h.occurrences + 5, counts().occurrences)
        -- An import is one occurrence, whatever its size.
        local csv = os.getenv("RELM_TEST_TMP") .. "/many.csv"
        local f = assert(io.open(csv, "w"))
        f:write("name,type\n")
        for i = 1, 50 do
            f:write(("r%d,router\n"):format(i))
        end
        f:close()
        local o = counts().occurrences
        assert.are.equal(50, relm.cmdb.import(csv, { kind = "cis" }))
        assert.are.equal(o + 1, counts().occurrences)
        local occ = relm.sql("SELECT subject, action, after FROM occurrences ORDER BY id DESC LIMIT 1")[1]
        assert.are.same({ "cmdb", "import" }, { occ.subject, occ.action })
        assert.matches('"rows":50', occ.after, 1, true)
    end)
end)

describe("permission checks run inside the write transaction", function()
    -- Another process takes the write lock, revokes, signals, and holds
    -- the lock a while before committing. This process then writes as the
    -- user concerned: its BEGIN IMMEDIATE waits for the lock, and the check
    -- that follows sees the revocation. Checked before BEGIN, the write
    -- would have gone through (the revocation was not committed yet when
    -- it was checked).
    local function revoke_while_writing(revocation, write)
        local mark = os.getenv("RELM_TEST_TMP") .. "/locked." .. tostring(math.random(1e9))
        local script = ("relm.tx(function() %s; io.open(%q, 'w'):close(); "
            .. "require('luv').sleep(1500) end)"):format(revocation, mark)
        local cmd = ("%q --db %q -e %q > /dev/null 2>&1 &"):format(os.getenv("RELM_BIN"),
            relm.info().db, script)
        assert(os.execute(cmd))
        for _ = 1, 300 do
            local f = io.open(mark)
            if f then
                f:close()
                break
            end
            uv.sleep(20)
        end
        assert.is_truthy(io.open(mark), "the other process never took the lock")
        local ok, err = pcall(write)
        os.remove(mark)
        return ok, err
    end

    it("honours a cmdb revocation committed while the writer waited", function()
        setup()
        relm.group.add { name = "racers" }
        relm.group.add_member("racers", "dave")
        relm.permission.grant { group = "racers", action = "cmdb" }
        local n = relm.sql("SELECT count(*) AS n FROM cis")[1].n
        local ok, err = revoke_while_writing(
            "relm.permission.revoke { group = 'racers', action = 'cmdb' }",
            function()
                relm.user.as("dave", relm.cmdb.add, { type = "server", name = "late" })
            end)
        assert.is_false(ok, "the write went through after the revocation")
        assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        assert.are.equal(n, relm.sql("SELECT count(*) AS n FROM cis")[1].n)
    end)

    it("honours a removal from the administrators committed while the writer waited", function()
        setup()
        relm.user.add { name = "erin" }
        relm.group.add_member("administrators", "erin")
        local n = relm.sql("SELECT count(*) AS n FROM users")[1].n
        local ok, err = revoke_while_writing(
            "relm.group.remove_member('administrators', 'erin')",
            function()
                relm.user.as("erin", relm.user.add, { name = "erins-friend" })
            end)
        assert.is_false(ok, "the write went through after the removal")
        assert.is_true(relm.is_error(err, "permission_denied"), tostring(err))
        assert.are.equal(n, relm.sql("SELECT count(*) AS n FROM users")[1].n)
    end)
end)
