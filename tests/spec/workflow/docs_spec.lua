-- docs_spec.lua: every complete workflow in docs/workflows.md passes
-- check(), and the answers the tutorial shows are the real ones.
local W = relm.workflow

local function doc_workflows()
    local text = assert(dofile("tests/fixtures/spec_helper.lua").read("docs/workflows.md"))
    local out = {}
    for block in text:gmatch("```lua\n(.-)```") do
        local name = block:match('^[^\n]*\n?workflow "([%w_]+)"') or block:match('^workflow "([%w_]+)"')
        if name then
            out[#out + 1] = { name = name, code = block }
        end
    end
    return out
end

describe("docs/workflows.md", function()
    local blocks = doc_workflows()

    it("has complete workflows to check", function()
        assert.is_true(#blocks >= 2)
    end)

    for i, b in ipairs(blocks) do
        it("example " .. i .. " (" .. b.name .. ") passes check()", function()
            local dir = os.getenv("RELM_TEST_TMP") .. "/docs" .. i
            os.execute("mkdir -p " .. dir)
            local path = dir .. "/" .. b.name .. ".lua"
            local f = assert(io.open(path, "w"))
            f:write(b.code)
            f:close()
            local ok, problems = W.check(path)
            assert.is_true(ok, table.concat(problems or {}, "\n"))
        end)
    end

    it("shows the tutorial's real answers", function()
        local final = blocks[#blocks]
        local path = os.getenv("RELM_TEST_TMP") .. "/docs" .. #blocks .. "/patch.lua"
        assert.are.equal("patch", final.name)
        local wf = W.load(path)
        assert.are.same({ "broken", "verified" }, wf:available("verifying"))
        assert.are.same({ false, "a high-impact, high-risk patch goes through the major workflow" },
            { wf:guard("approve", { impact = "high", risk = "high" }) })
        local e = wf:explain("approve", { state = "requested", advisory = "VND-2027-11" })
        assert.are.same({ true, "requested", "applying", "approve" }, { e.allowed, e.from, e.to, e.permission })
        assert.matches("^%d%d%d%d%-%d%d%-%d%d$", wf:enter("verifying", {}, {}).verify_before)
    end)

    it("shows the tutorial's typo report", function()
        local first = blocks[1].code:gsub('to = "applied" }', 'to = "aplied" }', 1)
        local dir = os.getenv("RELM_TEST_TMP") .. "/typo"
        os.execute("mkdir -p " .. dir)
        local f = assert(io.open(dir .. "/patch.lua", "w"))
        f:write(first)
        f:close()
        local ok, problems = W.check(dir .. "/patch.lua")
        assert.is_false(ok)
        local tail = {}
        for i, p in ipairs(problems) do
            tail[i] = p:match("(patch%.lua:.*)$")
        end
        assert.are.same({
            "patch.lua:7: state 'applied' is unreachable from the initial state 'requested'",
            "patch.lua:8: state 'closed' is unreachable from the initial state 'requested'",
            "patch.lua:11: transition 'apply': to 'aplied' is not a state of this workflow (did you mean 'applied'?)",
        }, tail)
    end)
end)
