-- impact_spec.lua: relm.cmdb.impact on a real database: directions, depth,
-- kinds, limit, cycles, via paths, invalidation (this process and another).
local cmdb = relm.cmdb

local function names(res)
    local out = {}
    for _, r in ipairs(res) do
        out[#out + 1] = r.name
    end
    table.sort(out)
    return out
end

local function by_name(res)
    local out = {}
    for _, r in ipairs(res) do
        out[r.name] = r
    end
    return out
end

local function count(sql, ...)
    return relm.sql(sql, ...)[1].n
end

-- svc -> app1 -> srv1 -> net; app2 -> srv1; disk part_of srv1;
-- app1 <-> app2 depend on each other (a cycle).
setup(function()
    cmdb.define_type{ name = "thing" }
    for _, n in ipairs{ "svc", "app1", "app2", "srv1", "net", "disk", "lonely" } do
        cmdb.add{ type = "thing", name = n }
    end
    cmdb.relate("svc", "depends_on", "app1")
    cmdb.relate("app1", "runs_on", "srv1")
    cmdb.relate("app2", "runs_on", "srv1")
    cmdb.relate("srv1", "depends_on", "net")
    cmdb.relate("disk", "part_of", "srv1")
    cmdb.relate("app1", "depends_on", "app2")
    cmdb.relate("app2", "depends_on", "app1")
end)

describe("relm.cmdb.impact", function()
    it("goes up to everything that depends on the CI, with depths", function()
        local res = cmdb.impact("net", { direction = "up" })
        assert.are.same({ "app1", "app2", "disk", "srv1", "svc" }, names(res))
        local r = by_name(res)
        assert.are.equal(1, r.srv1.depth)
        assert.are.equal(2, r.app1.depth)
        assert.are.equal(2, r.disk.depth)
        assert.are.equal(3, r.svc.depth)
        assert.are.equal("thing", r.svc.type)
        assert.are.equal("active", r.svc.status)
        assert.are.equal("depends_on", r.svc.kind)
        assert.are.equal("app1", r.svc.through)
    end)

    it("defaults to up and returns nearest first", function()
        local res = cmdb.impact("net")
        assert.are.equal(5, #res)
        assert.are.equal("srv1", res[1].name)
        for i = 2, #res do
            assert.is_true(res[i].depth >= res[i - 1].depth)
        end
    end)

    it("goes down to everything the CI depends on", function()
        local res = cmdb.impact("svc", { direction = "down" })
        assert.are.same({ "app1", "app2", "net", "srv1" }, names(res))
        assert.are.equal(3, by_name(res).net.depth)
    end)

    it("explains every result with the relationships that reached it", function()
        local r = by_name(cmdb.impact("net"))
        assert.are.same({ "srv1 depends_on net", "app1 runs_on srv1", "svc depends_on app1" }, r.svc.via)
        assert.are.same({ "srv1 depends_on net" }, r.srv1.via)
        local down = by_name(cmdb.impact("svc", { direction = "down" }))
        assert.are.same({ "svc depends_on app1", "app1 runs_on srv1", "srv1 depends_on net" }, down.net.via)
    end)

    it("stops at depth", function()
        assert.are.same({ "srv1" }, names(cmdb.impact("net", { depth = 1 })))
        assert.are.same({ "app1", "app2", "disk", "srv1" }, names(cmdb.impact("net", { depth = 2 })))
        assert.are.equal(0, #cmdb.impact("net", { depth = 0 }))
        assert.are.equal(5, #cmdb.impact("net", { depth = math.huge }))
    end)

    it("follows only the kinds asked for", function()
        assert.are.same({ "app1", "app2" }, names(cmdb.impact("srv1", { kinds = { "runs_on" } })))
        assert.are.same({ "app1", "app2", "disk" },
            names(cmdb.impact("srv1", { kinds = { "runs_on", "part_of" } })))
        assert.are.equal(0, #cmdb.impact("net", { kinds = { "runs_on" } }))
    end)

    it("returns at most limit results, the nearest ones", function()
        local res = cmdb.impact("net", { limit = 2 })
        assert.are.equal(2, #res)
        assert.are.equal("srv1", res[1].name)
        assert.are.equal(2, res[2].depth)
        assert.is_nil(res[3])
        assert.are.equal(0, #cmdb.impact("net", { limit = 0 }))
    end)

    it("terminates on cycles and lists each CI once", function()
        local res = cmdb.impact("app1", { direction = "up" })
        assert.are.same({ "app2", "svc" }, names(res))
        local down = cmdb.impact("app1", { direction = "down" })
        assert.are.same({ "app2", "net", "srv1" }, names(down))
    end)

    it("returns nothing for a CI nothing depends on", function()
        assert.are.equal(0, #cmdb.impact("lonely"))
        assert.are.equal(0, #cmdb.impact("svc"))
    end)

    it("follows reverse and both kinds the way their impact flows", function()
        cmdb.define_relation{ name = "feeds", impact = "reverse" }
        cmdb.define_relation{ name = "peers", impact = "both" }
        cmdb.add{ type = "thing", name = "src" }
        cmdb.add{ type = "thing", name = "sink" }
        cmdb.add{ type = "thing", name = "p1" }
        cmdb.add{ type = "thing", name = "p2" }
        cmdb.relate("src", "feeds", "sink") -- a change to src impacts sink
        cmdb.relate("p1", "peers", "p2")
        assert.are.same({ "sink" }, names(cmdb.impact("src")))
        assert.are.equal(0, #cmdb.impact("sink"))
        assert.are.same({ "src" }, names(cmdb.impact("sink", { direction = "down" })))
        assert.are.same({ "p2" }, names(cmdb.impact("p1")))
        assert.are.same({ "p1" }, names(cmdb.impact("p2")))
        assert.are.same({ "src feeds sink" }, cmdb.impact("src")[1].via)
    end)

    it("works with pairs, # and a plain copy", function()
        local res = cmdb.impact("net")
        local seen = 0
        for i, r in pairs(res) do
            seen = seen + 1
            assert.are.equal(res[i], r)
        end
        assert.are.equal(5, seen)
        local copy = table.move(res, 1, #res, 1, {})
        assert.is_nil(getmetatable(copy))
        assert.are.equal(5, #copy)
        assert.are.equal("srv1", copy[1].name)
    end)

    it("reads long names whole", function()
        local long = string.rep("x", 700)
        cmdb.add{ type = "thing", name = long }
        cmdb.relate(long, "depends_on", "disk")
        local r = cmdb.impact("disk")[1]
        assert.are.equal(long, r.name)
        assert.are.same({ long .. " depends_on disk" }, r.via)
        cmdb.unrelate(long, "depends_on", "disk")
        cmdb.remove(long)
    end)

    it("both directions together for pictures", function()
        assert.are.same({ "app1", "app2", "disk", "net", "svc" },
            names(cmdb.impact("srv1", { direction = "both", depth = 2 })))
    end)
end)

describe("relm.cmdb.impact stays correct", function()
    it("after relate and unrelate in this process", function()
        assert.are.equal(0, #cmdb.impact("lonely"))
        cmdb.relate("svc", "depends_on", "lonely")
        assert.are.same({ "svc" }, names(cmdb.impact("lonely")))
        cmdb.unrelate("svc", "depends_on", "lonely")
        assert.are.equal(0, #cmdb.impact("lonely"))
    end)

    it("inside a transaction and after it rolls back", function()
        pcall(relm.tx, function()
            cmdb.relate("lonely", "depends_on", "net")
            assert.are.same({ "lonely", "srv1" }, names(cmdb.impact("net", { depth = 1 })))
            error("roll back")
        end)
        assert.is_nil(by_name(cmdb.impact("net", { depth = 1 })).lonely)
    end)

    it("does not rebuild when nothing changed", function()
        cmdb.impact("net")
        local before = cmdb.graph_stats().builds
        cmdb.impact("svc", { direction = "down" })
        cmdb.impact("net", { depth = 1 })
        assert.are.equal(before, cmdb.graph_stats().builds)
    end)

    it("without a rebuild after writes that leave relationships alone", function()
        cmdb.impact("net")
        local builds = cmdb.graph_stats().builds
        cmdb.update("svc", { status = "in_maintenance" })
        cmdb.add{ type = "thing", name = "newcomer" }
        assert.are.same({}, cmdb.impact("newcomer")) -- not in the graph yet: no relationships
        assert.are.equal("in_maintenance", by_name(cmdb.impact("net")).svc.status)
        assert.are.equal(builds, cmdb.graph_stats().builds)
        cmdb.relate("newcomer", "depends_on", "net")
        assert.are.equal(1, by_name(cmdb.impact("net", { depth = 1 })).newcomer.depth)
        assert.are.same({ "net" }, names(cmdb.impact("newcomer", { direction = "down", depth = 1 })))
        assert.are.equal(builds + 1, cmdb.graph_stats().builds)
        cmdb.unrelate("newcomer", "depends_on", "net")
        cmdb.remove("newcomer")
        cmdb.update("svc", { status = "active" })
    end)

    it("after a relationship type changes direction", function()
        cmdb.define_relation{ name = "feeds", impact = "forward" }
        cmdb.relate("lonely", "feeds", "net")
        assert.is_not_nil(by_name(cmdb.impact("net", { depth = 1 })).lonely)
        cmdb.define_relation{ name = "feeds", impact = "reverse" }
        assert.is_nil(by_name(cmdb.impact("net", { depth = 1 })).lonely)
        assert.is_not_nil(by_name(cmdb.impact("lonely", { depth = 1 })).net)
        cmdb.unrelate("lonely", "feeds", "net")
    end)

    it("after another relm process writes relationships", function()
        local db = relm.info().db
        assert.are.equal(0, #cmdb.impact("lonely")) -- adjacency built now
        local builds = cmdb.graph_stats().builds
        local cmd = ("%q --db %q -e %q 2>&1"):format(os.getenv("RELM_BIN"), db,
            "relm.cmdb.relate('app2', 'depends_on', 'lonely')")
        local p = io.popen(cmd)
        local out = p:read("a")
        assert.is_true(p:close(), out)
        assert.are.same({ "app1", "app2", "svc" }, names(cmdb.impact("lonely")))
        assert.are.equal(builds + 1, cmdb.graph_stats().builds)
        assert.are.same({ "app2 depends_on lonely" }, by_name(cmdb.impact("lonely")).app2.via)
    end)
end)

describe("relm.cmdb.impact rows read after a change", function()
    it("a small answer is built at the call: later changes do not show in it", function()
        cmdb.add{ type = "thing", name = "leaf" }
        cmdb.relate("leaf", "depends_on", "lonely")
        local res = cmdb.impact("lonely")
        cmdb.unrelate("leaf", "depends_on", "lonely")
        cmdb.remove("leaf")
        assert.is_nil(getmetatable(res))
        assert.is_not_nil(by_name(res).leaf)
        assert.are.same({ "leaf depends_on lonely" }, by_name(res).leaf.via)
    end)

    it("a large one keeps the membership of the call and shows a removed CI as removed", function()
        -- 50,001 CIs on one hub: past the size built at the call
        local dir = assert(os.getenv("RELM_TEST_TMP"))
        local n = 50001
        local cis, rels = { "name,type", "hub,thing" }, { "from,kind,to" }
        for i = 1, n do
            cis[#cis + 1] = "spoke" .. i .. ",thing"
            rels[#rels + 1] = "spoke" .. i .. ",depends_on,hub"
        end
        for file, lines in pairs{ ["/star_cis.csv"] = cis, ["/star_rels.csv"] = rels } do
            local f = assert(io.open(dir .. file, "w"))
            f:write(table.concat(lines, "\n"), "\n")
            f:close()
        end
        cmdb.import(dir .. "/star_cis.csv", { format = "csv", kind = "cis" })
        cmdb.import(dir .. "/star_rels.csv", { format = "csv", kind = "relationships" })
        local res = cmdb.impact("hub")
        assert.is_not_nil(getmetatable(res))
        assert.are.equal(n, #res) -- # builds no row
        assert.is_nil(next(res))
        -- no row read yet: remove a CI, then read the rows
        cmdb.unrelate("spoke7", "depends_on", "hub")
        cmdb.remove("spoke7")
        local pos, seen = nil, 0
        for i, r in ipairs(res) do
            seen = seen + 1
            if r.status == "removed" then
                pos = i
            end
        end
        assert.are.equal(n, seen)
        assert.are.equal(n, #res)
        assert.is_not_nil(pos)
        assert.matches("%(removed%)", res[pos].name)
        assert.are.same({ "spoke7 depends_on hub" }, { (res[pos].via[1]:gsub("^#%d+ %(removed%)", "spoke7")) })
        assert.are.equal(n, #table.move(res, 1, #res, 1, {}))
    end)
end)

describe("relm.cmdb.impact refuses bad input", function()
    local function fails(code, pattern, ...)
        local writes = count("SELECT count(*) AS n FROM ci_history")
        local ok, err = pcall(cmdb.impact, ...)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, code), tostring(err))
        assert.matches(pattern, tostring(err))
        assert.are.equal(writes, count("SELECT count(*) AS n FROM ci_history"))
    end

    it("an unknown CI", function()
        fails("not_found", "no CI named 'nope'", "nope")
    end)

    it("an unknown kind, listing the known ones", function()
        fails("unknown_relation", "'hosts'.*depends_on", "net", { kinds = { "hosts" } })
    end)

    it("a bad direction", function()
        fails("invalid_argument", "direction must be", "net", { direction = "sideways" })
    end)

    it("bad depth, limit, kinds and unknown options", function()
        fails("invalid_argument", "depth must be >= 0", "net", { depth = -1 })
        fails("invalid_argument", "depth must be an integer", "net", { depth = "deep" })
        fails("invalid_argument", "limit must be >= 0", "net", { limit = -5 })
        fails("invalid_argument", "kinds must be an array", "net", { kinds = "runs_on" })
        fails("invalid_argument", "unknown option 'dept'", "net", { dept = 2 })
        fails("invalid_argument", "argument #1", nil)
        fails("invalid_argument", "argument #2", "net", "up")
    end)
end)
