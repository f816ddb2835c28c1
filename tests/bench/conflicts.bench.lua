-- conflicts.bench.lua: relm.release.conflicts on a CMDB of 101,001 CIs (a
-- service over 1,000 apps over 100 servers each), with a blackout on the
-- service and 200 releases planned over the same day on random servers:
-- the release under test touches one server, so both the blackout (down
-- from the service) and every neighbour (up and down from its CI) need
-- the graph. The graph is warm (relm.cmdb.impact built it), as in a REPL
-- or `serve` that has walked it once. Baseline: what a user writes
-- without relm: the same questions as recursive CTEs through relm.sql.
local dir = os.getenv("BENCH_TMP") or "/tmp"
local APPS, SERVERS = 1000, 100

local f = assert(io.open(dir .. "/cis.csv", "w"))
f:write("name,type\nsvc,service\n")
for a = 1, APPS do
    f:write(("app-%d,app\n"):format(a))
    for s = 1, SERVERS do
        f:write(("srv-%d-%d,server\n"):format(a, s))
    end
end
f:close()
f = assert(io.open(dir .. "/rels.csv", "w"))
f:write("from,kind,to\n")
for a = 1, APPS do
    f:write(("svc,depends_on,app-%d\n"):format(a))
    for s = 1, SERVERS do
        f:write(("app-%d,depends_on,srv-%d-%d\n"):format(a, a, s))
    end
end
f:close()
for _, t in ipairs({ "app", "server", "service" }) do
    relm.cmdb.define_type { name = t, attributes = {} }
end
relm.cmdb.import(dir .. "/cis.csv", { format = "csv", kind = "cis" })
relm.cmdb.import(dir .. "/rels.csv", { format = "csv", kind = "relationships" })
relm.window.add { name = "freeze", kind = "blackout", starts = "2027-12-20T00:00Z", duration = "10d",
    services = { "svc" } }
local DAY, DAY_END = "2027-12-22T10:00:00Z", "2027-12-22T12:00:00Z"
math.randomseed(42)
relm.tx(function()
    for i = 1, 200 do
        local r = relm.release.register { title = "n" .. i, planned_start = DAY, planned_end = DAY_END }
        relm.release.relate(r.id, "ci", ("srv-%d-%d"):format(math.random(APPS), math.random(SERVERS)))
    end
end)
local r = relm.release.register { title = "subject", planned_start = DAY, planned_end = DAY_END }
relm.release.relate(r.id, "ci", "app-7")
relm.cmdb.impact("svc", { direction = "down" }) -- warm graph

local function measure(rounds, fn)
    local t = {}
    for i = 1, rounds do
        local t0 = os.clock()
        fn()
        t[i] = os.clock() - t0
    end
    table.sort(t)
    return t[1], t[(rounds + 1) // 2]
end

local n = #relm.release.conflicts(r.id)
local smin, smed = measure(20, function()
    relm.release.conflicts(r.id)
end)
print(("subject %.6f %.6f relm.release.conflicts (%d conflicts, with paths)"):format(smin, smed, n))

-- The baseline: the CI's closure both ways and the service's closure down,
-- as recursive CTEs, then the overlapping releases on the closure and the
-- blackouts whose service reaches the CI (no paths, no recurrence).
local SQL = [[
WITH RECURSIVE
mine(id) AS (SELECT ci_id FROM release_cis WHERE release_id = ?1),
down(id) AS (SELECT id FROM mine UNION SELECT r.to_id FROM relationships r JOIN down ON r.from_id = down.id),
up(id) AS (SELECT id FROM mine UNION SELECT r.from_id FROM relationships r JOIN up ON r.to_id = up.id),
near(id) AS (SELECT id FROM down UNION SELECT id FROM up),
svc(wid, id) AS (SELECT w.id, s.ci_id FROM windows w JOIN window_scope s ON s.window_id = w.id
    WHERE w.kind = 'blackout' AND w.scope = 'services' AND w.starts < ?3 AND w.ends > ?2
    UNION SELECT svc.wid, r.to_id FROM relationships r JOIN svc ON r.from_id = svc.id)
SELECT 'scheduled', o.id FROM releases o JOIN release_cis c ON c.release_id = o.id
    WHERE o.id <> ?1 AND o.status IN ('open', 'suspended') AND o.planned_start < ?3 AND o.planned_end > ?2
    AND c.ci_id IN (SELECT id FROM near)
UNION ALL
SELECT 'blackout', wid FROM svc WHERE id IN (SELECT id FROM mine)]]
local m = #relm.sql(SQL, r.id, DAY, DAY_END)
local bmin, bmed = measure(5, function()
    relm.sql(SQL, r.id, DAY, DAY_END)
end)
print(("baseline %.6f %.6f recursive CTEs through relm.sql (%d rows, no paths)"):format(bmin, bmed, m))
print("target 1")
assert(n == m, ("relm found %d conflicts, the CTE %d rows"):format(n, m))
