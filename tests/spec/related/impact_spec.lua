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
        assert.matches(" touches 1 CI; 4 CIs can be affected (2 business services)", text, 1, true)
        assert.matches("srv%-01%s+server%s+active%s+4%s+billing, shop", text)
        assert.matches("services: billing, shop", text, 1, true)
    end)

    it("prints as CSV rows (a row per touched CI) in relm.mode('csv')", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "srv-01")
        relm.release.relate(r.id, "ci", "db-01")
        local imp = relm.release.impact(r.id)
        relm.mode("csv")
        local ok, text = pcall(relm.pretty.show, imp)
        relm.mode("table")
        assert.is_true(ok, text)
        assert.are.equal('ci,type,status,reaches,services\r\nsrv-01,server,active,4,"billing, shop"\r\n'
            .. "db-01,app,active,1,billing\r", text)
        assert.matches("touches 2 CIs", relm.pretty.show(imp), 1, true) -- the table mode is the summary
    end)

    it("prints a long list of services in a screenful, within 80 columns", function()
        relm.cmdb.add { type = "server", name = "core-switch" }
        for i = 1, 120 do
            local name = ("svc-%03d"):format(i)
            relm.cmdb.add { type = "service", name = name }
            relm.cmdb.relate(name, "depends_on", "core-switch")
        end
        local r = H.release()
        relm.release.relate(r.id, "ci", "core-switch")
        relm.release.relate(r.id, "ci", "db-01")
        local imp = relm.release.impact(r.id)
        assert.are.equal(121, #imp.services)
        local text = tostring(imp)
        local lines = 0
        for line in text:gmatch("[^\n]+") do
            lines = lines + 1
            assert.is_true(utf8.len(line) <= 80, line)
        end
        assert.is_true(lines <= 16, text)
        assert.matches("core%-switch%s+server%s+active%s+120%s+120: svc%-001, svc%-002", text)
        assert.matches("db%-01%s+app%s+active%s+1%s+billing\n", text)
        local more = tonumber(text:match("… (%d+) more %(%.services%)"))
        local listed = select(2, text:match("services:(.*)"):gsub("svc%-%d+", ""))
        assert.are.equal(120, more + listed)
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
