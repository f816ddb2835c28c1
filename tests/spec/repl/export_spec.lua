-- export_spec.lua: relm.export writes any array of records (relm.sql
-- results, a script's own rows) as CSV (RFC 4180), JSON or JSON lines, and
-- refuses what it does not write; relm.progress reports how far work got.
local cjson = require "cjson"

local dir = os.getenv("RELM_TEST_TMP") or "/tmp"

local read = dofile("tests/fixtures/spec_helper.lua").read

describe("relm.export", function()
    local rows = {
        { id = 1, name = "web01", note = 'says "hi", twice' },
        { id = 2, name = "db01", note = "two\nlines" },
        { id = 3, name = "cache", ratio = 0.5 },
    }

    it("writes CSV per RFC 4180: header, CRLF, quoted fields, quotes doubled", function()
        local path = dir .. "/x.csv"
        assert.are.equal(3, relm.export(rows, path))
        assert.are.equal('id,name,note,ratio\r\n1,web01,"says ""hi"", twice",\r\n'
            .. '2,db01,"two\nlines",\r\n3,cache,,0.5\r\n', read(path))
    end)

    it("writes relm.sql results in their column order, also as JSON and JSON lines", function()
        local res = relm.sql("SELECT name, 1 AS one, NULL AS missing FROM users ORDER BY name")
        local json = dir .. "/users.json"
        assert.are.equal(#res, relm.export(res, json))
        assert.matches('^%[{"name":"admin","one":1,"missing":null}', read(json))
        assert.are.equal("admin", cjson.decode(read(json))[1].name)
        local jsonl = dir .. "/users.jsonl"
        relm.export(res, jsonl)
        assert.are.equal('{"name":"admin","one":1,"missing":null}', read(jsonl):match("^[^\n]+"))
        -- The format option wins over the extension; columns pick and order.
        local txt = dir .. "/users.txt"
        relm.export(res, txt, { format = "csv", columns = { "one", "name" }, header = false })
        assert.are.equal("1,admin\r\n", read(txt):match("^[^\n]+\n"))
        -- An empty answer keeps its header.
        relm.export(relm.sql("SELECT name FROM users WHERE 0"), dir .. "/none.csv")
        assert.are.equal("name\r\n", read(dir .. "/none.csv"))
    end)

    it("writes wide records and values of every type", function()
        local wide, columns = {}, {}
        for i = 1, 100 do
            columns[i] = ("c%03d"):format(i)
            wide[columns[i]] = i
        end
        wide.c050 = "a,b"
        wide.c051 = true
        wide.c052 = { "x", "y" }
        local path = dir .. "/wide.csv"
        relm.export({ wide }, path)
        local header, line = read(path):match("^([^\r]*)\r\n([^\r]*)\r\n$")
        assert.are.equal(table.concat(columns, ","), header)
        assert.matches(',49,"a,b",true,"%[""x"",""y""%]",53,', line)
        assert.matches(",100$", line)
    end)

    it("refuses a format it does not write, naming the path, and writes nothing", function()
        for _, path in ipairs({ dir .. "/x.xlsx", dir .. "/noext" }) do
            local ok, err = pcall(relm.export, rows, path)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
            assert.matches(path, err.message, 1, true)
            assert.is_nil(read(path))
        end
        local ok, err = pcall(relm.export, rows, dir .. "/x.csv", { format = "xlsx" })
        assert.is_false(ok)
        assert.matches("format must be", err.message)
    end)

    it("refuses what is not an array of records", function()
        for _, bad in ipairs({ "rows", { 1, 2 }, { name = "a single record" } }) do
            local ok, err = pcall(relm.export, bad, dir .. "/bad.csv")
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
        end
        assert.is_nil(read(dir .. "/bad.csv"))
        local ok, err = pcall(relm.export, rows, dir .. "/no/such/dir/x.csv")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "io_error"), tostring(err))
    end)

    it("leaves the old file whole when the export fails half-way", function()
        local path = dir .. "/keep.csv"
        relm.export(rows, path)
        local before = read(path)
        -- The second row raises when read, after the first was written.
        local bad = { { id = 1 }, setmetatable({}, { __index = function() error("row unreadable") end }) }
        local ok, err = pcall(relm.export, bad, path, { columns = { "id" } })
        assert.is_false(ok)
        assert.matches("row unreadable", tostring(err))
        assert.are.equal(before, read(path))
        assert.is_nil(read(path .. ".relm-tmp"))
    end)

    it("tells a progress callback how far it got, the last call with the total", function()
        local many = {}
        for i = 1, 5000 do
            many[i] = { id = i }
        end
        local calls = {}
        relm.export(many, dir .. "/many.csv", { progress = function(done, total)
            calls[#calls + 1] = { done, total }
        end })
        assert.is_true(#calls >= 1)
        assert.are.same({ 5000, 5000 }, calls[#calls])
    end)
end)

describe("relm.progress", function()
    it("draws rows/s and an ETA", function()
        local p = require "relm.progress"
        assert.are.equal("import x.csv: 50,000/200,000 rows (25%), 25,000 rows/s, ETA 6s",
            p.line("import x.csv", 50000, 200000, 2))
        assert.are.equal("work: 10 rows, 5 rows/s", p.line("work", 10, nil, 2))
    end)

    it("draws and finishes the terminal line for a hook of its own", function()
        local p = require "relm.progress"
        local written = {}
        local real, delay, interval = io.stderr, p.delay, p.interval
        -- luacheck: push ignore 122 (standard error swapped for a recorder)
        io.stderr = { write = function(_, ...)
            for _, s in ipairs({ ... }) do
                written[#written + 1] = s
            end
        end, flush = function() end }
        p.delay, p.interval = 0, 0
        local ok, err = pcall(function()
            local report = p.terminal("import cis.csv", "bytes", true)
            report(0, 1000)
            report(500, 1000)
            report(1000, 1000)
        end)
        io.stderr, p.delay, p.interval = real, delay, interval
        -- luacheck: pop
        assert(ok, err)
        local text = table.concat(written)
        assert.matches("\rimport cis.csv: 500/1,000 bytes %(50%%%)", text)
        assert.matches("\rimport cis.csv: 1,000/1,000 bytes %(100%%%), [%d,]+ bytes/s\27%[K\n$", text)
    end)

    it("stays silent when nobody listens and stderr is not a terminal", function()
        assert.is_nil(require("relm.progress").new { total = 10, terminal = false })
    end)
end)
