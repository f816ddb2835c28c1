-- check.lua: what must hold after any crash or run: the file is intact
-- (integrity_check), the audit chain verifies, every release's row agrees
-- with the snapshot of its last occurrence, and (with an argument) the
-- count of CIs is one of the allowed values (an import is all or nothing).
-- Prints "ok" or one line per finding; exit status 1 on a finding.
--   relm --db DB run tests/torture/check.lua [allowed_ci_counts, comma-separated]
local allowed = ...
local bad = {}

local ic = relm.sql("PRAGMA integrity_check")
if not (#ic == 1 and ic[1].integrity_check == "ok") then
    bad[#bad + 1] = "integrity_check: " .. tostring(ic[1] and ic[1].integrity_check)
end

local ok, res = pcall(relm.audit.verify)
if not ok then
    bad[#bad + 1] = "audit.verify raised: " .. tostring(res)
elseif res ~= true then
    local r = select(2, relm.audit.verify())
    bad[#bad + 1] = "audit.verify: " .. tostring(type(r) == "table" and r.reason or r)
end

local rows = relm.sql([[
    SELECT r.id, r.state, r.status,
           (SELECT o.after FROM occurrences o WHERE o.subject = 'release' AND o.subject_id = r.id
             ORDER BY o.id DESC LIMIT 1) AS after
    FROM releases r]])
for _, r in ipairs(rows) do
    local state = r.after and r.after:match('"state":"([^"]*)"')
    local status = r.after and r.after:match('"status":"([^"]*)"')
    if state ~= r.state or status ~= r.status then
        bad[#bad + 1] = ("release %d: row says %s/%s, last occurrence %s/%s"):format(r.id, r.state, r.status,
            tostring(state), tostring(status))
    end
end

if allowed then
    local n = relm.sql("SELECT count(*) AS n FROM cis")[1].n
    local fine = false
    for v in allowed:gmatch("%d+") do
        fine = fine or tonumber(v) == n
    end
    if not fine then
        bad[#bad + 1] = ("partial import: %d CIs (allowed: %s)"):format(n, allowed)
    end
end

if #bad == 0 then
    print("ok")
else
    for _, b in ipairs(bad) do
        print(b)
    end
    os.exit(1, true)
end
