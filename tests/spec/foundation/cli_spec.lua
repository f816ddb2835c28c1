-- cli_spec.lua: the relm command as a user types it: exit codes, messages,
-- the arg table, and that a failed start creates or changes no database.
local H = dofile("tests/fixtures/cli_helper.lua")
local BIN, q, read, write, files, relm = H.BIN, H.q, H.read, H.write, H.files, H.relm
local function fresh_dir()
    return H.fresh_dir("cli")
end

local function lines(s)
    local t = {}
    for line in s:gmatch("[^\n]+") do
        t[#t + 1] = line
    end
    return t
end

-- A relm database made by relm itself, in dir/name; returns its bytes.
local function make_db(dir, name)
    local code, _, err = relm(dir, "--db " .. q(name) .. " -e 'return 1'")
    assert(code == 0, err)
    return read(dir .. "/" .. name)
end

-- Overwrite 4 bytes at offset (0-based) with a big-endian integer.
local function patch_u32(data, offset, value)
    local bytes = string.pack(">I4", value)
    return data:sub(1, offset) .. bytes .. data:sub(offset + 5)
end

local function is_root()
    local p = io.popen("id -u")
    local uid = p:read("l")
    p:close()
    return uid == "0"
end

-- How to run relm so that file permissions apply: as is for a normal user;
-- as root, through setpriv as nobody (root reads a chmod 000 file), when
-- nobody can run the binary at all. nil when there is no way.
local function unprivileged()
    if not is_root() then
        return ""
    end
    local prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups "
    if os.execute(prefix .. q(BIN) .. " --version > /dev/null 2>&1") then
        return prefix
    end
    return nil
end

describe("relm usage errors", function()
    it("exit 2 with a one-line hint for an unknown flag, creating nothing", function()
        local dir = fresh_dir()
        local code, out, err = relm(dir, "--frobnicate -e 1")
        assert.are.equal(2, code)
        assert.are.equal("", out)
        assert.are.equal(1, #lines(err))
        assert.matches("unknown option '%-%-frobnicate'", err)
        assert.matches("relm %-%-help", err)
        assert.are.equal("", files(dir))
    end)

    it("serve: exit 2 on an unknown serve option, before any database is made", function()
        local dir = fresh_dir()
        local code, _, err = relm(dir, "serve --frobnicate")
        assert.are.equal(2, code)
        assert.are.equal(1, #lines(err))
        assert.matches("serve: unexpected '%-%-frobnicate'", err)
        assert.are.equal("", files(dir))
    end)

    it("exit 2 for run without a script, -e without code, options without values", function()
        local dir = fresh_dir()
        for _, args in ipairs({ "run", "-e", "--db", "--user", "--sync", "--sync fast -e 1",
            "--db '' -e 1", "repl extra", "-e 1 extra", "help nosuchcommand" }) do
            local code, _, err = relm(dir, args)
            assert.are.equal(2, code, args)
            assert.are.equal(1, #lines(err), args .. ": " .. err)
        end
        assert.are.equal("", files(dir))
    end)

    it("exit 2 for a bad $RELM_SYNC", function()
        local dir = fresh_dir()
        local code, _, err = relm(dir, "-e 1", { env = "RELM_SYNC=sometimes" })
        assert.are.equal(2, code)
        assert.matches("RELM_SYNC", err)
        assert.are.equal("", files(dir))
    end)
end)

describe("relm --version, --help and help COMMAND", function()
    it("print and exit 0 without opening a database", function()
        local dir = fresh_dir()
        local out = H.output(dir, "--version")
        assert.matches("^relm %d+%.%d+%.%d+", out)
        out = H.output(dir, "--help")
        assert.matches("usage: relm", out)
        assert.matches("%-%-db PATH", out)
        for _, topic in ipairs({ "run", "repl", "-e", "help" }) do
            out = H.output(dir, "help " .. q(topic))
            assert.matches("usage: relm", out)
        end
        local _, run_help = relm(dir, "help run")
        assert.matches("arg%[0%]", run_help)
        assert.are.equal("", files(dir))
    end)
end)

describe("relm run with a bad script", function()
    it("refuses a missing script with exit 1, creating nothing", function()
        local dir = fresh_dir()
        local code, _, err = relm(dir, "run nothere.lua")
        assert.are.equal(1, code)
        assert.are.equal("relm: nothere.lua: No such file or directory\n", err)
        assert.are.equal("", files(dir))
    end)

    it("refuses a directory", function()
        local dir = fresh_dir()
        assert(os.execute("mkdir " .. q(dir .. "/scripts")))
        local code, _, err = relm(dir, "run scripts")
        assert.are.equal(1, code)
        assert.are.equal(1, #lines(err))
        assert.matches("scripts: is a directory", err)
        assert.are.equal("scripts", files(dir))
    end)

    local as_user = unprivileged()
    if not as_user then
        pending("refuses a script it may not read (running as root, and nobody cannot run relm)")
    else
        it("refuses a script it may not read", function()
            -- A directory of its own that nobody may write to, so that a
            -- database would be created if relm went on.
            local p = assert(io.popen("mktemp -d"))
            local dir = p:read("l")
            p:close()
            assert(os.execute("chmod 777 " .. q(dir)))
            write(dir .. "/secret.lua", "print(1)\n")
            assert(os.execute("chmod 000 " .. q(dir .. "/secret.lua")))
            local code, _, err = relm(dir, "run secret.lua", { prefix = as_user })
            local left = files(dir)
            os.execute("rm -rf " .. q(dir))
            assert.are.equal(1, code)
            assert.are.equal("relm: secret.lua: Permission denied\n", err)
            assert.are.equal("secret.lua", left)
        end)
    end

    it("refuses a script whose read fails", function()
        -- Reading /proc/self/mem at offset 0 fails with EIO, even for root.
        local dir = fresh_dir()
        local code, _, err = relm(dir, "run /proc/self/mem")
        assert.are.equal(1, code)
        assert.are.equal(1, #lines(err))
        assert.matches("cannot read", err)
        assert.are.equal("", files(dir))
    end)

    it("refuses invalid UTF-8, naming the line", function()
        local dir = fresh_dir()
        write(dir .. "/latin1.lua", "-- ok\nprint('caf\233')\n")
        local code, _, err = relm(dir, "run latin1.lua")
        assert.are.equal(1, code)
        assert.are.equal(1, #lines(err))
        assert.matches("latin1.lua:2: invalid UTF%-8", err)
        assert.are.equal("latin1.lua", files(dir))
    end)

    it("refuses a precompiled chunk", function()
        local dir = fresh_dir()
        write(dir .. "/f.luac", string.dump(function() return 1 end))
        local code, _, err = relm(dir, "run f.luac")
        assert.are.equal(1, code)
        assert.matches("binary", err)
        assert.are.equal("f.luac", files(dir))
    end)

    it("reports a syntax error as file:line before creating a database", function()
        local dir = fresh_dir()
        write(dir .. "/broken.lua", "local x = 1\nx = = 2\n")
        local code, _, err = relm(dir, "run broken.lua")
        assert.are.equal(1, code)
        assert.matches("^broken.lua:2: ", err)
        assert.are.equal("broken.lua", files(dir))
        code, _, err = relm(dir, "-e 'x = = 1'")
        assert.are.equal(1, code)
        assert.matches("^%(command line%):1: ", err)
        assert.are.equal("broken.lua", files(dir))
    end)
end)

describe("relm with a database that is not its own", function()
    local function refused(dir, name, bytes, pattern)
        write(dir .. "/" .. name, bytes)
        local before = files(dir)
        local code, _, err = relm(dir, "--db " .. q(name) .. " -e 'return 1'")
        assert.are.equal(1, code)
        assert.are.equal(1, #lines(err))
        assert.matches(pattern, err)
        assert.are.equal(bytes, read(dir .. "/" .. name))
        assert.are.equal(before, files(dir)) -- no -wal, -shm or journal
    end

    it("refuses a file that is not a database and leaves it untouched", function()
        refused(fresh_dir(), "notes.db", "name,type\nweb01,server\n", "not a relm database")
    end)

    it("refuses a corrupt database and leaves it untouched", function()
        local dir = fresh_dir()
        local good = make_db(dir, "good.db")
        local noise = {}
        for i = 1, #good - 100 do
            noise[i] = string.char((i * 7919) % 251)
        end
        refused(dir, "corrupt.db", good:sub(1, 100) .. table.concat(noise), "corrupt")
    end)

    it("refuses another program's SQLite database and leaves it untouched", function()
        local dir = fresh_dir()
        local good = make_db(dir, "good.db")
        -- application_id lives at offset 68 of the header.
        refused(dir, "other.db", patch_u32(good, 68, 0x46495245), "another program")
    end)

    it("refuses a database written by a newer relm and leaves it untouched", function()
        local dir = fresh_dir()
        local good = make_db(dir, "good.db")
        -- user_version (the schema version) lives at offset 60.
        refused(dir, "future.db", patch_u32(good, 60, 999), "newer relm")
    end)

    it("refuses a directory given as the database", function()
        local dir = fresh_dir()
        assert(os.execute("mkdir " .. q(dir .. "/d.db")))
        local code, _, err = relm(dir, "--db d.db -e 1")
        assert.are.equal(1, code)
        assert.matches("is a directory", err)
        assert.are.equal("d.db", files(dir))
    end)
end)

describe("relm --user and $RELM_USER", function()
    it("act as admin by default and as the named user", function()
        local dir = fresh_dir()
        local out = H.output(dir, "-e 'print(relm.whoami())'")
        assert.are.equal("admin\n", out)
        out = H.output(dir, "--user admin -e 'print(relm.whoami())'")
        assert.are.equal("admin\n", out)
    end)

    it("refuse an unknown user and leave no new database behind", function()
        local dir = fresh_dir()
        local code, _, err = relm(dir, "--user mallory -e 'return 1'")
        assert.are.equal(1, code)
        assert.are.equal("relm: no active user named 'mallory'\n", err)
        assert.are.equal("", files(dir))
        code, _, err = relm(dir, "-e 'return 1'", { env = "RELM_USER=mallory" })
        assert.are.equal(1, code)
        assert.matches("mallory", err)
        assert.are.equal("", files(dir))
    end)

    it("refuse an unknown user on an existing database without changing it", function()
        local dir = fresh_dir()
        local before = make_db(dir, "relm.db")
        local code = relm(dir, "--user mallory -e 'return 1'")
        assert.are.equal(1, code)
        assert.are.equal(before, read(dir .. "/relm.db"))
        assert.are.equal("relm.db", files(dir))
    end)
end)

describe("relm with the default user deactivated", function()
    it("reads, but refuses every write rather than writing as nobody", function()
        local dir = fresh_dir()
        local code, _, err = relm(dir, "-e 'relm.user.add{name=\"root2\", admin=true}'")
        assert.are.equal(0, code, err)
        code, _, err = relm(dir, "--user root2 -e 'relm.user.set_active(\"admin\", false)'")
        assert.are.equal(0, code, err)
        local before = read(dir .. "/relm.db")
        code, _, err = relm(dir, "-e 'relm.cmdb.define_type{name=\"box\"}'")
        assert.are.equal(1, code)
        assert.are.equal("(command line):1: unknown_user: no active user named 'admin' "
            .. "(start relm with --user NAME)\n", err)
        code = relm(dir, "-e 'return #relm.sql(\"SELECT 1 FROM ci_types WHERE name = ?\", \"box\") == 0 or error()'")
        assert.are.equal(0, code)
        assert.are.equal(before, read(dir .. "/relm.db"))
        code = relm(dir, "--user root2 -e 'relm.cmdb.define_type{name=\"box\"}'")
        assert.are.equal(0, code)
    end)

    it("never goes on as someone else when relm.user.as takes the way back away", function()
        local dir = fresh_dir()
        write(dir .. "/s.lua", [[
relm.user.add{name = "root2", admin = true}
local ok, e = pcall(relm.user.as, "root2", relm.user.set_active, "admin", false)
print(ok, e.code, relm.whoami())
local ok2, e2 = pcall(relm.cmdb.define_type, {name = "box"})
print(ok2, e2.code)
]])
        local code, out, err = relm(dir, "run s.lua")
        assert.are.equal(0, code, err)
        assert.are.equal("false\tunknown_user\tadmin\nfalse\tunknown_user\n", out)
    end)
end)

describe("relm --db and $RELM_DB", function()
    it("default to ./relm.db", function()
        local dir = fresh_dir()
        local out = H.output(dir, "-e 'print(relm.info().db)'")
        assert.are.equal("relm.db\n", out)
        assert.are.equal("relm.db", files(dir))
    end)

    it("use $RELM_DB, and --db over it", function()
        local dir = fresh_dir()
        local out = H.output(dir, "-e 'print(relm.info().db)'", { env = "RELM_DB=env.db" })
        assert.are.equal("env.db\n", out)
        H.output(dir, "--db flag.db -e 1", { env = "RELM_DB=env.db" })
        H.output(dir, "--db=eq.db -e 1")
        assert.are.equal("env.db eq.db flag.db", files(dir))
    end)

    it("use synchronous NORMAL unless --sync full or $RELM_SYNC=full", function()
        local dir = fresh_dir()
        local q1 = "-e 'print(relm.sql(\"PRAGMA synchronous\")[1].synchronous)'"
        local _, out = relm(dir, q1)
        assert.are.equal("1\n", out)
        _, out = relm(dir, "--sync full " .. q1)
        assert.are.equal("2\n", out)
        _, out = relm(dir, q1, { env = "RELM_SYNC=full" })
        assert.are.equal("2\n", out)
        _, out = relm(dir, "--sync normal " .. q1, { env = "RELM_SYNC=full" })
        assert.are.equal("1\n", out)
    end)
end)

describe("relm run", function()
    local script = [[
local parts = {}
for i = -2, #arg do parts[#parts + 1] = i .. "=" .. tostring(arg[i]) end
print(table.concat(parts, " "))
print(select("#", ...), ...)
]]

    it("sets arg as lua5.4 does and passes the arguments as ...", function()
        local dir = fresh_dir()
        write(dir .. "/args.lua", script)
        local out = H.output(dir, "run args.lua one 'two words' ''")
        local want = io.popen("cd " .. q(dir) .. " && lua5.4 args.lua one 'two words' ''"):read("a")
        -- Positive indices and ... match lua5.4; below 0 relm has its own words.
        local mine = lines(out)
        local theirs = lines(want)
        assert.are.equal(theirs[2], mine[2])
        assert.are.equal(theirs[1]:match("0=.*"), mine[1]:match("0=.*"))
        assert.matches("^%-2=" .. BIN:gsub("%p", "%%%0") .. " %-1=run 0=args.lua ", mine[1])
    end)

    it("reads the script from stdin with -", function()
        local dir = fresh_dir()
        local out = H.output(dir, "run - x y", { stdin = script })
        assert.matches("^%-2=.* %-1=run 0=%- 1=x 2=y\n3?2\tx\ty\n$", out)
    end)

    it("skips a #! first line as lua5.4 does, keeping line numbers", function()
        local dir = fresh_dir()
        write(dir .. "/tool.lua", "#!/usr/bin/env -S relm run\nprint(arg[1])\nerror('late')\n")
        local code, out, err = relm(dir, "run tool.lua here")
        assert.are.equal(1, code)
        assert.are.equal("here\n", out)
        assert.are.equal("tool.lua:3: late\n", err)
    end)

    it("exits 1 with file:line: message when the script raises", function()
        local dir = fresh_dir()
        write(dir .. "/boom.lua", "local x = 1\nerror('boom')\n")
        local code, _, err = relm(dir, "run boom.lua")
        assert.are.equal(1, code)
        assert.are.equal("boom.lua:2: boom\n", err)
        code, _, err = relm(dir, "--traceback run boom.lua")
        assert.are.equal(1, code)
        assert.matches("^boom.lua:2: boom\nstack traceback:\n", err)
    end)

    it("prints relm errors as code: message", function()
        local dir = fresh_dir()
        local code, _, err = relm(dir, "-e 'relm.error(\"not_found\", \"no CI named web9\")'")
        assert.are.equal(1, code)
        assert.are.equal("(command line):1: not_found: no CI named web9\n", err)
        -- Raised deep inside the engine's Lua (relm.cmdb.get), the error still
        -- points at the statement, though "return <statement>" is a tail call.
        code, _, err = relm(dir, "-e 'relm.cmdb.get(\"web9\")'")
        assert.are.equal(1, code)
        assert.are.equal("(command line):1: not_found: no CI named 'web9'\n", err)
        write(dir .. "/deep.lua", "local n = 0\nrelm.tx(function()\n  n = n + 1\n  relm.cmdb.get('web9')\nend)\n")
        code, _, err = relm(dir, "run deep.lua")
        assert.are.equal(1, code)
        assert.are.equal("deep.lua:4: not_found: no CI named 'web9'\n", err)
    end)

    it("exits with the status os.exit gives", function()
        local dir = fresh_dir()
        for _, case in ipairs({ { "os.exit(7)", 7 }, { "os.exit(true)", 0 },
            { "os.exit(false)", 1 }, { "os.exit(3, true)", 3 } }) do
            write(dir .. "/exit.lua", case[1])
            local code = relm(dir, "run exit.lua")
            assert.are.equal(case[2], code, case[1])
        end
        -- The store is closed on the way out: no -wal/-shm left behind.
        assert.are.equal("exit.lua relm.db", files(dir))
    end)

    it("prints the results of -e", function()
        local dir = fresh_dir()
        local out = H.output(dir, "-e '1 + 1, \"two\"'")
        assert.matches('^2%s+"?two"?\n$', out)
    end)
end)
