-- readme_tour_spec.lua: the README's tour, typed as a new user types it.
-- Every `$ ` command of README.md from "A five-minute tour" to "More" runs
-- in order, in one shell, against the real binary; its exit status and its
-- output are checked against what the README shows, so the README cannot
-- drift from the product and the tour always reaches `closed`.
local H = dofile("tests/fixtures/cli_helper.lua")

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

-- The tour's steps: {cmd=, heredoc=, expect={lines}, line=N} in README order.
local function tour_steps(readme)
    local steps, in_tour, cur, heredoc_end = {}, false, nil, nil
    local n = 0
    for line in (readme .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        if line:match("^## A five%-minute tour") then
            in_tour = true
        elseif line:match("^## ") then
            in_tour = false
        end
        if in_tour then
            local code = line:match("^    (.*)$")
            if heredoc_end then
                cur.heredoc[#cur.heredoc + 1] = code or ""
                if code == heredoc_end then
                    heredoc_end = nil
                end
            elseif code and code:match("^%$ ") then
                cur = { cmd = code:sub(3), heredoc = {}, expect = {}, line = n }
                steps[#steps + 1] = cur
                heredoc_end = cur.cmd:match("<<'(%w+)'")
            elseif code and cur then
                cur.expect[#cur.expect + 1] = code
            else
                cur = nil
            end
        end
    end
    return steps
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
        local steps = tour_steps(readme)
        assert.is_true(#steps > 30, "the tour has its steps")
        local dir = H.fresh_dir("tour")
        local script = { "cd " .. H.q(dir), "unset RELM_DB RELM_USER RELM_SYNC", "export COLUMNS=80" }
        for k, s in ipairs(steps) do
            local cmd = s.cmd:gsub("build/relm", H.q(H.BIN)):gsub("/tmp/", dir .. "/")
            local file = cmd:match("^cat ([%w_.]+)$")
            if file and #s.expect > 0 then
                -- "Save this as hello.lua": the README shows the file's text.
                H.write(dir .. "/" .. file, table.concat(s.expect, "\n") .. "\n")
            end
            -- The marker, then the previous status back in $? for `echo $?`.
            script[#script + 1] = ("echo '@@step %d'; (exit ${__rc:-0})"):format(k)
            local body = #s.heredoc > 0 and ("\n" .. table.concat(s.heredoc, "\n")) or ""
            script[#script + 1] = cmd .. " 2>&1" .. body:gsub("/tmp/", dir .. "/")
            script[#script + 1] = "__rc=$?; echo \"@@rc $__rc\""
        end
        H.write(dir .. "/tour.sh", table.concat(script, "\n") .. "\n")
        local p = assert(io.popen("bash " .. H.q(dir .. "/tour.sh") .. " < /dev/null"))
        local out = p:read("a")
        p:close()
        -- The tour's /tmp is this spec's directory: map it back.
        local dir_pat = (dir .. "/"):gsub("%p", "%%%0")
        local results, k = {}, nil
        for line in out:gmatch("([^\n]*)\n") do
            local step = line:match("^@@step (%d+)$")
            local rc = line:match("^@@rc (%d+)$")
            if step then
                k = tonumber(step)
                results[k] = { lines = {} }
            elseif rc then
                results[k].rc = tonumber(rc)
            elseif k then
                table.insert(results[k].lines, (line:gsub(dir_pat, "/tmp/")))
            end
        end
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
