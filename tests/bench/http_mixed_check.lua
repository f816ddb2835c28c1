-- http_mixed_check.lua: after http_mixed.bench.sh's load, check the
-- database against what the clients were told (run inside relm, reads
-- only). Arguments: the occurrence id the run started after, then the wrk
-- thread logs. Prints "check ..." lines; raises when an update was lost or
-- a refused write changed something.
local mark = assert(math.tointeger(tonumber(arg[1])), "occurrence mark")
local ok, sent, stale, refused, inflight, readfail, server = {}, 0, 0, 0, 0, 0, 0
local nok = 0
for i = 2, #arg do
    local pending = false
    for line in io.lines(arg[i]) do
        local kind, a, b, c = line:match("^(%S+) (%S+) ?(%S*) ?(%S*)")
        if kind == "sent" then
            sent, pending = sent + 1, true
        elseif kind == "ok" then
            local key = a .. " " .. b
            assert(ok[key] == nil, "two writes answered 2xx claim release " .. a .. " version " .. b)
            ok[key] = c
            nok, pending = nok + 1, false
        elseif kind == "stale" then
            stale, pending = stale + 1, false
        elseif kind == "refused" then
            refused, pending = refused + 1, false
        elseif kind == "readfail" then
            readfail = readfail + 1
        elseif kind == "5xx" then
            server, pending = server + 1, false
        end
    end
    -- the thread's last write had no answer when wrk stopped
    if pending then
        inflight = inflight + 1
    end
end
local rows = relm.sql([[SELECT subject_id AS id, action, json_extract(after, '$.row_version') AS v
    FROM occurrences WHERE id > ? AND subject = 'release' ORDER BY id]], mark)
local found, missing = {}, 0
for _, r in ipairs(rows) do
    found[r.id .. " " .. r.v] = r.action
end
for key, action in pairs(ok) do
    if found[key] ~= action then
        missing = missing + 1
        io.stderr:write("lost update: release/version ", key, " (", action, ") answered 2xx, not in the history\n")
    end
end
-- A committed write is one answered 2xx, or one still in flight when wrk
-- stopped; any other would be a 412 or refused write that changed something.
local extra = #rows - nok
-- every release's version is its history's: 2 (register, authorize) + its writes
local drift = relm.sql([[SELECT count(*) AS n FROM releases r WHERE r.row_version <> 2 +
    (SELECT count(*) FROM occurrences o WHERE o.id > ? AND o.subject = 'release' AND o.subject_id = r.id)]], mark)[1].n
print(("check writes sent %d: 2xx %d, 412 %d, other 4xx %d, in flight at the end %d; reads failed %d; 5xx %d")
    :format(sent, nok, stale, refused, inflight, readfail, server))
print(("check history: %d occurrences written during the run, %d of the 2xx missing, %d unexplained, "
    .. "%d releases whose version disagrees"):format(#rows, missing, math.max(0, extra - inflight), drift))
if server > 0 or missing > 0 or extra < 0 or extra > inflight or drift > 0 or readfail > 0 then
    error("http_mixed: server errors, lost updates or refused writes that changed something (above)", 0)
end
