-- modes_spec.lua: what an analyst used to the sqlite3 shell reaches for,
-- the Lua way: output modes and headers, output to a file, a timer, the
-- schema, an init file, a script preloaded before the REPL, a traceback on
-- demand; and results to a pipe come out whole.
local H = dofile("tests/fixtures/cli_helper.lua")
local q = H.q

local SQL = [[relm.sql("SELECT 1 AS id, 'a, \"b\"' AS name UNION ALL SELECT 2, 'c' ORDER BY id")]]

-- relm -e CODE in a fresh directory with extra options; returns code,
-- stdout, stderr and the directory.
local function e(opts, code, env)
    local dir = H.fresh_dir("modes")
    local rc, out, err = H.relm(dir, "--db r.db " .. opts .. " -e " .. q(code),
        { env = "HOME=" .. q(dir) .. " " .. (env or "") })
    return rc, out, err, dir
end

describe("output modes", function()
    it("prints any records as csv, json, jsonl, box, line and markdown", function()
        local cases = {
            csv = 'id,name\r\n1,"a, ""b"""\r\n2,c\r\n',
            json = '[{"id":1,"name":"a, \\"b\\""},\n{"id":2,"name":"c"}]\n',
            jsonl = '{"id":1,"name":"a, \\"b\\""}\n{"id":2,"name":"c"}\n',
            box = "┌────┬────────┐\n│ id │ name   │\n├────┼────────┤\n│  1 │ a, \"b\" │\n"
                .. "│  2 │ c      │\n└────┴────────┘\n(2 rows)\n",
            line = "  id = 1\nname = a, \"b\"\n\n  id = 2\nname = c\n",
            markdown = '| id | name |\n|---:|---|\n| 1 | a, "b" |\n| 2 | c |\n',
        }
        for mode, want in pairs(cases) do
            local rc, out, err = e("--mode " .. mode, SQL)
            assert.are.equal(0, rc, err)
            assert.are.equal(want, out, mode)
            -- The same from inside: relm.mode("...").
            rc, out, err = e("", "relm.mode(" .. q(mode):gsub("'", '"') .. ") return " .. SQL)
            assert.are.equal(0, rc, err)
            assert.are.equal(want, out, "relm.mode " .. mode)
        end
    end)

    it("leaves the header out with --no-header or relm.mode(m, {header = false})", function()
        local _, out = e("--mode csv --no-header", SQL)
        assert.are.equal('1,"a, ""b"""\r\n2,c\r\n', out)
        _, out = e("", 'relm.mode("table", {header = false}) return ' .. SQL)
        assert.are.equal(" 1  a, \"b\"\n 2  c\n(2 rows)\n", out)
    end)

    it("refuses an unknown mode as a usage error before touching the database", function()
        local rc, _, err, dir = e("--mode xlsx", "1")
        assert.are.equal(2, rc)
        assert.matches("--mode takes table, box, csv", err, 1, true)
        assert.is_nil(H.read(dir .. "/r.db"))
        local ok, e2 = pcall(relm.mode, "xlsx")
        assert.is_false(ok)
        assert.is_true(relm.is_error(e2, "invalid_argument"))
    end)

    it("prints an empty answer as its header and (0 rows)", function()
        local _, out = e("", 'relm.sql("SELECT name FROM users WHERE 0")')
        assert.are.equal("name\n----\n(0 rows)\n", out)
        _, out = e("--mode csv", 'relm.sql("SELECT name FROM users WHERE 0")')
        assert.are.equal("name\r\n", out)
    end)

    it("prints rows whose every value is NULL as rows, not as { {}, {} }", function()
        local _, out = e("", 'relm.sql("SELECT NULL AS email, NULL AS phone UNION ALL SELECT NULL, NULL")')
        assert.are.equal("email  phone\n-----  -----\n\n\n(2 rows)\n", out)
        _, out = e("--mode csv", 'relm.sql("SELECT NULL AS email, NULL AS phone")')
        assert.are.equal("email,phone\r\n,\r\n", out)
        assert.are.equal("a\n-\n\n(1 row)", relm.pretty.show(relm.sql("SELECT NULL AS a")))
    end)
end)

describe("results to a pipe", function()
    it("are neither capped at max_rows nor cut at 40 characters", function()
        local rc, out, err = e("", [[relm.sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            .. "WHERE x < 1500) SELECT x, printf('%060d', x) AS long FROM c")]])
        assert.are.equal(0, rc, err)
        assert.matches("\n1500  0+1500\n%(1500 rows%)\n$", out)
        assert.is_nil(out:find("…", 1, true))
        assert.is_nil(out:find("more rows not shown", 1, true))
    end)
end)

describe("relm.output and relm.once", function()
    it("send results to a file, once or until relm.output()", function()
        local rc, out, err, dir = e("", 'relm.once("once.csv") relm.mode("csv") return ' .. SQL)
        assert.are.equal(0, rc, err)
        assert.are.equal("", out)
        assert.are.equal('id,name\r\n1,"a, ""b"""\r\n2,c\r\n', H.read(dir .. "/once.csv"))
        -- In a piped REPL: output goes to the file until relm.output().
        rc, out, err = H.relm(dir, "--db r.db repl", { env = "HOME=" .. q(dir),
            stdin = 'relm.output("all.txt")\n1 + 1\n"two"\nrelm.output()\n"back"\n' })
        assert.are.equal(0, rc, err)
        assert.are.equal("back\n", out)
        assert.are.equal("2\ntwo\n", H.read(dir .. "/all.txt"))
    end)
end)

describe("the timer, the schema and the traceback", function()
    it("prints the run time on stderr after the results", function()
        local rc, out, err = e("", "relm.timer(true) return 42")
        assert.are.equal(0, rc)
        assert.are.equal("42\n", out)
        assert.matches("^Run time: %d+%.%d%d%d s\n$", err)
    end)

    it("lists the SQL of the schema, all or by name", function()
        local _, out = e("", 'relm.schema("users")')
        assert.matches("^CREATE TABLE users", out)
        assert.is_nil(out:find("CREATE TABLE releases", 1, true))
        assert.matches("CREATE TABLE releases", relm.schema(), 1, true)
        -- A pattern that matches nothing says so, rather than print a blank line.
        _, out = e("", 'relm.schema("relases")')
        assert.are.equal("-- no table, index or view is named like 'relases' (LIKE: % any text, _ one character; "
            .. "relm.schema() prints them all)\n", out)
    end)

    it("gives the traceback of the last error on demand", function()
        local dir = H.fresh_dir("trace")
        local _, out, err = H.relm(dir, "--db r.db repl", { env = "HOME=" .. q(dir),
            stdin = "local function inner() error('deep') end inner()\nrelm.traceback()\n" })
        assert.matches("deep", err)
        assert.matches("stack traceback:", out, 1, true)
        assert.matches("in %a* ?[%a ]*'?inner'?", out)
    end)
end)

describe("start-up of the REPL", function()
    it("runs ~/.relmrc first, unless --no-init", function()
        local dir = H.fresh_dir("rc")
        H.write(dir .. "/.relmrc", 'relm.mode("csv")\nfunction hello() return "from relmrc" end\n')
        local input = "hello()\n" .. SQL .. "\n"
        local rc, out, err = H.relm(dir, "--db r.db repl", { env = "HOME=" .. q(dir), stdin = input })
        assert.are.equal(0, rc, err)
        assert.are.equal('from relmrc\nid,name\r\n1,"a, ""b"""\r\n2,c\r\n', out)
        local rc2, _, err2 = H.relm(dir, "--db r.db --no-init repl", { env = "HOME=" .. q(dir), stdin = input })
        assert.are.equal(1, rc2)
        assert.matches("hello", err2)
        -- An error in the init file names its line; the session still runs.
        H.write(dir .. "/.relmrc", "x = 1\nerror('bad rc')\n")
        rc, out, err = H.relm(dir, "--db r.db repl", { env = "HOME=" .. q(dir), stdin = "40 + 2\n" })
        assert.are.equal("42\n", out)
        assert.matches("%.relmrc:2: bad rc", err)
        assert.are.equal(1, rc)
    end)

    it("preloads a script with -i and stays interactive", function()
        local dir = H.fresh_dir("preload")
        H.write(dir .. "/setup.lua", "local who = ... greeting = 'hi ' .. who\n")
        local rc, out, err = H.relm(dir, "--db r.db -i setup.lua ann",
            { env = "HOME=" .. q(dir), stdin = "greeting\n" })
        assert.are.equal(0, rc, err)
        assert.are.equal("hi ann\n", out)
    end)
end)
