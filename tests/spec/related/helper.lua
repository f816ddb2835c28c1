-- helper.lua: shared set-up for the related, desktop and search specs: the
-- fixture workflow, people, a small CMDB, releases taken to closure, and
-- row counts that show whether anything was written. Not a spec itself.
local S = dofile("tests/fixtures/spec_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")
local H = {}

H.WF = "shimflow"

---Load the release specs' fixture workflow (tests/fixtures/workflows/
---shimflow.lua) and make their people (release_helper.lua: bob, carol,
---dave) and erin (ops + leads + cab), a dba group and a suspension reason.
function H.setup()
    R.workflows()
    if relm.user.get("erin") then
        return
    end
    R.people()
    relm.user.add { name = "erin" }
    relm.group.add { name = "dba" } -- cab: in every database
    for _, g in ipairs({ "ops", "leads", "cab" }) do
        relm.group.add_member(g, "erin")
    end
    H.suspend = relm.justification.add { description = "Waiting for the vendor", suspend = true }
end

---A small CMDB: web-01 (app, in development) runs on srv-01 (server);
---shop (service) depends on web-01; db-01 (app, active) runs on srv-01;
---billing (business_service) depends on db-01.
function H.cmdb()
    if relm.sql("SELECT 1 FROM cis WHERE name = 'srv-01'")[1] then
        return
    end
    for _, t in ipairs({ "app", "server", "service", "business_service" }) do
        relm.cmdb.define_type { name = t, attributes = {} }
    end
    relm.cmdb.add { type = "server", name = "srv-01" }
    relm.cmdb.add { type = "app", name = "web-01", status = "in_development" }
    relm.cmdb.add { type = "app", name = "db-01" }
    relm.cmdb.add { type = "service", name = "shop" }
    relm.cmdb.add { type = "business_service", name = "billing" }
    relm.cmdb.relate("web-01", "runs_on", "srv-01")
    relm.cmdb.relate("db-01", "runs_on", "srv-01")
    relm.cmdb.relate("shop", "depends_on", "web-01")
    relm.cmdb.relate("billing", "depends_on", "db-01")
end

---A fresh release of the fixture workflow.
H.release = R.release

---Take release r to the fixture workflow's `resolved` state.
function H.resolve(r)
    relm.release.act(r.id, "authorize")
    relm.release.act(r.id, "execute", { fields = { version = "1.0" } })
    return relm.release.act(r.id, "pass", { fields = { test_result = "ok" } })
end

H.closing = { release_date = "2026-11-20", solution_category = "deployed", closure_text = "Went live without trouble" }

---Row counts of everything relate/unrelate/records/closure may write.
function H.counts()
    local n = S.count
    return {
        release_cis = n("release_cis"), release_links = n("release_links"), records = n("records"),
        record_cis = n("record_cis"), occurrences = n("occurrences"), ci_history = n("ci_history"),
        releases = n("releases"), cis = relm.sql("SELECT group_concat(name || ':' || status) AS s FROM cis")[1].s,
    }
end

---Assert fn raises a relm error with code (and message matching pattern)
---and that nothing was written.
H.refused = S.refuser(function() return H.counts() end)

---Run fn as user name.
function H.as(name, fn)
    return relm.user.as(name, fn)
end

return H
