-- history_spec.lua: every action leaves an occurrence with snapshots, and
-- the log is append-only and hash-chained (tampering: tests/c/test_audit.c).
local H = dofile("tests/fixtures/release_helper.lua")

describe("relm.release.history", function()
    local j
    setup(function() j = H.setup() end)

    it("lists the occurrences oldest first with before/after snapshots", function()
        local r = relm.user.as("bob", H.release)
        relm.user.as("bob", relm.release.act, r.id, "authorize", { note = "approved by phone" })
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        local h = relm.release.history(r.number)
        assert.are.equal(3, #h)
        assert.are.same({ "register", "authorize", "suspend" }, { h[1].action, h[2].action, h[3].action })
        assert.are.equal("bob", h[1].actor)
        assert.is_nil(h[1].before)
        assert.are.equal(r.number, h[1].after.number)
        assert.are.equal("registration", h[2].from)
        assert.are.equal("execution", h[2].to)
        assert.are.equal("registration", h[2].before.state)
        assert.are.equal("execution", h[2].after.state)
        assert.are.equal("approved by phone", h[2].note)
        assert.are.equal("admin", h[3].actor)
        assert.are.equal("open", h[3].before.status)
        assert.are.equal("suspended", h[3].after.status)
        assert.is_string(h[3].at)
    end)

    it("raises not_found for an unknown release, by id or number", function()
        for _, id in ipairs({ 99999, "REL-1999-000001" }) do
            local ok, err = pcall(relm.release.history, id)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "not_found"), tostring(err))
        end
    end)

    it("records nothing for a refused action", function()
        local r = H.release()
        local n = #relm.release.history(r.id)
        pcall(relm.release.act, r.id, "execute")
        pcall(relm.release.act, r.id, "suspend", { justification = j.inactive })
        assert.are.equal(n, #relm.release.history(r.id))
    end)
end)

describe("relm.audit", function()
    setup(H.setup)

    it("verifies an intact chain", function()
        H.release()
        local ok, rows = relm.audit.verify()
        assert.is_true(ok)
        assert.are.equal(relm.sql("SELECT count(*) AS n FROM occurrences")[1].n, rows)
        local id, hash = relm.audit.head()
        assert.is_true(id > 0)
        assert.matches("^%x+$", hash)
        assert.are.equal(64, #hash)
    end)

    -- The primitives write the snapshot the view release_snapshots gives,
    -- byte for byte (core/release.c builds it itself): quotes, control
    -- characters and non-ASCII text, shares and empty fields included.
    it("verifies releases whose snapshots hold text that JSON escapes", function()
        local r = H.release({ title = 'a "quoted" \\ title\nwith\ttabs \1 \31 é ☃',
            description = "", contact = { name = 'N "x"' } })
        relm.release.act(r.id, "share", { to_group = "ops", note = 'see "this"' })
        relm.release.act(r.id, "authorize", { note = "ok" })
        local view = relm.sql("SELECT snapshot FROM release_snapshots WHERE id = ?", r.id)[1].snapshot
        local last = relm.sql("SELECT after FROM occurrences WHERE subject = 'release' AND subject_id = ? "
            .. "ORDER BY id DESC LIMIT 1", r.id)[1].after
        assert.are.equal(view, last)
        assert.is_true((relm.audit.verify()))
        -- And it reads back as it was written (the snapshot decoded).
        local got = relm.release.get(r.id)
        assert.are.equal('a "quoted" \\ title\nwith\ttabs \1 \31 é ☃', got.title)
        assert.are.equal("integer", math.type(got.priority))
        assert.are.equal('see "this"', got.shared_with[1].note)
    end)

    it("checks a kept head: still there, same hash", function()
        H.release()
        local id, hash = relm.audit.head()
        local ok, rows = relm.audit.verify(id, hash)
        assert.is_true(ok)
        assert.are.equal(id, rows)
        H.release() -- the log grows: the kept head still holds
        assert.is_true((relm.audit.verify(id, hash)))
        local broken
        ok, broken = relm.audit.verify(id, ("0"):rep(64))
        assert.is_false(ok)
        assert.are.equal(id, broken.id)
        assert.matches("no longer has the hash kept for it", broken.reason)
        local last = relm.audit.head()
        ok, broken = relm.audit.verify(last + 10, hash)
        assert.is_false(ok)
        assert.matches("is gone: the log ends at row " .. last .. " %(its tail was truncated%)", broken.reason)
        ok, broken = pcall(relm.audit.verify, id)
        assert.is_false(ok)
        assert.is_true(relm.is_error(broken, "invalid_argument"))
    end)

    it("lists occurrences with filters", function()
        local r = H.release()
        local rows = relm.audit.list { subject = "release", subject_id = r.id }
        assert.are.equal(1, #rows)
        assert.are.equal("register", rows[1].action)
        assert.is_true(#relm.audit.list { subject = "justification" } >= 4)
    end)

    it("cannot be changed through relm", function()
        local ok, err = pcall(relm.sql, "DELETE FROM occurrences")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "read_only"))
    end)
end)
