-- sql_spec.lua: relm.sql only reads, one statement, what the acting user
-- may see; nothing typed into it changes the connection or locks others out.
local H = dofile("tests/fixtures/cli_helper.lua")

local function refused(query, code)
    local ok, err = pcall(relm.sql, query)
    assert.is_false(ok, query)
    assert.is_true(relm.is_error(err, code or "read_only"), query .. ": " .. tostring(err))
    return tostring(err)
end

local function count_justifications()
    return relm.sql("SELECT count(*) AS n FROM justifications")[1].n
end

describe("relm.sql is read-only in fact", function()
    it("refuses COMMIT inside relm.tx, so a later error still rolls back", function()
        local before = count_justifications()
        local ok = pcall(relm.tx, function()
            relm.justification.add { description = "kept only if committed", suspend = true }
            local sok, err = pcall(relm.sql, "COMMIT")
            assert.is_false(sok)
            assert.is_true(relm.is_error(err, "read_only"))
            error("later failure")
        end)
        assert.is_false(ok)
        assert.are.equal(before, count_justifications())
    end)

    it("refuses transaction control and savepoints", function()
        for _, q in ipairs { "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", "SAVEPOINT x", "RELEASE x", "END" } do
            assert.matches("is refused", refused(q))
        end
    end)

    it("refuses pragmas that change the connection, naming them", function()
        for _, q in ipairs {
            "PRAGMA locking_mode=EXCLUSIVE", "PRAGMA writable_schema=ON", "PRAGMA foreign_keys=OFF",
            "PRAGMA ignore_check_constraints=ON", "PRAGMA synchronous=OFF", "PRAGMA journal_mode=DELETE",
            "PRAGMA query_only=0", "PRAGMA wal_checkpoint(TRUNCATE)",
        } do
            local msg = refused(q)
            assert.matches(q:match("locking_mode") and "locking_mode" or "", msg)
        end
        assert.matches("PRAGMA writable_schema", refused("PRAGMA writable_schema=ON"))
        -- Reading a setting is a read.
        assert.are.equal(1, #relm.sql("PRAGMA synchronous"))
        assert.are.equal("normal", relm.sql("PRAGMA locking_mode")[1].locking_mode)
    end)

    it("leaves other processes able to read after a refused locking_mode", function()
        pcall(relm.sql, "PRAGMA locking_mode=EXCLUSIVE")
        pcall(relm.sql, "SELECT * FROM pragma_locking_mode('exclusive')")
        relm.sql("SELECT count(*) FROM users") -- would take the exclusive lock
        local rc, out, err = H.relm(H.TMP, "--db " .. H.q(relm.info().db)
            .. " -e " .. H.q("print(#relm.sql('SELECT 1 FROM users'))"))
        assert.are.equal(0, rc, err)
        assert.matches("%d", out)
    end)

    it("refuses ATTACH of a file on disk", function()
        local dir = H.fresh_dir("attach")
        local rc = H.relm(dir, "--db other.db -e " .. H.q("print(1)"))
        assert.are.equal(0, rc)
        assert.matches("ATTACH", refused("ATTACH DATABASE '" .. dir .. "/other.db' AS other"))
        refused("DETACH DATABASE other")
    end)

    it("refuses writes of every kind", function()
        for _, q in ipairs {
            "DELETE FROM users", "UPDATE users SET is_admin = 1", "INSERT INTO settings VALUES ('k', 'v')",
            "CREATE TABLE t(x)", "DROP TRIGGER occurrences_no_update", "CREATE TEMP TABLE t(x)",
            "ALTER TABLE users ADD COLUMN x", "VACUUM", "ANALYZE", "REINDEX",
        } do
            refused(q)
        end
        assert.are.equal(1, #relm.sql("SELECT 1 FROM sqlite_schema WHERE name = 'occurrences_no_update'"))
    end)

    it("refuses loading an extension", function()
        assert.matches("load_extension", refused("SELECT load_extension('/tmp/x.so')"))
    end)

    it("refuses a second statement instead of ignoring it", function()
        local ok, err = pcall(relm.sql, "SELECT 1; DELETE FROM users")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "sql_error"))
        assert.matches("one statement", tostring(err))
        ok, err = pcall(relm.sql, "SELECT 1 AS a; SELECT 2 AS b")
        assert.is_false(ok)
        assert.matches("SELECT 2", tostring(err))
        -- A trailing semicolon, blanks or a comment are not a statement.
        assert.are.equal(1, relm.sql("SELECT 1 AS a;  -- the end\n")[1].a)
    end)

    it("still reads: joins, functions, recursive CTEs, schema introspection", function()
        local n = relm.sql([[WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10)
            SELECT sum(x) AS s FROM c]])[1].s
        assert.are.equal(55, n)
        assert.is_true(#relm.sql("PRAGMA table_info(users)") > 5)
        assert.is_true(#relm.sql("SELECT name FROM pragma_table_info('releases')") > 5)
        assert.are.equal("admin", relm.sql("SELECT upper(name) AS u FROM users WHERE id = 1")[1].u:lower())
    end)

    it("refuses a query holding a NUL byte", function()
        local ok, err = pcall(relm.sql, "SELECT 1\0; DELETE FROM users")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
        assert.matches("NUL", tostring(err))
    end)
end)

describe("relm.sql shows what the acting user may see", function()
    setup(function()
        relm.user.add { name = "sqlpeek", email = "peek@example.org", phone = "555-0199" }
    end)

    it("hides users' e-mail and phone from non-administrators (NULL)", function()
        local row = relm.user.as("sqlpeek", function()
            return relm.sql("SELECT name, email, phone FROM users WHERE name = 'sqlpeek'")[1]
        end)
        assert.are.equal("sqlpeek", row.name)
        assert.is_nil(row.email)
        assert.is_nil(row.phone)
        local all = relm.user.as("sqlpeek", function()
            return relm.sql("SELECT count(*) AS n FROM users WHERE email IS NOT NULL OR phone IS NOT NULL")[1].n
        end)
        assert.are.equal(0, all)
    end)

    it("shows them to administrators, also after a non-administrator ran the same query", function()
        local q = "SELECT email, phone FROM users WHERE name = 'sqlpeek'"
        relm.user.as("sqlpeek", function() return relm.sql(q) end)
        local row = relm.sql(q)[1]
        assert.are.equal("peek@example.org", row.email)
        assert.are.equal("555-0199", row.phone)
        assert.is_nil(relm.user.as("sqlpeek", function() return relm.sql(q) end)[1].email)
        -- and the other way round: an administrator first
        local q2 = "SELECT phone FROM users WHERE name = ?"
        assert.are.equal("555-0199", relm.sql(q2, "sqlpeek")[1].phone)
        assert.is_nil(relm.user.as("sqlpeek", function() return relm.sql(q2, "sqlpeek") end)[1].phone)
        assert.are.equal("555-0199", relm.sql(q2, "sqlpeek")[1].phone)
    end)

    it("hides them also where they only filter rows", function()
        local n = relm.user.as("sqlpeek", function()
            return relm.sql("SELECT count(*) AS n FROM users WHERE email LIKE '%@example.org'")[1].n
        end)
        assert.are.equal(0, n)
    end)
end)
