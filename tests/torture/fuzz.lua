-- fuzz.lua: a mutation fuzzer for the two kinds of file users hand to
-- relm: CSV imports and workflow files. Each case is a seed mutated a few
-- times (bytes flipped, inserted, deleted, duplicated, spliced from
-- another seed, long runs, NULs, quotes, bad UTF-8), written to WORKDIR
-- and given to the real engine in this process: relm.cmdb.import (in a
-- transaction rolled back afterwards) or relm.workflow.check. Held: the
-- engine answers with a result or a relm error (code: message) within a
-- few seconds; anything else is a failure. Run under the ASan/UBSan build
-- a memory error ends the process: tests/torture/run.sh then reports the
-- case named in WORKDIR/fuzz.progress and goes on from the next one.
--   relm --db DB run tests/torture/fuzz.lua WORKDIR FIRST LAST SEED
local dir, first, last, seed = ...
first, last, seed = tonumber(first), tonumber(last), tonumber(seed)
math.randomseed(seed)

local csv_seeds = {
    "name,type,n,note\nweb-01,node,1,plain\n\"db,02\",node,2,\"quoted \"\"twice\"\"\"\n"
        .. "srv,node,,\"line one\nline two\"\n",
    "from,kind,to\nweb-01,runs_on,srv\ndb,depends_on,srv\n",
    "\239\187\191name,type,n\nbom,node,3\n",
    "name,type,status,criticality,n\na,node,active,high,1\nb,node,retired,low,-2\n",
}
local wf_seeds = {}
for _, p in ipairs({ "tests/fixtures/workflows/shimflow.lua", "tests/fixtures/workflows/unknown_state.lua",
    "workflows/standard.lua", "workflows/emergency.lua" }) do
    local f = io.open(p)
    if f then
        wf_seeds[#wf_seeds + 1] = f:read("a")
        f:close()
    end
end
local specials = { "\0", "\"", ",", "\n", "\r", "\255", "\192\128", "\226\130", "{", "}", "=", "'", "\\", "--",
    "state", "transition", "workflow", "function() end", "nil", "..." }

local function mutate(s, pool)
    for _ = 1, math.random(1, 4) do
        local n = #s
        local at = n > 0 and math.random(1, n) or 1
        local op = math.random(1, 8)
        if op == 1 and n > 0 then -- flip a byte
            s = s:sub(1, at - 1) .. string.char(math.random(0, 255)) .. s:sub(at + 1)
        elseif op == 2 then -- insert a special
            s = s:sub(1, at - 1) .. specials[math.random(#specials)] .. s:sub(at)
        elseif op == 3 and n > 0 then -- delete a range
            s = s:sub(1, at - 1) .. s:sub(at + math.random(1, 16))
        elseif op == 4 and n > 0 then -- duplicate a range
            local e = math.min(n, at + math.random(1, 64))
            s = s:sub(1, e) .. s:sub(at, e) .. s:sub(e + 1)
        elseif op == 5 then -- splice another seed
            local o = pool[math.random(#pool)]
            local oa = math.random(1, math.max(1, #o))
            s = s:sub(1, at - 1) .. o:sub(oa, oa + math.random(1, 200)) .. s:sub(at)
        elseif op == 6 then -- a long run
            local c = specials[math.random(#specials)]
            s = s:sub(1, at - 1) .. c:rep(math.random(1, 1 << math.random(4, 17))) .. s:sub(at)
        elseif op == 7 and n > 0 then -- truncate
            s = s:sub(1, at)
        else -- repeat a line
            local line = s:match("[^\n]*\n", at) or "x\n"
            s = s .. line:rep(math.random(1, 50))
        end
    end
    return s
end

local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
end

local rollback = {}
local tried, held, failed = 0, 0, 0
local progress = dir .. "/fuzz.progress"
for i = first, last do
    local kind = i % 2 == 0 and "csv" or "workflow"
    local pool = kind == "csv" and csv_seeds or wf_seeds
    local text = mutate(pool[math.random(#pool)], pool)
    local path = ("%s/fuzz-case-%d.%s"):format(dir, i, kind == "csv" and "csv" or "lua")
    write(path, text)
    write(progress, ("%d %s %s\n"):format(i, kind, path))
    local t0 = os.clock()
    local ok, err
    if kind == "csv" then
        local rels = text:sub(1, 4) == "from"
        ok, err = pcall(relm.tx, function()
            relm.cmdb.import(path, { format = "csv", kind = rels and "relationships" or "cis" })
            error(rollback)
        end)
        if err == rollback then
            ok, err = true, nil
        end
    else
        ok, err = pcall(relm.workflow.check, path)
    end
    local spent = os.clock() - t0
    tried = tried + 1
    if not ok and not relm.is_error(err) then
        failed = failed + 1
        print(("fuzz: FAILED case %d (%s, kept in %s): not a relm error: %s"):format(i, kind, path, tostring(err)))
    elseif spent > 5 then
        failed = failed + 1
        print(("fuzz: FAILED case %d (%s, kept in %s): took %.1f s of CPU"):format(i, kind, path, spent))
    else
        held = held + 1
        os.remove(path)
    end
end
print(("fuzz %d %d %d"):format(tried, held, failed))
os.exit(failed == 0 and 0 or 1, true)
