-- history_spec.lua: every write leaves a history row; get as of a moment.
local cmdb = relm.cmdb

local function now()
    return relm.sql("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS t")[1].t
end

-- A moment strictly after the last write and strictly before the next one
-- (the clock has millisecond steps), so "as of" falls between writes.
local function tick()
    local last = relm.sql("SELECT max(at) AS t FROM ci_history")[1].t or ""
    local t
    repeat t = now() until t > last
    repeat until now() > t
    return t
end

setup(function()
    cmdb.define_type{ name = "server", attributes = { cpu = "integer" } }
end)

describe("relm.cmdb.history", function()
    it("records create, update, relate and remove, oldest first, with actor and diff", function()
        cmdb.add{ type = "server", name = "h1", cpu = 2 }
        cmdb.add{ type = "server", name = "h2" }
        cmdb.update("h1", { cpu = 4, location = "dc1" })
        cmdb.update("h1", { cpu = 4 }) -- no change: no row
        cmdb.relate("h1", "runs_on", "h2")
        local h = cmdb.history("h1")
        local actions = {}
        for i, r in ipairs(h) do actions[i] = r.action end
        assert.are.same({ "create", "update", "relate" }, actions)
        assert.are.equal("admin", h[1].actor)
        assert.are.same({ nil, 2 }, h[1].diff.cpu)
        assert.are.same({ 2, 4 }, h[2].diff.cpu)
        assert.are.same({ nil, "dc1" }, h[2].diff.location)
        assert.is_nil(h[2].diff.name)
        assert.are.same({ nil, "h2" }, h[3].diff.runs_on)
        -- and one line per change for people
        assert.are.equal("location=dc1, cpu 2→4", h[2].changes)
        assert.are.equal("+runs_on h2", h[3].changes)
        assert.matches("^at%s+actor%s+action%s+changes", relm.pretty.table(h))
        local h2 = cmdb.history("h2")
        assert.are.equal("relate", h2[#h2].action)
    end)

    it("never mixes the history of a removed CI into a new one", function()
        cmdb.add{ type = "server", name = "first" }
        cmdb.remove("first")
        cmdb.add{ type = "server", name = "second" }
        local h = cmdb.history("second")
        assert.are.equal(1, #h)
        assert.are.equal("second", h[1].name)
        assert.are.equal(2, #cmdb.history("first"))
    end)

    it("records the origin release when one is given", function()
        cmdb.update("h1", { cpu = 8 }, { origin_release = 42 })
        local h = cmdb.history("h1")
        assert.are.equal(42, h[#h].origin_release)
    end)

    it("keeps the history of a removed CI", function()
        cmdb.add{ type = "server", name = "gone", cpu = 1 }
        cmdb.remove("gone")
        cmdb.add{ type = "server", name = "gone2", cpu = 1, location = "x" }
        cmdb.update("gone2", { cpu = cmdb.null, location = "y" })
        assert.are.equal("location x→y, cpu cleared (was 1)", cmdb.history("gone2")[2].changes)
        local h = cmdb.history("gone")
        assert.are.equal("remove", h[#h].action)
        assert.are.same({ 1 }, h[#h].diff.cpu)
        local ok, err = pcall(cmdb.history, "never")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
    end)
end)

describe("history of imported CIs", function()
    local TMP = os.getenv("RELM_TEST_TMP") or "/tmp"

    local function import(text)
        local path = TMP .. "/history_import.csv"
        local f = assert(io.open(path, "wb"))
        f:write(text)
        f:close()
        return cmdb.import(path)
    end

    local function rows(name)
        return relm.sql([[SELECT count(*) AS n FROM ci_history
            WHERE ci_id = (SELECT id FROM cis WHERE name = ?)]], name)[1].n
    end

    it("tells an import's creation from its batch until the CI is next written", function()
        local t0 = tick()
        import("name,type,cpu\nimp1,server,3\nimp2,server,4\n")
        local t1 = tick()
        assert.are.equal(0, rows("imp1")) -- nothing stored per CI yet
        local h = cmdb.history("imp1")
        assert.are.equal(1, #h)
        assert.are.equal("create", h[1].action)
        assert.are.equal("admin", h[1].actor)
        assert.matches("import", h[1].origin)
        assert.are.same({ nil, 3 }, h[1].diff.cpu)
        assert.are.same({ nil, "imp1" }, h[1].diff.name)
        local ok = pcall(cmdb.get, "imp1", { at = t0 })
        assert.is_false(ok)
        assert.are.equal(3, cmdb.get("imp1", { at = t1 }).cpu)

        cmdb.update("imp1", { cpu = 5 })
        assert.are.equal(2, rows("imp1")) -- the create row, then the update
        h = cmdb.history("imp1")
        assert.are.equal(2, #h)
        assert.are.same({ "create", "update" }, { h[1].action, h[2].action })
        assert.are.same({ nil, 3 }, h[1].diff.cpu)
        assert.are.same({ 3, 5 }, h[2].diff.cpu)
        assert.are.equal(3, cmdb.get("imp1", { at = t1 }).cpu)

        cmdb.remove("imp2")
        h = cmdb.history("imp2")
        assert.are.same({ "create", "remove" }, { h[1].action, h[2].action })
        assert.are.same({ nil, 4 }, h[1].diff.cpu)
        assert.are.equal(4, cmdb.get("imp2", { at = t1 }).cpu)
    end)
end)

describe("history of imported CIs, every later path", function()
    local TMP = os.getenv("RELM_TEST_TMP") or "/tmp"
    local seq = 0

    local function import(text, opts)
        seq = seq + 1
        local path = ("%s/history_paths_%d.csv"):format(TMP, seq)
        local f = assert(io.open(path, "wb"))
        f:write(text)
        f:close()
        return cmdb.import(path, opts)
    end

    local function actions(name)
        local out = {}
        for i, r in ipairs(cmdb.history(name)) do out[i] = r.action end
        return out
    end

    setup(function()
        cmdb.define_type{ name = "box", attributes = { cpu = "integer", note = "string" } }
    end)

    it("re-import writes the create, then an update with the real diff", function()
        import("name,type,cpu\npa,box,1\n")
        local t1 = tick()
        import("name,type,cpu\npa,box,7\n")
        local h = cmdb.history("pa")
        assert.are.same({ "create", "update" }, actions("pa"))
        assert.are.same({ nil, 1 }, h[1].diff.cpu)
        assert.are.same({ 1, 7 }, h[2].diff.cpu)
        assert.matches("import", h[2].origin)
        assert.are.equal(1, cmdb.get("pa", { at = t1 }).cpu)
        assert.are.equal(7, cmdb.get("pa").cpu)
    end)

    it("an attribute set after the import is absent as of before", function()
        import("name,type,cpu\npb,box,2\n")
        local t1 = tick()
        cmdb.update("pb", { note = "later" })
        local r = cmdb.get("pb", { at = t1 })
        assert.is_nil(r.note)
        assert.is_nil(r.attributes.note)
        assert.are.equal(2, r.cpu)
        assert.are.equal("later", cmdb.get("pb").note)
    end)

    it("unrelating an imported relationship keeps its relate row", function()
        import("name,type\npc,box\npd,box\n")
        import("from,kind,to\npc,runs_on,pd\n", { kind = "relationships" })
        cmdb.unrelate("pc", "runs_on", "pd")
        assert.are.same({ "create", "relate", "unrelate" }, actions("pc"))
        assert.are.same({ "create", "relate", "unrelate" }, actions("pd"))
        local h = cmdb.history("pd")
        assert.are.same({ nil, "pc" }, h[2].diff["runs_on (in)"])
        assert.are.same({ "pc" }, h[3].diff["runs_on (in)"])
    end)

    it("a renamed imported CI keeps its creation under the old name", function()
        import("name,type,cpu\npe,box,3\n")
        local t1 = tick()
        cmdb.update("pe", { name = "pe2" })
        local h = cmdb.history("pe2")
        assert.are.same({ "create", "update" }, actions("pe2"))
        assert.are.equal("pe", h[1].name)
        assert.are.same({ nil, "pe" }, h[1].diff.name)
        assert.are.same({ "pe", "pe2" }, h[2].diff.name)
        assert.are.same(actions("pe2"), actions("pe"))
        assert.are.equal("pe", cmdb.get("pe2", { at = t1 }).name)
    end)

    it("a media link after the import comes after its creation", function()
        relm.media.add{ name = "boxos", version = "1" }
        import("name,type\npf,box\n")
        relm.media.link("pf", "boxos", "1")
        assert.are.same({ "create", "update" }, actions("pf"))
        assert.are.equal(2, relm.sql([[SELECT count(*) AS n FROM ci_history
            WHERE ci_id = (SELECT id FROM cis WHERE name = 'pf')]])[1].n)
        local h = cmdb.history("pf")
        assert.is_nil(h[1].diff.media)
        assert.are.same({ nil, "boxos@1" }, h[2].diff.media)
    end)
end)

describe("relm.cmdb.get{at=}", function()
    it("answers as of a past moment", function()
        local t0 = tick()
        cmdb.add{ type = "server", name = "t1", cpu = 1, location = "a" }
        local t1 = tick()
        cmdb.update("t1", { cpu = 2, location = cmdb.null })
        local t2 = tick()
        cmdb.update("t1", { cpu = 3, status = "archived" })
        local ok, err = pcall(cmdb.get, "t1", { at = t0 })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        local r1 = cmdb.get("t1", { at = t1 })
        assert.are.equal(1, r1.cpu)
        assert.are.equal("a", r1.location)
        assert.are.equal("active", r1.status)
        local r2 = cmdb.get("t1", { at = t2 })
        assert.are.equal(2, r2.cpu)
        assert.is_nil(r2.location)
        assert.are.equal(3, cmdb.get("t1").cpu)
        assert.are.equal("archived", cmdb.get("t1").status)
    end)

    it("answers for a CI removed since", function()
        cmdb.add{ type = "server", name = "t2", cpu = 5 }
        local t = tick()
        cmdb.remove("t2")
        assert.are.equal(5, cmdb.get("t2", { at = t }).cpu)
        local ok = pcall(cmdb.get, "t2")
        assert.is_false(ok)
    end)

    it("refuses a time it cannot read", function()
        local ok, err = pcall(cmdb.get, "t1", { at = "last tuesday" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
    end)
end)
