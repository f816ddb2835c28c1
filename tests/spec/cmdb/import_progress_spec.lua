-- import_progress_spec.lua: relm.cmdb.import's progress = function(done,
-- total) option, and the connection settings a fast import restores.
local cmdb = relm.cmdb
local TMP = os.getenv("RELM_TEST_TMP") or "/tmp"

-- Write n CIs (CSV or JSON Lines) and return the path and its size.
local function big_file(n, ext)
    local path = ("%s/progress_%d.%s"):format(TMP, n, ext)
    local f = assert(io.open(path, "wb"))
    if ext == "csv" then
        f:write("name,type,note\n")
    end
    for i = 1, n do
        if ext == "csv" then
            f:write(("p-%06d,host,%s\n"):format(i, ("x"):rep(40)))
        else
            f:write(('{"name":"j-%06d","type":"host","note":"%s"}\n'):format(i, ("x"):rep(40)))
        end
    end
    local size = f:seek("end")
    f:close()
    return path, size
end

-- A progress function that records its calls and takes 0.12 s of CPU each
-- time: the hook is rate-limited to ~10 calls a second, so a slow display
-- is what makes it call back once per block read.
local function recorder()
    local calls = {}
    return calls, function(done, total)
        calls[#calls + 1] = { done, total }
        local t0 = os.clock()
        while os.clock() - t0 < 0.12 do end
    end
end

local function cis()
    return relm.sql("SELECT count(*) AS n FROM cis")[1].n
end

setup(function()
    cmdb.define_type{ name = "host", attributes = { note = "string" } }
end)

describe("relm.cmdb.import{progress = fn}", function()
    it("calls fn with increasing bytes read, ending at the file size (CSV)", function()
        local path, size = big_file(5000, "csv") -- about 300 KB: 5 blocks
        local calls, fn = recorder()
        assert.are.equal(5000, cmdb.import(path, { progress = fn }))
        assert.is_true(#calls >= 3, "calls: " .. #calls)
        for i, c in ipairs(calls) do
            assert.are.equal(size, c[2])
            assert.is_true(c[1] <= c[2])
            if i > 1 then assert.is_true(c[1] > calls[i - 1][1]) end
        end
        assert.are.equal(size, calls[#calls][1])
    end)

    it("calls fn with increasing bytes read, ending at the file size (JSON Lines)", function()
        local path, size = big_file(3000, "jsonl")
        local calls, fn = recorder()
        assert.are.equal(3000, cmdb.import(path, { progress = fn }))
        assert.is_true(#calls >= 2, "calls: " .. #calls)
        for i = 2, #calls do assert.is_true(calls[i][1] > calls[i - 1][1]) end
        assert.are.same({ size, size }, calls[#calls])
    end)

    it("can be absent, and must be a function", function()
        local path = big_file(10, "csv")
        assert.are.equal(10, cmdb.import(path))
        local ok, err = pcall(cmdb.import, path, { progress = "bar" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
        assert.truthy(err.message:find("progress", 1, true))
    end)

    it("an error raised by fn stops the import: nothing written, the error raised", function()
        local path = big_file(2000, "csv")
        local before = cis()
        local ok, err = pcall(cmdb.import, path, { progress = function() error("user stop") end })
        assert.is_false(ok)
        assert.truthy(tostring(err):find("user stop", 1, true))
        assert.are.equal(before, cis())
    end)
end)

-- The import turns foreign keys and CHECK constraints off for its load
-- (it has checked both in C); they must be back on afterwards, whether the
-- import succeeded or failed.
describe("relm.cmdb.import leaves the connection's checks as it found them", function()
    local function checks()
        return relm.sql("PRAGMA foreign_keys")[1].foreign_keys,
            relm.sql("PRAGMA ignore_check_constraints")[1].ignore_check_constraints
    end

    it("after a good and after a refused import", function()
        local good = big_file(20, "csv")
        cmdb.import(good)
        assert.are.same({ 1, 0 }, { checks() })
        local bad = ("%s/progress_bad.csv"):format(TMP)
        local f = assert(io.open(bad, "wb"))
        f:write("name,type,note\nb1,host,x\nb2,nosuchtype,y\n")
        f:close()
        assert.is_false(pcall(cmdb.import, bad))
        assert.are.same({ 1, 0 }, { checks() })
    end)
end)
