-- impact_spec.lua: relm.release.impact, the union of the "up" impact of the
-- CIs a release touches, grouped by cause, with the business services.
local H = dofile("tests/spec/related/helper.lua")

describe("relm.release.impact", function()
    setup(function() H.setup(); H.cmdb() end)

    it("groups what can break by the CI that causes it and names the services", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "srv-01")
        relm.release.relate(r.id, "ci", "db-01")
        local imp = relm.release.impact(r.number)
        assert.are.equal(r.number, imp.release)
        assert.are.equal(2, imp.touched)
        assert.are.equal(4, imp.impacted) -- web-01, db-01, shop, billing
        assert.are.equal("srv-01", imp.by_ci[1].ci)
        assert.are.equal(4, imp.by_ci[1].count)
        local names = {}
        for _, row in ipairs(imp.by_ci[1].impacted) do
            names[row.name] = row
        end
        assert.are.equal(1, names["web-01"].depth)
        assert.are.equal("web-01", names["shop"].through)
        assert.are.same({ "billing" }, imp.by_ci[2].services)
        assert.are.equal("billing", imp.services[1].name)
        assert.are.same({ "srv-01", "db-01" }, imp.services[1].causes)
        assert.are.equal("shop", imp.services[2].name)
        assert.are.same({ "srv-01" }, imp.services[2].causes)
    end)

    it("prints for a CAB: a line per touched CI and the services", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "srv-01")
        local text = relm.pretty.show(relm.release.impact(r.id))
        assert.matches("touches 1 CI%(s%); 4 CI%(s%) can be affected; 2 business service", text)
        assert.matches("srv%-01%s+server%s+active%s+4%s+2", text)
        assert.matches("services: billing shop", text)
    end)

    it("honours depth and limit; counts stay exact", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "srv-01")
        local imp = relm.release.impact(r.id, { depth = 1 })
        assert.are.equal(2, imp.by_ci[1].count)
        assert.are.same({}, imp.services)
        imp = relm.release.impact(r.id, { limit = 1 })
        assert.are.equal(4, imp.by_ci[1].count)
        assert.are.equal(1, #imp.by_ci[1].impacted)
        assert.is_true(imp.by_ci[1].truncated)
    end)

    it("counts a touched CI that is a service, and sees a CMDB change at once", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "shop")
        local imp = relm.release.impact(r.id)
        assert.are.equal("shop", imp.services[1].name)
        relm.cmdb.add { type = "app", name = "mobile" }
        relm.cmdb.relate("mobile", "depends_on", "shop")
        assert.are.equal(1, relm.release.impact(r.id).by_ci[1].count)
    end)

    it("walks the CMDB's own in-memory graph (one build for both)", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "srv-01")
        relm.cmdb.add { type = "app", name = "graph-probe" }
        relm.cmdb.relate("graph-probe", "depends_on", "srv-01")
        relm.cmdb.unrelate("graph-probe", "depends_on", "srv-01") -- the graph is stale now
        local builds = relm.cmdb.graph_stats().builds
        relm.release.impact(r.id) -- rebuilds the CMDB's graph...
        assert.are.equal(builds + 1, relm.cmdb.graph_stats().builds)
        relm.cmdb.impact("srv-01") -- ...which the CMDB then uses as is
        relm.release.impact(r.id)
        assert.are.equal(builds + 1, relm.cmdb.graph_stats().builds)
    end)

    it("is empty for a release that touches nothing; refuses bad input", function()
        local r = H.release()
        local imp = relm.release.impact(r.id)
        assert.are.equal(0, imp.touched)
        assert.are.equal(0, imp.impacted)
        H.refused("not_found", "no release with id 424242", function() relm.release.impact(424242) end)
        H.refused("invalid_argument", "unknown option 'deep'", function() relm.release.impact(r.id, { deep = 1 }) end)
        H.refused("invalid_argument", "depth must be", function() relm.release.impact(r.id, { depth = -1 }) end)
    end)
end)
