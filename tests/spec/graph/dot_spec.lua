-- dot_spec.lua: relm.cmdb.dot and relm.cmdb.svg: the DOT text of a
-- neighbourhood, and SVG through Graphviz or a clear error without it.
local cmdb = relm.cmdb

setup(function()
    cmdb.define_type{ name = "box" }
    cmdb.add{ type = "box", name = "web" }
    cmdb.add{ type = "box", name = 'db "main"' }
    cmdb.add{ type = "box", name = "host", status = "in_maintenance" }
    cmdb.add{ type = "box", name = "far" }
    cmdb.relate("web", "depends_on", 'db "main"')
    cmdb.relate('db "main"', "runs_on", "host")
    cmdb.relate("host", "depends_on", "far")
end)

describe("relm.cmdb.dot", function()
    it("draws the neighbourhood with kinds, status colours and the origin", function()
        local dot = cmdb.dot('db "main"', { depth = 1 })
        assert.matches("^digraph cmdb {", dot)
        assert.matches('label="db \\"main\\"\\nbox · active"', dot, 1, true)
        assert.matches('peripheries=2', dot, 1, true)
        local id = relm.sql("SELECT id FROM cis WHERE name = 'host'")[1].id
        assert.is_truthy(dot:find("n" .. id .. ' [label="host\\nbox · in_maintenance", fillcolor="orange"', 1, true))
        assert.matches('%[label="runs_on"%]', dot)
        assert.matches('%[label="depends_on"%]', dot)
        assert.is_nil(dot:find("far", 1, true)) -- two hops away
        assert.matches("}\n$", dot)
    end)

    it("follows depth and direction", function()
        assert.is_truthy(cmdb.dot("web", { depth = 3 }):find("far", 1, true))
        local up = cmdb.dot("host", { direction = "up", depth = 5 })
        assert.is_truthy(up:find("web", 1, true))
        assert.is_nil(up:find("far", 1, true))
    end)

    it("says when it left CIs out", function()
        local dot = cmdb.dot("web", { depth = 5, limit = 1 })
        assert.matches("more CIs not shown", dot)
    end)

    it("refuses an unknown CI and bad options", function()
        local ok, err = pcall(cmdb.dot, "nope")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        ok, err = pcall(cmdb.dot, "web", { colour = "red" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
        assert.matches("unknown option 'colour' %(depth, direction, kinds, limit%)", tostring(err))
        ok, err = pcall(cmdb.dot, "web", { direction = "left" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
    end)
end)

describe("relm.cmdb.svg", function()
    it("says how to install Graphviz when dot is missing", function()
        local ok, err = pcall(cmdb.svg, "web", { dot = "/nonexistent/bin/dot" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "graphviz_missing"))
        assert.matches("apt%-get install graphviz", tostring(err))
    end)

    local have_dot = os.execute("command -v dot >/dev/null 2>&1") == true
    local renders = have_dot and it or pending
    renders("renders SVG when Graphviz is installed", function()
        local svg = cmdb.svg("web", { depth = 2 })
        assert.matches("<svg", svg)
        assert.is_truthy(svg:find("runs_on", 1, true))
    end)
end)
