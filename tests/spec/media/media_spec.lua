-- media_spec.lua: relm.media, the definitive media library: media with
-- checksums and licences, verification, CI links, hardware spares.
local media = relm.media
local tmp = os.getenv("RELM_TEST_TMP") or "/tmp"

local write = dofile("tests/fixtures/spec_helper.lua").write

local function count(sql)
    return relm.sql(sql)[1].n
end

local ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

describe("relm.media", function()
    local iso = write(tmp .. "/media_spec.iso", "abc")

    it("computes SHA-256 (FIPS 180-4 test vectors)", function()
        assert.are.equal(ABC, media.checksum(iso))
        assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            media.checksum(write(tmp .. "/empty", "")))
        assert.are.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            media.checksum(write(tmp .. "/two-blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
        local big = string.rep("a", 1000000)
        assert.are.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            media.checksum(write(tmp .. "/million-a", big)))
    end)

    it("registers media with checksum, locations and licences", function()
        local m = media.add{ name = "os", version = "12", file = iso, logical_location = "dml://os/12",
            physical_location = "safe 3", licence_keys = { "K-1", "K-2" }, licence_count = 50 }
        assert.are.equal(ABC, m.sha256)
        assert.are.same({ "K-1", "K-2" }, m.licence_keys)
        assert.are.equal(50, m.licence_count)
        assert.are.equal("safe 3", media.get("os", "12").physical_location)
        media.add{ name = "os", version = "13", sha256 = ABC:upper() }
        assert.are.equal(ABC, media.get("os", "13").sha256)
        assert.are.equal("13", media.get("os").version) -- latest
        assert.are.equal(2, #media.list{ name = "os" })
        local u = media.update("os", "13", { licence_count = 10, notes = "gold" })
        assert.are.equal(10, u.licence_count)
        assert.are.equal("gold", u.notes)
    end)

    it("verifies a file or a checksum and reports a mismatch as an error", function()
        assert.are.equal(ABC, media.verify("os", "12", iso))
        assert.are.equal(ABC, media.verify("os", "12", ABC))
        local bad = write(tmp .. "/tampered.iso", "abd")
        local ok, err = pcall(media.verify, "os", "12", bad)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "checksum_mismatch"))
        assert.matches("tampered.iso has sha256 a52d159f", tostring(err))
        ok, err = pcall(media.verify, "os", "12", string.rep("0", 64))
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "checksum_mismatch"))
        media.add{ name = "nosum", version = "1" }
        ok, err = pcall(media.verify, "nosum", "1", iso)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "no_checksum"))
        ok, err = pcall(media.verify, "os", "12", tmp .. "/missing.iso")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "io_error"))
    end)

    it("refuses a file that does not match the checksum given at add", function()
        local n = count("SELECT count(*) AS n FROM media")
        local ok, err = pcall(media.add, { name = "x", version = "1", file = iso, sha256 = string.rep("f", 64) })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "checksum_mismatch"))
        assert.are.equal(n, count("SELECT count(*) AS n FROM media"))
    end)

    it("refuses bad input and writes nothing", function()
        local n = count("SELECT count(*) AS n FROM media")
        local cases = {
            { "duplicate", "already exists", { name = "os", version = "12" } },
            { "invalid_argument", "64 hex", { name = "y", sha256 = "xyz" } },
            { "invalid_argument", "name is required", { version = "1" } },
            { "invalid_argument", "unknown field 'checksum' %(name, version, sha256, file,",
                { name = "y", checksum = ABC } },
            { "invalid_argument", "licence_count must be >= 0", { name = "y", licence_count = -1 } },
            { "invalid_argument", "licence_keys%[2%] must be a string", { name = "y", licence_keys = { "a", 2 } } },
        }
        for _, c in ipairs(cases) do
            local ok, err = pcall(media.add, c[3])
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, c[1]), tostring(err))
            assert.matches(c[2], tostring(err))
        end
        assert.are.equal(n, count("SELECT count(*) AS n FROM media"))
        local ok, err = pcall(media.get, "os", "99")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        ok, err = pcall(media.update, "ghost", nil, { notes = "x" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
    end)

    it("links a CI to the media it was installed from, with history", function()
        relm.cmdb.define_type{ name = "host" }
        relm.cmdb.add{ type = "host", name = "h1" }
        media.link("h1", "os", "12")
        assert.are.equal("12", media.of("h1").version)
        assert.are.equal("os@12", relm.cmdb.get("h1").media)
        local h = relm.cmdb.history("h1")
        assert.are.same({ nil, "os@12" }, h[#h].diff.media)
        media.unlink("h1")
        assert.is_nil(media.of("h1"))
        local ok, err = pcall(media.link, "h1", "os", "99")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        ok, err = pcall(media.link, "ghost", "os", "12")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        assert.is_nil(media.of("h1"))
    end)

    it("keeps hardware spares", function()
        local s = media.spare_add{ name = "disk 2TB", model = "ST2000", quantity = 4, location = "rack 9" }
        assert.are.equal(4, s.quantity)
        assert.are.equal("available", s.status)
        media.spare_add{ name = "psu", quantity = 0, status = "ordered" }
        assert.are.equal(1, #media.spare_list{ location = "rack 9" })
        assert.are.equal(2, #media.spare_list())
        local ok, err = pcall(media.spare_add, { name = "x", quantity = -1 })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
        ok, err = pcall(media.spare_add, { quantity = 1 })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
        assert.are.equal(2, #media.spare_list())
    end)
end)
