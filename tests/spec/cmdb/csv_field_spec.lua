-- csv_field_spec.lua: long CSV fields. libcsv grew its buffer 128 bytes at
-- a time (a 10 MB field took quadratic time under ASan); it now grows
-- geometrically, and a field over 32 MB is refused naming row:column.
local cmdb = relm.cmdb

local function file(text)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    return path
end

setup(function()
    cmdb.define_type { name = "doc", attributes = { body = "string" } }
end)

describe("a CSV import with a long field", function()
    it("imports a 10 MB quoted field intact", function()
        local body = ("0123456789abcdef"):rep(10 * 65536) -- 10 MB
        local p = file('name,type,body\nbig,doc,"' .. body .. '"\nsmall,doc,x\n')
        assert.are.equal(2, cmdb.import(p, { format = "csv", kind = "cis" }))
        os.remove(p)
        local ci = cmdb.get("big")
        assert.are.equal(#body, #ci.body)
        assert.are.equal(body, ci.body)
    end)

    it("refuses a field over 32 MB with its row and column, writing nothing", function()
        local before = relm.sql("SELECT count(*) AS n FROM cis")[1].n
        local p = file('name,type,body\nok,doc,x\nhuge,doc,"' .. ("x"):rep(33 * 1048576) .. '"\n')
        local ok, err = pcall(cmdb.import, p, { format = "csv", kind = "cis" })
        os.remove(p)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_csv"), tostring(err))
        assert.matches(":3:3: field longer than 32 MB", err.message)
        assert.are.equal(before, relm.sql("SELECT count(*) AS n FROM cis")[1].n)
    end)
end)
