-- impact_empty_spec.lua: relm.release.impact in a CMDB without a single
-- business service. The empty service list went to qsort as a NULL
-- pointer, which UBSan stops (make asan); the impact is simply service-less.
local H = dofile("tests/spec/related/helper.lua")

describe("relm.release.impact without any service CI", function()
    setup(function()
        H.setup()
        relm.cmdb.define_type { name = "server", attributes = {} }
    end)

    it("lists what can break and no services", function()
        relm.cmdb.add { type = "server", name = "lone-01" }
        relm.cmdb.add { type = "server", name = "lone-02" }
        relm.cmdb.relate("lone-02", "runs_on", "lone-01")
        local r = H.release()
        relm.release.relate(r.id, "ci", "lone-01")
        local imp = relm.release.impact(r.id)
        assert.are.equal(1, imp.touched)
        assert.are.equal(1, imp.impacted)
        assert.are.same({}, imp.services)
        assert.are.same({}, imp.by_ci[1].services)
    end)
end)
