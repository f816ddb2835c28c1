-- text_spec.lua: text is text. A NUL byte or invalid UTF-8 in any text
-- entering relm is refused with invalid_argument naming the field, and
-- nothing is written (before, SQLite and the C core cut the text at NUL).
local H = dofile("tests/fixtures/release_helper.lua")
local TMP = os.getenv("RELM_TEST_TMP") or "/tmp"

local function everything()
    local r = relm.sql([[SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM groups)
        + (SELECT count(*) FROM ci_types) + (SELECT count(*) FROM cis) + (SELECT count(*) FROM rel_types)
        + (SELECT count(*) FROM relationships) + (SELECT count(*) FROM justifications)
        + (SELECT count(*) FROM releases) + (SELECT count(*) FROM occurrences) AS n]])[1]
    return r.n
end

local function refused(what, fn)
    local before = everything()
    local ok, err = pcall(fn)
    assert.is_false(ok, what .. " was accepted")
    assert.is_true(relm.is_error(err, "invalid_argument"), what .. ": " .. tostring(err))
    assert.are.equal(before, everything(), what .. " wrote something")
    return tostring(err)
end

describe("text entering relm", function()
    setup(function()
        H.setup()
        relm.cmdb.define_type { name = "textbox", attributes = { note = "string" } }
        relm.cmdb.add { type = "textbox", name = "tb1" }
        relm.cmdb.add { type = "textbox", name = "tb2" }
    end)

    it("refuses a NUL byte in the five names (user, group, CI type, CI, relation type)", function()
        assert.matches("NUL", refused("user name", function() relm.user.add { name = "ev\0il" } end))
        assert.matches("NUL", refused("group name", function() relm.group.add { name = "g\0x" } end))
        assert.matches("NUL", refused("CI type", function() relm.cmdb.define_type { name = "t\0y" } end))
        assert.matches("name", refused("CI name", function() relm.cmdb.add { type = "textbox", name = "c\0z" } end))
        assert.matches("NUL", refused("relation type", function() relm.cmdb.define_relation { name = "r\0w" } end))
    end)

    it("refuses a NUL byte in other text fields", function()
        assert.matches("full_name", refused("full name", function()
            relm.user.add { name = "textie", full_name = "A\0B" }
        end))
        refused("e-mail", function() relm.user.add { name = "textie", email = "a@b\0c" } end)
        assert.matches("description", refused("justification", function()
            relm.justification.add { description = "ok\0 approved by CFO", suspend = true }
        end))
        assert.matches("note", refused("CI attribute", function()
            relm.cmdb.update("tb1", { note = "ab\0cd" })
        end))
        refused("relation kind", function() relm.cmdb.relate("tb1", "depends_on\0x", "tb2") end)
        assert.matches("title", refused("release title", function() H.release { title = "Deploy\0 now" } end))
        refused("release description", function() H.release { description = "why\0not" } end)
    end)

    it("refuses invalid UTF-8 with the byte it starts at", function()
        local msg = refused("user full name", function() relm.user.add { name = "textie", full_name = "ok\xffno" } end)
        assert.matches("UTF%-8", msg)
        assert.matches("byte 3", msg)
        refused("CI name", function() relm.cmdb.add { type = "textbox", name = "\xc3\x28" } end)
        refused("release title", function() H.release { title = "\xed\xa0\x80" } end) -- a surrogate
    end)

    it("still takes any valid UTF-8", function()
        local r = H.release { title = "Déploiement 日本 🚀" }
        assert.are.equal("Déploiement 日本 🚀", relm.release.get(r.id).title)
    end)

    it("refuses a CSV field holding NUL with row:column, writing nothing", function()
        local path = TMP .. "/nul.csv"
        local f = assert(io.open(path, "wb"))
        f:write("name,type\nfine,textbox\nab\0cd,textbox\n")
        f:close()
        local before = everything()
        local ok, err = pcall(relm.cmdb.import, path, { format = "csv", kind = "cis" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.matches(path .. ":3:1: ", err.message, 1, true)
        assert.matches("NUL", err.message)
        assert.are.equal(before, everything())
    end)

    it("refuses an escaped NUL in JSON Lines, and keeps an escaped backslash", function()
        local path = TMP .. "/nul.jsonl"
        local f = assert(io.open(path, "wb"))
        f:write('{"name":"ab\\u0000cd","type":"textbox"}\n')
        f:close()
        local ok, err = pcall(relm.cmdb.import, path, { format = "jsonl", kind = "cis" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.matches(path .. ":1:", err.message, 1, true)
        f = assert(io.open(path, "wb"))
        f:write('{"name":"ab\\\\u0000cd","type":"textbox"}\n')
        f:close()
        assert.are.equal(1, relm.cmdb.import(path, { format = "jsonl", kind = "cis" }))
        assert.is_not_nil(relm.cmdb.get("ab\\u0000cd"))
    end)
end)
