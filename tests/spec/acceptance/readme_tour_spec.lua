-- readme_tour_spec.lua: the README's tour, typed as a new user types it.
-- Every `$ ` command of README.md from "A five-minute tour" to "More" runs
-- in order, in one shell, against the real binary; its exit status and its
-- output are checked against what the README shows, so the README cannot
-- drift from the product and the tour always reaches `closed`.
local H = dofile("tests/fixtures/cli_helper.lua")
local T = dofile("tests/fixtures/readme_tour.lua")

-- Masks what changes from day to day: dates, times, release numbers (which
-- carry the year) and the schema version (each migration moves it), and
-- folds runs of blanks.
local function normal(line)
    line = line:gsub("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ", "<time>")
        :gsub("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d", "<time>")
        :gsub("%d%d%d%d%-%d%d%-%d%d", "<date>")
        :gsub("REL%-%d%d%d%d%-", "REL-YYYY-")
        :gsub("schema = %d+", "schema = N")
        :gsub("%s+", " ")
    return (line:gsub("^ ", ""):gsub(" $", ""))
end

-- An expected output that shows a refusal: the command exits non-zero.
local function shows_error(expect)
    local first = expect[1] or ""
    return first:match("^relm: ") or first:match("^%(command line%):%d+: [%w_]+: ")
end

-- Compare what a step printed with what the README shows. Tables are
-- narrowed to the reader's terminal, so for them the header's columns (a
-- subset may be left out) and the row count must match; every other line
-- must match once dates are masked.
local function compare(step, got)
    local want = step.expect
    local where = ("README.md:%d: %s"):format(step.line, step.cmd)
    local i, j = 1, 1
    while i <= #want do
        local is_table = want[i + 1] and want[i + 1]:match("^%-%-[%- ]*$")
        if is_table then
            local cols = {}
            for c in got[j] and got[j]:gmatch("%S+") or function() end do
                cols[c] = true
            end
            for c in want[i]:gmatch("%S+") do
                assert(cols[c], ("%s\ncolumn '%s' missing from: %s"):format(where, c, tostring(got[j])))
            end
            while want[i] and not want[i]:match("^%(%d+ rows?%)$") do
                i = i + 1
            end
            while got[j] and not got[j]:match("^%(%d+ rows?%)") do
                j = j + 1
            end
        end
        assert.are.equal(normal(want[i] or ""), normal(got[j] or ""), where)
        i, j = i + 1, j + 1
    end
end

describe("the README tour", function()
    it("runs as written, with the output shown, to a closed release", function()
        local readme = assert(H.read("README.md"), "README.md not found")
        local steps = T.steps(readme)
        assert.is_true(#steps > 30, "the tour has its steps")
        local dir = H.fresh_dir("tour")
        local results = T.run(steps, dir)
        for i, s in ipairs(steps) do
            local r = assert(results[i], ("README.md:%d: step did not run: %s"):format(s.line, s.cmd))
            local failing = shows_error(s.expect) or s.cmd:match("^echo %$%?")
            if not failing then
                assert.are.equal(0, r.rc, ("README.md:%d: %s\n%s"):format(s.line, s.cmd,
                    table.concat(r.lines, "\n")))
            elseif shows_error(s.expect) then
                assert.are_not.equal(0, r.rc, ("README.md:%d: %s should fail"):format(s.line, s.cmd))
            end
            if #s.heredoc == 0 then
                compare(s, r.lines)
            end
        end
        -- The tour's release ends closed, with its CIs promoted.
        local code, status = H.relm(dir, "--db tour.db -e 'print(relm.release.get(1).status)'")
        assert.are.equal(0, code)
        assert.are.equal("closed\n", status)
    end)
end)
