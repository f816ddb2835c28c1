-- hostile_spec.lua: what an analyst may type at the prompt or in -e that
-- used to hang the process in C, out of reach of Ctrl-C.
local H = dofile("tests/fixtures/cli_helper.lua")
local q = H.q

describe("string.rep in the statements' state", function()
    it("answers rep('', huge) at once instead of spinning in C for hours", function()
        local dir = H.fresh_dir("hostile")
        -- timeout(1) only so that a regression fails rather than hangs.
        local rc, out, err = H.relm(dir, "--db r.db -e "
            .. q([[return #string.rep("", math.maxinteger), #(""):rep(2^62, ""), ("ab"):rep(3, ","), ("x"):rep(0)]]),
            { prefix = "timeout 20 " })
        assert.are.equal(0, rc, err)
        assert.are.equal("0\n0\nab,ab,ab\n\n", out)
        -- Argument errors stay Lua's own.
        local rc2, _, err2 = H.relm(dir, "--db r.db -e " .. q([[string.rep("", 1.5)]]))
        assert.are.equal(1, rc2)
        assert.matches("bad argument #2 to 'rep' %(number has no integer representation%)", err2)
    end)
end)
