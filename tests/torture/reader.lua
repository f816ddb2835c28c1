-- reader.lua: read until the file STOP exists: full scans of the CIs and
-- the counter (which may never go back), through relm.sql and
-- relm.cmdb.get. Any error is a failure. Prints the number of reads.
--   relm --db DB run tests/torture/reader.lua STOP
local stop = ...
local reads, last = 0, -1
local function stopped()
    local f = io.open(stop)
    if f then
        f:close()
    end
    return f ~= nil
end
while not stopped() do
    local ok, err = pcall(function()
        relm.sql("SELECT count(*) AS n, sum(length(attributes)) AS b FROM cis WHERE name LIKE '%7%'")
        local n = relm.cmdb.get("ctr").n
        if n < last then
            error("the counter went back from " .. last .. " to " .. n)
        end
        last = n
    end)
    if not ok then
        io.stderr:write("reader: ", tostring(err), "\n")
        os.exit(1, true)
    end
    reads = reads + 1
end
print(reads)
