-- field_decls_spec.lua: a mistyped type in a workflow's `fields` is
-- reported by name, with a did-you-mean, and does not leave every other
-- field undeclared.
local tmpdir = os.getenv("RELM_TEST_TMP") or "/tmp"

local function write(name, text)
    local path = ("%s/%s.lua"):format(tmpdir, name)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    return path
end

describe("check() on a workflow's fields", function()
    it("names the field whose type is mistyped, and only that problem", function()
        local path = write("typedecl", [[
workflow "typedecl" { initial = "open", fields = { owner = "usr", ticket = "string" } }
state "open" { phase = "registration", requires = { "ticket", "owner" } }
state "closed" { phase = "closure", final = true }
transition "finish" { from = "open", to = "closed" }
]])
        local ok, problems = relm.workflow.check(path)
        assert.is_false(ok)
        assert.are.equal(1, #problems)
        assert.matches("typedecl.lua:1: workflow 'typedecl': fields: owner = 'usr', but a field's type is one of "
            .. "boolean, integer, number, string, date, user, group, or a list of allowed values "
            .. "%(did you mean 'user'%?%)",
            problems[1])
    end)
end)
