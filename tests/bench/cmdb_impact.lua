-- cmdb_impact.lua: the relm side of the CMDB impact benchmarks, run inside
-- relm on the 1M-CI database: relm run cmdb_impact.lua MODE NAME REPS
--   first  NAME      one impact "up" in a fresh process (adjacency build + BFS)
--   later  NAME REPS impact "up" again and again on the built adjacency
--   rows   NAME REPS impact "up" and read every row (name, via) : small sets
--   cte    NAME REPS the same query as a recursive CTE through relm.sql
-- Prints "MIN MEDIAN COUNT" (CPU seconds, os.clock), and extra facts.
local mode, name, reps = arg[1], arg[2], tonumber(arg[3] or "1")

local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")

local up = { direction = "up" }
if mode == "first" then
    local t0 = os.clock()
    local n = #relm.cmdb.impact(name, up)
    local dt = os.clock() - t0
    print(("%.6f %.6f %d"):format(dt, dt, n))
elseif mode == "later" then
    relm.cmdb.impact(name, up)
    print(("%.6f %.6f %d"):format(measure(reps, function()
        return #relm.cmdb.impact(name, up)
    end)))
elseif mode == "rows" then
    relm.cmdb.impact(name, up)
    print(("%.6f %.6f %d"):format(measure(reps, function()
        local res = relm.cmdb.impact(name, up)
        local n = 0
        for _, r in ipairs(res) do
            n = n + #r.via + #r.name
        end
        return #res
    end)))
elseif mode == "cte" then
    local q = [[WITH RECURSIVE up(id) AS (
            SELECT id FROM cis WHERE name = ?1
            UNION SELECT r.from_id FROM relationships r JOIN up ON r.to_id = up.id)
        SELECT count(*) - 1 AS n FROM up]]
    print(("%.6f %.6f %d"):format(measure(reps, function()
        return relm.sql(q, name)[1].n
    end)))
else
    error("usage: cmdb_impact.lua first|later|rows|cte NAME [REPS]")
end
