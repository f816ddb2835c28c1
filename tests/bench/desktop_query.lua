-- desktop_query.lua: the relm side of the desktop benchmark, run inside
-- relm on the generated database: relm run desktop_query.lua USER REPS
-- Prints "desktop MIN MEDIAN ITEMS" (relm.desktop() as USER: every item,
-- situation and delay, sorted, counts) and "counts MIN MEDIAN TOTAL",
-- CPU seconds (os.clock).
local user, reps = arg[1], tonumber(arg[2] or "20")

local function measure(rounds, fn)
    local t, n = {}, nil
    for i = 1, rounds do
        local t0 = os.clock()
        n = fn()
        t[i] = os.clock() - t0
    end
    table.sort(t)
    return t[1], t[(rounds + 1) // 2], n
end

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
