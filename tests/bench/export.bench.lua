-- export.bench.lua: the cost of relm.export's CSV (RFC 4180 quoting,
-- column order, a file renamed into place) against the loop a careful
-- script author writes by hand for these known columns: fields joined with
-- commas, text fields quoted when they hold a comma, quote or line break.
-- 200,000 records of five fields; target ratio <= 1.5.
local N = 200000
local rows = {}
for i = 1, N do
    rows[i] = { id = i, name = "ci-" .. i, status = i % 7 == 0 and "retired" or "active",
        score = i / 3, note = i % 100 == 0 and 'has "quotes", commas' or "plain note" }
end
local columns = { "id", "name", "status", "score", "note" }
local dir = assert(os.getenv("BENCH_TMP"))

local function subject()
    relm.export(rows, dir .. "/subject.csv", { columns = columns })
end

local function baseline()
    local f = assert(io.open(dir .. "/baseline.csv", "wb"))
    f:write("id,name,status,score,note\r\n")
    for i = 1, N do
        local r = rows[i]
        local name, status, note = r.name, r.status, r.note
        if name:find('[,"\r\n]') then
            name = '"' .. name:gsub('"', '""') .. '"'
        end
        if status:find('[,"\r\n]') then
            status = '"' .. status:gsub('"', '""') .. '"'
        end
        if note:find('[,"\r\n]') then
            note = '"' .. note:gsub('"', '""') .. '"'
        end
        f:write(r.id, ",", name, ",", status, ",", string.format("%.14g", r.score), ",", note, "\r\n")
    end
    f:close()
end

local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")
local s_min, s_mid, b_min, b_mid = measure.interleaved(5, subject, baseline)
-- Both wrote the same bytes.
local a, b = io.open(dir .. "/subject.csv"):read("a"), io.open(dir .. "/baseline.csv"):read("a")
assert(a == b, "relm.export and the hand-written loop disagree")
print(("subject %.6f %.6f relm.export of %d records to CSV"):format(s_min, s_mid, N))
print(("baseline %.6f %.6f a hand-written CSV loop over the same records"):format(b_min, b_mid))
print("target 1.5")
