-- audit_spec.lua: relm.audit.verify covers the chain, the schema it rests
-- on and every release's state; an anchor kept outside the database shows
-- a truncated or rewritten log. (Tampering with the file itself, which Lua
-- cannot do, is in tests/c/test_audit.c.)
local H = dofile("tests/fixtures/release_helper.lua")

describe("relm.audit.verify", function()
    setup(H.setup)

    it("holds after a lifecycle, comparing every release with its last occurrence", function()
        local r = H.release()
        relm.activity.add(r.id, { phase = "planning", title = "Plan" })
        relm.release.act(r.id, "suspend", { justification = H.j.suspend })
        relm.release.act(r.id, "reactivate")
        local ok, rows = relm.audit.verify()
        assert.is_true(ok, type(rows) == "table" and rows.reason or nil)
        assert.are.equal(relm.sql("SELECT count(*) AS n FROM occurrences")[1].n, rows)
    end)

    it("returns an anchor with head() and checks it with verify{anchor=}", function()
        H.release()
        local id, hash, anchor = relm.audit.head()
        assert.are.equal(id .. ":" .. hash, anchor)
        assert.is_true((relm.audit.verify { anchor = anchor }))
        assert.is_true((relm.audit.verify(id, hash)))
        -- more writes keep the anchor valid: the chain still contains it
        H.release()
        assert.is_true((relm.audit.verify { anchor = anchor }))
    end)

    it("reports an anchor the log no longer holds, as a problem of kind anchor", function()
        local id, hash = relm.audit.head()
        local ok, rep = relm.audit.verify { anchor = (id + 1000) .. ":" .. hash }
        assert.is_false(ok)
        assert.are.equal("anchor", rep.problems[1].kind)
        assert.matches("truncated", rep.reason)
        ok, rep = relm.audit.verify { anchor = id .. ":" .. ("0"):rep(64) }
        assert.is_false(ok)
        assert.matches("rewritten", rep.problems[1].reason)
        assert.are.equal(id, rep.id)
    end)

    it("refuses an anchor that is not id:hash", function()
        for _, bad in ipairs { "12", "x:y", 12, "12:" .. ("g"):rep(64) } do
            local ok, err = pcall(relm.audit.verify, { anchor = bad })
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
        end
        local ok, err = pcall(relm.audit.verify, { anchr = "1:2" })
        assert.is_false(ok)
        assert.matches("unknown option 'anchr'", tostring(err))
    end)
end)
