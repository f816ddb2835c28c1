-- docs_spec.lua: the examples of docs/approvals.md run and print what the
-- page says they print (the "-->" comments).
local S = dofile("tests/fixtures/spec_helper.lua")

local function doc()
    return assert(S.read("docs/approvals.md"))
end

-- The first ```lua block after the line starting with heading.
local function block_after(text, heading)
    local at = assert(text:find(heading, 1, true), heading)
    return assert(text:match("```lua\n(.-)```", at))
end

-- Run code with print captured; returns the printed lines.
local function run(code)
    return S.run_printed(code, "=docs/approvals.md")
end

-- What the "-->" comments of code say it prints, in order.
local function expected(code)
    local out = {}
    for shown in code:gmatch("%-%->%s*([^\n]-)%s*\n") do
        out[#out + 1] = shown
    end
    return out
end

describe("docs/approvals.md", function()
    local text = doc()

    it("the shipped CAB: the error before it has members, staffing it, a major release through review", function()
        local at = assert(text:find("Until the board has members", 1, true))
        local shown = assert(text:match("```\n(not_allowed: [^\n]+)\n```", at))
        local r = relm.release.register { workflow = "major", title = "x", planned_start = "2027-03-01",
            planned_end = "2027-03-05", rollback_plan = "y" }
        relm.release.act(r.id, "authorize")
        local ok, err = pcall(relm.release.act, r.id, "submit_plan")
        assert.is_false(ok)
        assert.are.equal(shown, tostring(err))
        run(block_after(text, "So the first thing to do on a new database is to staff it"))
        local code = block_after(text, "A major release then goes like this")
        assert.are.same(expected(code), run(code))
        assert.are.same({ "2", "build" }, expected(code))
    end)
end)
