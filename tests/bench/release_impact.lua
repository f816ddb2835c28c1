-- release_impact.lua: the relm side of the release impact benchmark, run
-- inside relm on a copy of the 1M-CI CMDB: relm run release_impact.lua REPS
-- Registers a release touching 50 CIs (2 clusters, 18 servers, 25 apps,
-- 5 services), then prints
--   first MIN MEDIAN N      relm.release.impact in a fresh process (builds
--                           the in-memory graph)
--   impact MIN MEDIAN N     relm.release.impact again (N = CIs reached)
--   cmdb MIN MEDIAN N       baseline: relm.cmdb.impact "up" of the same 50
--                           CIs, every row read (name, type: the CMDB's
--                           fast path with the same lookups)
-- CPU seconds (os.clock).
local reps = tonumber(arg[1] or "20")

local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")

local names = {}
for i = 1, 2 do names[#names + 1] = ("cluster-%04d"):format(i * 311) end
for i = 1, 18 do names[#names + 1] = ("srv-%06d"):format(i * 9973 % 200000) end
for i = 1, 25 do names[#names + 1] = ("app-%05d"):format(i * 3581 % 90000) end
for i = 1, 5 do names[#names + 1] = ("svc-%05d"):format(i * 1999 % 10000) end

local r = relm.release.register { title = "Bench: a release touching 50 CIs", workflow = "standard" }
for _, n in ipairs(names) do
    relm.release.relate(r.id, "ci", n)
end

local t0 = os.clock()
local first = relm.release.impact(r.id)
local dt = os.clock() - t0
print(("first %.6f %.6f %d"):format(dt, dt, first.impacted))
print(("impact %.6f %.6f %d"):format(measure(reps, function() return relm.release.impact(r.id).impacted end)))
local up = { direction = "up" }
print(("cmdb %.6f %.6f %d"):format(measure(reps, function()
    local n = 0
    for _, name in ipairs(names) do
        for _, row in ipairs(relm.cmdb.impact(name, up)) do
            n = n + (row.type and 1 or 0)
        end
    end
    return n
end)))
print(("facts touched=%d impacted=%d services=%d"):format(first.touched, first.impacted, #first.services))
