-- desktop_query.lua: the relm side of the desktop benchmark, run inside
-- relm on the generated database: relm run desktop_query.lua USER REPS
-- Prints "desktop MIN MEDIAN ITEMS" (relm.desktop() as USER: every item,
-- situation and delay, sorted, counts) and "counts MIN MEDIAN TOTAL",
-- CPU seconds (os.clock).
local user, reps = arg[1], tonumber(arg[2] or "20")

local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")

relm.user.as(user, function()
    relm.desktop() -- warm the statement cache and the pages
    print(("desktop %.6f %.6f %d"):format(measure(reps, function() return #relm.desktop() end)))
    print(("counts %.6f %.6f %d"):format(measure(reps, function() return relm.desktop.counts().total end)))
    print(("page %.6f %.6f %d"):format(measure(reps, function() return #relm.desktop { limit = 50 } end)))
    local groups = relm.sql([[SELECT count(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE u.name = ?]], user)[1].n
    print(("facts groups=%d releases=%d activities=%d"):format(groups,
        relm.sql("SELECT count(*) AS n FROM releases")[1].n, relm.sql("SELECT count(*) AS n FROM activities")[1].n))
end)
