-- pretty_spec.lua: how values print in the REPL and `relm -e`, through
-- relm.pretty called directly on real query results.
local pretty = relm.pretty

local S = dofile("tests/fixtures/spec_helper.lua")

-- Capture what pretty.print writes to stdout.
local function printed(...)
    return S.stdout(pretty.print, ...)
end

describe("relm.pretty.table", function()
    it("keeps relm.sql's column order and aligns the columns", function()
        local rows = relm.sql("SELECT 'admin' AS zname, 1 AS a, 'x' AS m")
        assert.are.equal(table.concat({
            "zname  a  m",
            "-----  -  -",
            "admin  1  x",
            "(1 row)",
        }, "\n"), pretty.table(rows))
    end)

    it("right-aligns columns of numbers, left-aligns text", function()
        local rows = relm.sql("SELECT 'a' AS name, 5 AS n UNION ALL SELECT 'bbbb', 1234 ORDER BY n")
        assert.are.equal(table.concat({
            "name     n",
            "----  ----",
            "a        5",
            "bbbb  1234",
            "(2 rows)",
        }, "\n"), pretty.table(rows))
    end)

    it("prints NULL as an empty cell and floats without noise", function()
        local rows = relm.sql("SELECT NULL AS a, 0.1 + 0.2 AS b, 'z' AS c")
        local lines = {}
        for l in pretty.table(rows):gmatch("[^\n]+") do
            lines[#lines + 1] = l
        end
        assert.are.equal("   0.3  z", lines[3])
    end)

    it("lines up wide characters (two columns each) and combining accents (none)", function()
        local rows = relm.sql("SELECT ? AS a, 1 AS n UNION ALL SELECT ?, 22 UNION ALL SELECT ?, 3",
            "日本語", "ção", "e\u{301}te")
        assert.are.equal(table.concat({
            "a        n",
            "------  --",
            "日本語   1",
            "ção     22",
            "e\u{301}te      3",
            "(3 rows)",
        }, "\n"), pretty.table(rows))
        -- Cut to the columns a terminal shows, never inside a character.
        assert.are.equal("日本…", pretty.cut("日本語日本語", 5))
        assert.are.equal(6, pretty.display_width("東京🎉"))
    end)

    it("cuts long cells with an ellipsis", function()
        local rows = relm.sql("SELECT ? AS long", string.rep("x", 100))
        local line = pretty.table(rows):match("\n(x+…)\n")
        assert.is_not_nil(line)
        assert.are.equal(pretty.max_cell, utf8.len(line))
    end)

    it("narrows the widest columns to fit the terminal width", function()
        local rows = relm.sql("SELECT ? AS a, ? AS b, ? AS c, 42 AS n",
            string.rep("a", 50), string.rep("b", 50), string.rep("c", 50))
        local text = pretty.table(rows, nil, { width = 80 })
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
        assert.matches("aaaa…  bbbb", text)
        assert.matches("  42\n", text)
        -- Without a width (output to a file or pipe) nothing is narrowed.
        assert.matches(string.rep("a", 39) .. "…", pretty.table(rows))
    end)

    it("leaves out, and names, columns with nothing to read when the table is too wide", function()
        local rows = {
            { id = 1, note = string.rep("n", 70), before = { a = 1 }, empty_field = nil, tags = {} },
            { id = 2, note = "short", before = { a = 2 }, tags = {} },
        }
        local text = pretty.table(rows, { "id", "note", "justification_text", "before", "tags" }, { width = 60 })
        assert.matches("^id  note", text)
        assert.is_nil(text:find("before  ", 1, true))
        assert.matches("\nnot shown at this width: justification_text, before, tags\n%(2 rows%)$", text)
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 60, line)
        end
        -- Fitting: nothing is left out.
        assert.matches("^id  note%s+justification_text  before  tags\n", pretty.table(rows, { "id", "note",
            "justification_text", "before", "tags" }))
    end)

    it("shortens timestamps to the minute and keeps numbers whole when narrowing", function()
        local rows = {
            { at = "2026-11-23T12:34:22.669Z", amount = 123456789012, text = string.rep("t", 60) },
        }
        local text = pretty.table(rows, { "at", "amount", "text" }, { width = 50 })
        assert.matches("\n2026%-11%-23 12:34  123456789012  tttt", text)
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 50, line)
        end
        -- Not narrowed: the timestamp prints as stored.
        assert.matches("2026%-11%-23T12:34:22%.669Z", pretty.table(rows, { "at", "amount", "text" }))
    end)

    it("leaves out the rightmost columns when even the narrowest cells cannot fit", function()
        local row = { id = 7 }
        local columns = { "id" }
        for i = 1, 15 do
            local k = string.format("field%02d", i)
            row[k] = string.rep("v", 12)
            columns[#columns + 1] = k
        end
        local text = pretty.table({ row }, columns, { width = 80 })
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
        assert.matches("^id  field", text)
        assert.matches("\n 7  vvvv", text)
        assert.matches("not shown at this width: field%d%d, .*field15\n%(1 row%)$", text)
    end)

    it("keeps every header of an empty result, narrowed to the width", function()
        local columns = { string.rep("a", 20), string.rep("b", 27), string.rep("c", 33), "created_at" }
        local text = pretty.table({}, columns, { width = 60 })
        assert.is_nil(text:find("not shown", 1, true))
        assert.matches("  created_at\n", text)
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 60, line)
        end
    end)

    it("puts timestamps (*_at) after the other keys of plain records", function()
        local text = pretty.table({ { created_at = "x", zeta = 1, name = "n", id = 7, number = "R-1" } })
        assert.matches("^id  number  name  zeta  created_at\n", text)
    end)

    it("sorts keys of plain records with id and name first", function()
        local text = pretty.table({ { z = 1, name = "n", id = 7, a = true } })
        assert.matches("^id  name  a     z\n", text)
    end)

    it("names its argument when it is not a table", function()
        local ok, err = pcall(pretty.table, "rows")
        assert.is_false(ok)
        assert.matches("argument #1 %(rows%)", err)
    end)

    it("stops at max_rows and says how many were left out", function()
        local rows = relm.sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30) "
            .. "SELECT x FROM c")
        local text = pretty.table(rows, nil, { max_rows = 5 })
        assert.matches("\n5\n… 25 more rows not shown", text)
        assert.matches("%(30 rows%)$", text)
        assert.is_nil(text:find("\n6\n", 1, true))
    end)
end)

describe("relm.pretty.show", function()
    it("prints an empty query result as its header and (0 rows)", function()
        local text = pretty.show(relm.sql("SELECT name FROM users WHERE 0"))
        assert.are.equal("name\n----\n(0 rows)", text)
    end)

    it("prints any empty list whose metatable names its columns as header and (0 rows)", function()
        local text = pretty.show(relm.change.list { status = "no such status" })
        assert.matches("^number%s+title%s+status%s+url%s+created_at\n[- ]+\n%(0 rows%)$", text)
        assert.are.equal("a  b\n-  -\n(0 rows)", pretty.show(setmetatable({}, { columns = { "a", "b" } })))
        -- A plain empty table is still Lua's {}.
        assert.are.equal("{}", pretty.show({}))
    end)

    it("prints an array of records as a table", function()
        assert.matches("^name\n%-%-%-%-%-\nadmin\n%(1 row%)$", pretty.show(relm.sql("SELECT name FROM users")))
    end)

    it("shows records nested in records as {…}, to be looked at one by one", function()
        local text = pretty.show({ { a = 1, b = { x = 1 } }, { a = 2, b = {} } })
        assert.are.equal("a  b\n-  ---\n1  {…}\n2  {}\n(2 rows)", text)
    end)

    it("prints a single record with nested tables as readable Lua", function()
        assert.are.equal("{ a = 1, b = { x = 1 } }", pretty.show({ a = 1, b = { x = 1 } }))
    end)

    it("prints a list of scalars inside a record as one cell", function()
        local text = pretty.show({ { a = 1, via = { "app runs_on db", "db part_of dc" } }, { a = 2 } })
        assert.are.equal(
            "a  via\n-  -----------------------------\n1  app runs_on db, db part_of dc\n2\n(2 rows)", text)
    end)

    it("prints an array of empty tables as Lua, not as a table of nothing", function()
        assert.are.equal("{ {}, {} }", pretty.show({ {}, {} }))
    end)

    it("shows binary cells (BLOBs) by their size, not as raw bytes", function()
        local out = pretty.show(relm.sql("SELECT x'00ff10' AS b, 'é' AS t"))
        assert.are.equal("b          t\n---------  -\n<3 bytes>  é\n(1 row)", out)
    end)

    it("shows a hole in an array rather than closing it up", function()
        assert.are.equal("{ 1, 2, [4] = 4 }", pretty.show({ 1, 2, nil, 4 }))
        assert.are.equal("{ [2] = 2 }", pretty.show({ nil, 2 }))
        assert.are.equal("{ 1, 2, 3, n = 3 }", pretty.show(table.pack(1, 2, 3)))
    end)

    it("marks cycles instead of recursing forever", function()
        local t = { x = 1 }
        t.self = t
        assert.are.equal("{ self = <cycle>, x = 1 }", pretty.show(t))
    end)

    it("breaks long tables over lines with indentation", function()
        local text = pretty.show({ alpha = string.rep("a", 30), beta = { gamma = string.rep("g", 30) } })
        assert.are.equal(table.concat({
            "{",
            '  alpha = "' .. string.rep("a", 30) .. '",',
            "  beta = {",
            '    gamma = "' .. string.rep("g", 30) .. '"',
            "  }",
            "}",
        }, "\n"), text)
    end)

    it("prints strings as their text and quotes strings inside tables", function()
        assert.are.equal("two\nlines", pretty.show("two\nlines"))
        assert.are.equal('{ "a", 1 }', pretty.show({ "a", 1 }))
    end)

    it("uses __tostring, e.g. for relm errors", function()
        local _, err = pcall(relm.error, "not_found", "no CI named 'x'")
        assert.are.equal("not_found: no CI named 'x'", pretty.show(err))
    end)
end)

describe("relm.pretty.print", function()
    it("prints every result, nil ones included", function()
        assert.are.equal("nil\n1\nnil\n", printed(nil, 1, nil))
    end)

    it("prints nothing for no results", function()
        assert.are.equal("", printed())
    end)
end)
