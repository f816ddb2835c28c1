-- baseline_spec.lua: relm.cmdb.baseline / baselines / baseline_diff.
local cmdb = relm.cmdb

local function count(sql)
    return relm.sql(sql)[1].n
end

setup(function()
    cmdb.define_type{ name = "server", attributes = { cpu = "integer" } }
    cmdb.define_type{ name = "app" }
    cmdb.add{ type = "server", name = "s1", cpu = 4 }
    cmdb.add{ type = "server", name = "s2", cpu = 8 }
    cmdb.add{ type = "app", name = "a1" }
    cmdb.relate("a1", "runs_on", "s1")
end)

describe("relm.cmdb.baseline", function()
    it("snapshots the CIs matching a filter", function()
        assert.are.equal(3, cmdb.baseline("all").count)
        assert.are.equal(2, cmdb.baseline("servers", { type = "server" }).count)
        assert.are.equal(1, cmdb.baseline("just a1", { names = { "a1" } }).count)
        assert.are.equal(0, cmdb.baseline("none", { status = "archived" }).count)
        local list = cmdb.baselines()
        assert.are.equal(4, #list)
        assert.are.equal("all", list[1].name)
        assert.are.equal(2, list[2].count)
        assert.are.equal("admin", list[2].actor)
    end)

    it("diffs against now: added, removed, changed by field", function()
        cmdb.update("s1", { cpu = 16, status = "in_maintenance" })
        cmdb.unrelate("a1", "runs_on", "s1")
        cmdb.relate("a1", "runs_on", "s2")
        cmdb.add{ type = "server", name = "s3" }
        local d = cmdb.baseline_diff("servers")
        assert.are.same({ "s3" }, d.added)
        assert.are.same({}, d.removed)
        assert.are.equal(1, #d.changed)
        assert.are.equal("s1", d.changed[1].name)
        local f = d.changed[1].fields
        assert.are.same({ before = 4, after = 16 }, f["attributes.cpu"])
        assert.are.same({ before = "active", after = "in_maintenance" }, f.status)
        local apps = cmdb.baseline_diff("all").changed
        assert.are.equal("a1", apps[1].name)
        assert.are.same({ before = "runs_on s1", after = "runs_on s2" }, apps[1].fields.relations)
    end)

    it("diffs two baselines", function()
        cmdb.baseline("servers later", { type = "server" })
        local d = cmdb.baseline_diff("servers", "servers later")
        assert.are.same({ "s3" }, d.added)
        assert.are.equal("s1", d.changed[1].name)
        local back = cmdb.baseline_diff("servers later", "servers")
        assert.are.same({ "s3" }, back.removed)
        assert.are.same({}, cmdb.baseline_diff("servers later", "servers later").changed)
    end)

    it("reports a removed CI", function()
        cmdb.remove("s3")
        assert.are.same({ "s3" }, cmdb.baseline_diff("servers later").removed)
    end)

    it("refuses bad input and writes nothing", function()
        local before = count("SELECT count(*) AS n FROM baselines")
        local items = count("SELECT count(*) AS n FROM baseline_items")
        local cases = {
            { "duplicate", "already exists", "all" },
            { "unknown_type", "no CI type named 'router'", "x", { type = "router" } },
            { "not_found", "no CI named 'ghost'", "x", { names = { "s1", "ghost" } } },
            { "invalid_argument", "unknown status 'broken'", "x", { status = "broken" } },
            { "invalid_argument", "unknown filter 'colour'", "x", { colour = "red" } },
            { "invalid_argument", "names%[2%] must be", "x", { names = { "s1", 3 } } },
            { "invalid_argument", "argument #1", "" },
        }
        for _, c in ipairs(cases) do
            local ok, err = pcall(cmdb.baseline, table.unpack(c, 3))
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, c[1]), tostring(err))
            assert.matches(c[2], tostring(err))
        end
        assert.are.equal(before, count("SELECT count(*) AS n FROM baselines"))
        assert.are.equal(items, count("SELECT count(*) AS n FROM baseline_items"))
        local ok, err = pcall(cmdb.baseline_diff, "nope")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        ok, err = pcall(cmdb.baseline_diff, "all", "nope")
        assert.is_false(ok)
        assert.matches("no baseline named 'nope'", tostring(err))
    end)
end)

describe("relm.cmdb.baseline with a long list of names", function()
    it("takes a names list whose JSON outgrows Lua's buffer (it crashed)", function()
        local names = {}
        for i = 1, 120 do
            names[i] = ("app-with-a-rather-long-name-%03d"):format(i)
            cmdb.add{ type = "app", name = names[i] }
        end
        assert.are.equal(120, cmdb.baseline("long list", { names = names }).count)
    end)
end)
