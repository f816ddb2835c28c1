-- field_hint_spec.lua: a misspelt field name in update, register or act
-- gets a did-you-mean, for the release's fields and the workflow's own.
local tmpdir = os.getenv("RELM_TEST_TMP") or "/tmp"

describe("an unknown field name", function()
    local wfname
    setup(function()
        local path = tmpdir .. "/hintflow.lua"
        local f = assert(io.open(path, "wb"))
        f:write([[
workflow "hintflow" { initial = "open", fields = { ticket = "string" } }
state "open" { phase = "registration" }
state "closed" { phase = "closure", final = true }
transition "finish" { from = "open", to = "closed" }
]])
        f:close()
        wfname = relm.release.workflow(path).name
    end)

    local function refused(pattern, fn, ...)
        local ok, err = pcall(fn, ...)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.matches(pattern, err.message)
    end

    it("is answered with the closest field", function()
        local r = relm.release.register { workflow = wfname, title = "x" }
        refused("update: unknown field 'titel' %(did you mean 'title'%?%)", relm.release.update, r.id, { titel = "y" })
        refused("unknown field 'tiket' %(did you mean 'ticket'%?%)", relm.release.update, r.id, { tiket = "T-1" })
        refused("register: unknown field 'tiket' %(did you mean 'ticket'%?%)", relm.release.register,
            { workflow = wfname, title = "x", tiket = "T-1" })
        refused("finish: unknown field 'tiket' %(did you mean 'ticket'%?%)", relm.release.act, r.id, "finish",
            { fields = { tiket = "T-1" } })
        assert.are.equal("x", relm.release.get(r.id).title)
    end)
end)
