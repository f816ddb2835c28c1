-- writer.lua: COUNT increments of the counter CI "ctr", each a get then an
-- update inside relm.tx (no update may be lost), each also rewriting the
-- note of a random node (to make the WAL work). Any error is a failure:
-- printed to stderr, exit status 1.
--   relm --db DB run tests/torture/writer.lua COUNT NODES SEED
local count, nodes, seed = tonumber((...)), tonumber((select(2, ...))), tonumber((select(3, ...)))
math.randomseed(seed)
local pad = ("w"):rep(200)
for i = 1, count do
    local t0 = os.time()
    local ok, err = pcall(relm.tx, function()
        local c = relm.cmdb.get("ctr")
        relm.cmdb.update("ctr", { n = c.n + 1 })
        if nodes > 0 then
            local name = ("node-%07d"):format(math.random(nodes))
            relm.cmdb.update(name, { note = ("%s %d %d"):format(pad, seed, i) })
        end
    end)
    if not ok then
        io.stderr:write("writer ", seed, ": increment ", i, ": ", tostring(err),
            (" (after %d s)"):format(os.time() - t0), "\n")
        os.exit(1, true)
    end
end
