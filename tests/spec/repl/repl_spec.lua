-- repl_spec.lua: the REPL as an analyst meets it, typed into a pseudo-
-- terminal by build/tests/ptydrive (tests/pty/ptydrive.c).
local bin = os.getenv("RELM_BIN") or "build/relm" -- tests/run.sh sets RELM_BIN
local driver = bin:gsub("[^/]+$", "") .. "tests/ptydrive"
local tmp = os.getenv("RELM_TEST_TMP") or os.tmpname():gsub("[^/]+$", "")
local counter = 0

-- Shell quoting and files: tests/fixtures/cli_helper.lua.
local H = dofile("tests/fixtures/cli_helper.lua")
local q, write, read = H.q, H.write, H.read


-- A fresh home directory (for ~/.relm_history) and database per session.
local function session_dir()
    counter = counter + 1
    local dir = string.format("%s/repl-%d-%d", tmp, os.time(), counter)
    assert(os.execute("mkdir -p " .. q(dir .. "/home")))
    return dir
end

-- Run `relm --db DIR/r.db repl` in a pseudo-terminal through the steps;
-- returns ok and the driver's transcript (on failure it says which step).
local function drive(dir, steps)
    local f = io.open(driver)
    assert(f, driver .. " is missing: build it with `make " .. driver:gsub("^.*/build/", "build/") .. "`")
    f:close()
    write(dir .. "/steps", table.concat(steps, "\n") .. "\n")
    -- A UTF-8 locale, as a person's terminal has.
    local cmd = string.format("HOME=%s TERM=xterm LC_ALL=C.UTF-8 %s -v -t 10 %s -- %s --db %s repl 2>&1",
        q(dir .. "/home"), q(driver), q(dir .. "/steps"), q(bin), q(dir .. "/r.db"))
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local ok = p:close()
    return ok, out
end

local function assert_session(steps)
    local dir = session_dir()
    local ok, out = drive(dir, steps)
    assert(ok, "REPL session failed:\n" .. out)
    return out, dir
end

describe("the REPL in a terminal", function()
    it("gathers a multi-line function definition and calls it", function()
        assert_session({
            "expect relm> ",
            "send function add(a, b)\\n",
            "expect >> ",
            "send   local s = a + b\\n",
            "expect >> ",
            "send   return s\\n",
            "send end\\n",
            "expect relm> ",
            "send add(2, 40)\\n",
            "expect \\n42\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("stops a running loop on Ctrl-C, twice, and keeps the session", function()
        assert_session({
            "expect relm> ",
            -- print() flushes: once "loop" shows, the loop is running.
            "send print('lo'..'op') while true do end\\n",
            "expect loop\\n",
            "ctrl c",
            "expect interrupted",
            "expect relm> ",
            "send 1+1\\n",
            "expect \\n2\\n",
            -- A loop that swallows errors with pcall is stopped as well.
            "send print('lo'..'op') while true do pcall(function() while true do end end) end\\n",
            "expect loop\\n",
            "ctrl c",
            "expect interrupted",
            "expect relm> ",
            "send 20+22\\n",
            "expect \\n42\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("stops a long SQL query on Ctrl-C", function()
        assert_session({
            "expect relm> ",
            "send print('sq'..'l') return relm.sql('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                .. "SELECT x + 1 FROM c) SELECT count(*) FROM c')\\n",
            "expect sql\\n",
            "sleep 200", -- into sqlite3_step, so the message names relm.sql
            "ctrl c",
            "expect interrupted: relm.sql: interrupted",
            "expect relm> ",
            "send relm.sql('SELECT 6 * 7 AS n')\\n",
            "expect \\n42\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("clears the line on Ctrl-C at the prompt and drops an unfinished chunk", function()
        assert_session({
            "expect relm> ",
            "send error('typed but not run')",
            "ctrl c",
            "expect relm> ",
            "send for i = 1, 3 do\\n",
            "expect >> ",
            "ctrl c",
            "expect relm> ",
            "send 'still' .. ' here'\\n",
            "expect \\nstill here\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("completes relm.sq to relm.sql with Tab", function()
        -- Only a completed name can run: relm.sq is nil.
        assert_session({
            "expect relm> ",
            "send relm.sq\\t('SELECT 6 * 7 AS answer')\\n",
            "expect answer\\n------\\n    42\\n(1 row)",
            "ctrl d",
            "exit 0",
        })
    end)

    it("keeps non-ASCII text typed at the prompt, and numbers print with a dot", function()
        assert_session({
            "expect relm> ",
            'send s = "ção"\\n',
            "expect relm> ",
            "send s .. '|' .. #s\\n",
            "expect \\nção|5\\n",
            "send 3 / 2\\n",
            "expect \\n1.5\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("offers every relm module when Tab is the very first key", function()
        -- Lua-only modules (relm.justification, relm.workflow) are found
        -- on disk, not only the ones loaded already; a second look after a
        -- statement finds them too (no short list was cached).
        assert_session({
            "expect relm> ",
            "send relm.\\t\\t",
            "expect relm.justification",
            "expect relm.workflow",
            "send \\x15\\n",
            "expect relm> ",
            "send relm.ju\\t ~= nil\\n",
            "expect \\ntrue\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("prints query results as aligned tables and errors as code: message", function()
        assert_session({
            "expect relm> ",
            "send relm.sql('select name from users')\\n",
            "expect \\nname\\n-----\\nadmin\\n(1 row)\\n",
            "send relm.sql('delete from users')\\n",
            "expect read_only: relm.sql runs read-only queries",
            "send relm.cmdb.gett('x')\\n",
            "expect (field 'gett')\\ndid you mean relm.cmdb.get?\\n",
            "send return nil, 1\\n",
            "expect \\nnil\\n1\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("fits a wide table to the 80-column terminal, naming what it leaves out", function()
        assert_session({
            "expect relm> ",
            "send relm.sql('SELECT 1 AS id, ? AS at, ? AS a, ? AS b, NULL AS e', "
                .. "'2026-11-23T12:34:22.669Z', ('x'):rep(50), ('y'):rep(50))\\n",
            "expect \\n 1  2026-11-23 12:34  xxxx",
            "expect \\nnot shown at this width: e\\n(1 row)\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("puts the hint of the greeting on a line of its own when a long database path would wrap it", function()
        local dir = session_dir() .. "/" .. string.rep("a-long-directory-name-", 3)
        assert(os.execute("mkdir -p " .. q(dir .. "/home")))
        local ok, long = drive(dir, {
            "expect as admin.\\nhelp() lists the modules; Ctrl-D leaves.\\n",
            "expect relm> ", "ctrl d", "exit 0",
        })
        assert(ok, "REPL session failed:\n" .. long)
    end)

    it("lists the modules with help()", function()
        assert_session({
            "expect relm> ",
            "send help()\\n",
            "expect relm modules",
            "expect how values print",
            "send help(relm.sql)\\n",
            "expect relm.sql(query, ...) -> rows\\n",
            "ctrl d",
            "exit 0",
        })
    end)

    it("writes the history on Ctrl-D and reads it back next time", function()
        local out, dir = assert_session({
            "expect relm> ",
            "send 'hist' .. 'ory'\\n",
            "expect \\nhistory\\n",
            "ctrl d",
            "exit 0",
        })
        assert.is_string(out)
        local hist = read(dir .. "/home/.relm_history")
        assert.is_not_nil(hist, "no ~/.relm_history written")
        assert.matches("'hist'", hist)
        -- Up arrow brings the line back in a new session.
        local ok, again = drive(dir, {
            "expect relm> ",
            "send \\e[A\\n",
            "expect \\nhistory\\n",
            "ctrl d",
            "exit 0",
        })
        assert(ok, again)
    end)
end)

describe("leaving the REPL another way than Ctrl-D", function()
    -- The database keeps a -wal file only while it is open: once the
    -- store is closed cleanly the WAL is checkpointed and removed.
    local function left_cleanly(dir)
        local hist = read(dir .. "/home/.relm_history")
        assert.is_not_nil(hist, "no ~/.relm_history written")
        assert.matches("relm.cmdb.define_type", hist, 1, true)
        assert.is_nil(read(dir .. "/r.db-wal"), "the WAL was left behind")
        assert.is_not_nil(read(dir .. "/r.db"))
    end

    it("keeps the history and closes the database on os.exit()", function()
        local _, dir = assert_session({
            "expect relm> ",
            "send relm.cmdb.define_type{name = 'server'}\\n",
            "expect relm> ",
            "send os.exit(3)\\n",
            "exit 3",
        })
        left_cleanly(dir)
    end)

    it("keeps the history and closes the database when the terminal closes", function()
        local _, dir = assert_session({
            "expect relm> ",
            "send relm.cmdb.define_type{name = 'server'}\\n",
            "expect relm> ",
            "hangup",
            "exit any",
        })
        left_cleanly(dir)
    end)

    it("stops a running statement when the terminal closes", function()
        local _, dir = assert_session({
            "expect relm> ",
            "send relm.cmdb.define_type{name = 'server'}\\n",
            "expect relm> ",
            "send print('lo'..'op') while true do end\\n",
            "expect loop\\n",
            "hangup",
            "exit any",
        })
        left_cleanly(dir)
    end)
end)

describe("the REPL without a terminal", function()
    -- Pipe input into `relm repl`; returns stdout, stderr and the exit status.
    local function piped(input)
        local dir = session_dir()
        write(dir .. "/in", input)
        local p = assert(io.popen(string.format("%s --db %s repl < %s 2>%s",
            q(bin), q(dir .. "/r.db"), q(dir .. "/in"), q(dir .. "/err"))))
        local out = p:read("a")
        local _, _, code = p:close()
        return out, read(dir .. "/err"), code
    end

    it("reads statements from a pipe without prompts", function()
        local out, err, code = piped("return 1+1\nfunction f(x)\n  return x * 2\nend\nf(21)\n")
        assert.are.equal("2\n42\n", out)
        assert.are.equal("", err)
        assert.are.equal(0, code)
    end)

    it("prints expressions spread over lines and reports a chunk cut short", function()
        local out, err, code = piped('relm.sql(\n"select 1 as one"\n)\n{\n1,\n2 }\nfor i = 1, 2 do\n')
        assert.are.equal("one\n---\n  1\n(1 row)\n{ 1, 2 }\n", out)
        assert.matches("'end' expected near <eof>", err)
        assert.are.equal(1, code)
    end)

    it("goes on after an error but exits 1, as a script would", function()
        local out, err, code = piped('x = 20\nerror("boom")\nreturn x + 1\n')
        assert.are.equal("21\n", out)
        assert.are.equal("stdin:1: boom\n", err)
        assert.are.equal(1, code)
    end)
end)
