-- import_bulk_spec.lua: a load into an empty CMDB takes the fast path
-- (creates queued and inserted many rows per statement, checks done in C,
-- indexes built at the end); what it writes must be what row-by-row
-- writes would: every row, field, attribute, id order and history.
local cmdb = relm.cmdb
local TMP = os.getenv("RELM_TEST_TMP") or "/tmp"

setup(function()
    cmdb.define_type{ name = "vm", attributes = {
        cpu = "integer", ram = "number", os = { kind = "enum", values = { "linux", "bsd" } },
        note = "string",
    } }
end)

describe("relm.cmdb.import into an empty CMDB", function()
    it("a bad row after full batches writes nothing (the CMDB stays empty)", function()
        local path = TMP .. "/bulk_bad.csv"
        local f = assert(io.open(path, "wb"))
        f:write("name,type,cpu\n")
        for i = 1, 200 do f:write(("x-%03d,vm,%d\n"):format(i, i)) end
        f:write("x-bad,vm,many\n")
        f:close()
        local ok, err = pcall(cmdb.import, path)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_attribute"))
        assert.are.equal(path .. ":202:3: ", err.message:sub(1, #path + 8))
        assert.are.equal(0, relm.sql("SELECT count(*) AS n FROM cis")[1].n)
    end)

    it("writes every row of a file longer than one batch, in file order", function()
        local n = 64 * 2 + 3 -- two full batches and a remainder
        local path = TMP .. "/bulk.csv"
        local f = assert(io.open(path, "wb"))
        f:write("name,type,status,criticality,version,location,cpu,ram,os,note\n")
        for i = 1, n do
            f:write(("vm-%03d,vm,%s,%s,%s,%s,%d,%s,%s,%s\n"):format(i,
                i % 2 == 0 and "deployment" or "", i % 3 == 0 and "high" or "",
                i % 5 == 0 and "" or ("1." .. i), i % 7 == 0 and "" or "dc1",
                i, i % 4 == 0 and "1.5" or "-0", i % 2 == 0 and "bsd" or "linux",
                i % 6 == 0 and '"a, ""quoted"" note"' or ""))
        end
        f:close()
        assert.are.equal(n, cmdb.import(path))
        local rows = relm.sql("SELECT id, name FROM cis ORDER BY id")
        assert.are.equal(n, #rows)
        for i = 1, n do
            assert.are.equal(("vm-%03d"):format(i), rows[i].name)
            local ci = cmdb.get(("vm-%03d"):format(i))
            assert.are.equal(i % 2 == 0 and "deployment" or "active", ci.status)
            if i % 3 == 0 then assert.are.equal("high", ci.criticality) else assert.is_nil(ci.criticality) end
            if i % 5 == 0 then assert.is_nil(ci.version) else assert.are.equal("1." .. i, ci.version) end
            assert.are.equal(i, ci.cpu)
            assert.are.equal(i % 4 == 0 and 1.5 or 0, ci.ram)
            assert.are.equal(i % 2 == 0 and "bsd" or "linux", ci.os)
            if i % 6 == 0 then assert.are.equal('a, "quoted" note', ci.note) else assert.is_nil(ci.note) end
        end
        local h = cmdb.history("vm-130")
        assert.are.equal(1, #h)
        assert.are.equal("create", h[1].action)
        assert.are.equal("import " .. path, h[1].origin)
        -- the name index is back and unique
        assert.is_false(pcall(cmdb.add, "vm", { name = "vm-001" }))
    end)
end)
