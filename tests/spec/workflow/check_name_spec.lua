-- check_name_spec.lua: check() given a workflow name that finds no file
-- answers as load() does: where it looked, and a did-you-mean.
describe("relm.workflow.check of a misspelt name", function()
    it("says no such workflow, with the closest name", function()
        local ok, problems = relm.workflow.check("majr")
        assert.is_false(ok)
        assert.are.equal(1, #problems)
        assert.matches("^no workflow 'majr' %(did you mean 'major'%?%): no majr.lua in ", problems[1])
    end)

    it("still names the file for a path that cannot be read", function()
        local ok, problems = relm.workflow.check("/nonexistent/x.lua")
        assert.is_false(ok)
        assert.matches("^/nonexistent/x.lua: cannot read the workflow file", problems[1])
    end)
end)
