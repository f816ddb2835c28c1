-- compose_spec.lua: relm.cmdb merges the relm.core.cmdb_* C modules and the
-- optional Lua module relm.cmdb_graph, so other parts plug in.
describe("relm.cmdb composition", function()
    local saved

    before_each(function()
        saved = package.loaded["relm.cmdb"]
    end)

    after_each(function()
        package.preload["relm.core.cmdb_zz_spec"] = nil
        package.loaded["relm.core.cmdb_zz_spec"] = nil
        package.loaded["relm.cmdb"] = saved
    end)

    it("has the CMDB's own functions", function()
        for _, f in ipairs({ "define_type", "define_relation", "add", "get", "update", "remove",
                             "find", "relate", "unrelate", "relations", "history", "import",
                             "export", "types", "type", "relation_types" }) do
            assert.are.equal("function", type(relm.cmdb[f]), f)
        end
    end)

    it("merges the functions of every relm.core.cmdb_* module without replacing its own", function()
        package.preload["relm.core.cmdb_zz_spec"] = function()
            return { spec_probe = function() return "probe" end, add = function() return "wrong" end,
                     not_a_function = 1 }
        end
        package.loaded["relm.cmdb"] = nil
        local m = require "relm.cmdb"
        assert.are.equal("probe", m.spec_probe())
        assert.are_not.equal("wrong", select(2, pcall(m.add, {})))
        assert.is_nil(m.not_a_function)
    end)
end)
