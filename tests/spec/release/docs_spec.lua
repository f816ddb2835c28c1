-- docs_spec.lua: the self-contained examples of docs/releases.md run, and
-- print what the page says they print (the `-->` comments).
local S = dofile("tests/fixtures/spec_helper.lua")

local function blocks_under(heading)
    local text = assert(S.read("docs/releases.md"))
    local section = text:match("\n#+ " .. heading .. "\n(.-)\n#+ ")
    assert(section, "no section '" .. heading .. "' in docs/releases.md")
    local out = {}
    for block in section:gmatch("```lua\n(.-)```") do
        out[#out + 1] = block
    end
    return out
end

-- Words of a printed or documented line, so that alignment does not count.
local function words(s)
    local w = {}
    for x in s:gmatch("%S+") do
        w[#w + 1] = x
    end
    return table.concat(w, " ")
end

-- Run code with print collected; return the printed lines and the lines
-- the code's `print(...)  --> text` comments expect, in order.
local function run(code)
    local expected = {}
    local lines = {}
    for line in code:gmatch("[^\n]+") do
        lines[#lines + 1] = line
    end
    for i, line in ipairs(lines) do
        if line:match("^%s*print%(") then
            -- on the same line, or alone on the next one
            local want = line:match("%-%->%s*(.-)%s*$") or (lines[i + 1] or ""):match("^%s*%-%->%s*(.-)%s*$")
            expected[#expected + 1] = want
        end
    end
    return S.run_printed(code, "=docs/releases.md", " "), expected
end

describe("docs/releases.md", function()
    after_each(function() relm.release.set_clock(nil) end)

    it("runs a release from start to finish", function()
        local printed = run(blocks_under("A release from start to finish")[1])
        assert.matches("^REL%-%d+%-000001 open registered 2$", words(printed[1]))
        assert.are.equal("authorize, suspend, cancel, capture, delegate, share", printed[2])
        assert.are.equal("closed closed", words(printed[3]))
    end)

    it("runs the bulk script again without registering twice", function()
        local code = blocks_under("Bulk work in a script")[1]
        assert.are.same({ "500 registered, 0 stale cancelled" }, (run(code)))
        assert.are.same({ "0 registered, 0 stale cancelled" }, (run(code)))
        relm.release.set_clock(relm.release.now() + 40 * 86400)
        local printed = run(code)
        assert.matches("^0 registered, %d+ stale cancelled$", printed[1])
        local open = relm.search.releases { status = "open", text = "patch wave", limit = 1000 }
        assert.are.equal(0, #open)
        assert.are.equal(500, #relm.search.releases { status = "cancelled", text = "patch wave", limit = 1000 })
    end)

    for _, heading in ipairs({ "SLA clock", "Dry run" }) do
        it("prints what it says under '" .. heading .. "'", function()
            local printed, expected = run(blocks_under(heading)[1])
            assert.is_true(#expected >= 2)
            assert.are.equal(#expected, #printed)
            for i, want in ipairs(expected) do
                assert.are.equal(words(want), words(printed[i]))
            end
        end)
    end
end)
