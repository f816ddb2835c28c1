-- prompt_dry_run_spec.lua: a dry run lists every field the action lacks,
-- required and `prompt` ones alike, and the act refuses the same way.
local tmpdir = os.getenv("RELM_TEST_TMP") or "/tmp"

describe("a dry run of a transition with required and prompt fields", function()
    local wfname
    setup(function()
        local path = tmpdir .. "/promptflow.lua"
        local f = assert(io.open(path, "wb"))
        f:write([[
workflow "promptflow" { initial = "open", fields = { window = "date", outage = { "none", "full" } } }
state "open" { phase = "registration" }
state "closed" { phase = "closure", final = true }
state "done" { phase = "deployment" }
transition "plan" { from = "open", to = "done", requires = { "window" }, prompt = { "outage" } }
transition "finish" { from = "done", to = "closed" }
]])
        f:close()
        wfname = relm.release.workflow(path).name
    end)

    it("lists both in missing, and the act's refusal names both", function()
        local r = relm.release.register { workflow = wfname, title = "x" }
        local d = relm.release.act(r.id, "plan", { dry_run = true })
        assert.is_false(d.allowed)
        assert.are.same({ "window", "outage" }, d.missing)
        local ok, err = pcall(relm.release.act, r.id, "plan")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.matches("missing required field%(s%): window; and give outage with the action itself", err.message)
        assert.are.equal("open", relm.release.get(r.id).state)
    end)
end)
