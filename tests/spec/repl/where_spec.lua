-- where_spec.lua: a refusal from the engine names the user's line (its
-- file:line), however deep in the engine's own Lua the check that refused
-- sits and whatever level that check passed to relm.error.
local H = dofile("tests/fixtures/release_helper.lua")

describe("errors from relm.release.act", function()
    local id
    setup(function()
        H.setup()
        id = H.release().id
    end)

    -- The user's own helper: the refusal must name the line of the call in
    -- it, not the line that called the helper (nor nothing at all).
    local call_line
    local function act(action, opts)
        call_line = debug.getinfo(1, "l").currentline + 1
        relm.release.act(id, action, opts)
    end

    local cases = {
        { "authorize", { fields = { bogus = 1 } } },
        { "authorize", { fields = { id = 1 } } },
        { "authorize", { bogus = 1 } },
        { "nonsense" },
        { "close", {} },
        { "suspend", { justification = "x" } },
        { "delegate", {} },
        { "authorize", 5 },
    }
    for _, c in ipairs(cases) do
        it("point at the user's call for " .. c[1] .. " " .. require("relm.pretty").format(c[2]), function()
            local ok, e = pcall(act, c[1], c[2])
            assert.is_false(ok)
            assert.is_true(relm.is_error(e), tostring(e))
            local src = debug.getinfo(1, "S").short_src
            assert.are.equal(src .. ":" .. call_line .. ": ", e.where)
        end)
    end
end)
