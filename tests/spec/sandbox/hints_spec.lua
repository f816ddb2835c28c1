-- hints_spec.lua: the workflow checker's "did you mean" hints run outside
-- the sandbox, so they are bounded: a file full of misspelt names or a
-- megabyte-long name is checked (and refused) without the checker hanging.
local W = relm.workflow

local function write_workflow(lines)
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    return path
end

local function check(lines)
    local path = write_workflow(lines)
    local ok, problems = W.check(path)
    os.remove(path)
    assert.is_false(ok)
    return problems
end

describe("the workflow checker's hints", function()
    it("still suggests the state a transition misspells", function()
        local problems = check({
            'workflow "hinted" { initial = "registered" }',
            'state "registered" { phase = "registration" }',
            'state "closed" { phase = "closure", final = true }',
            'transition "finish" { from = "registred", to = "closed" }',
        })
        assert.matches("did you mean 'registered'%?", table.concat(problems, "\n"))
    end)

    it("checks a file with thousands of states and misspelt references", function()
        -- Before the hints were bounded this took minutes (quadratic in the
        -- file): 1,000 states, 1,000 transitions each naming a typo.
        local lines = { 'workflow "many" { initial = "s1" }' }
        for i = 1, 1000 do
            lines[#lines + 1] = ('state "state_number_%d" { phase = "registration" }'):format(i)
        end
        lines[#lines + 1] = 'state "done" { phase = "closure", final = true }'
        for i = 1, 1000 do
            lines[#lines + 1] = ('transition "t%d" { from = "state_numbr_%d", to = "done" }'):format(i, i)
        end
        local problems = check(lines)
        assert.is_true(#problems >= 1000, #problems .. " problems")
        local all = table.concat(problems, "\n")
        assert.is_truthy(all:find("'state_numbr_1' is not a state", 1, true), all:sub(1, 300))
        assert.is_truthy(all:find("did you mean 'state_number_1'", 1, true), all:sub(1, 300))
    end)

    it("checks a file whose misspelt name is 256 KB long, without a hint", function()
        local long = ("x"):rep(256 * 1024)
        local problems = check({
            'workflow "long" { initial = "registered" }',
            'state "registered" { phase = "registration" }',
            ('state "%s" { phase = "closure", final = true }'):format(long .. "y"),
            ('transition "finish" { from = "registered", to = "%s" }'):format(long),
        })
        local all = table.concat(problems, "\n")
        assert.is_truthy(all:find("is not a state", 1, true) or all:find("unknown state", 1, true), all:sub(1, 300))
        assert.is_falsy(all:find("did you mean", 1, true))
    end)
end)
