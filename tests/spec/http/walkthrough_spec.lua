-- walkthrough_spec.lua: the curl walk-through of docs/http.md, typed as a
-- reader types it: every `$ ` command of its "Walk-through" section runs
-- in order in one bash, on a free port instead of 8080, and each JSON
-- answer must hold every field the document shows, with the value shown.
local H = dofile("tests/fixtures/cli_helper.lua")
local cjson = require "cjson"

-- The walk-through's commands: {cmd=, heredoc={lines}, shown={lines}, line=}.
local function commands(doc)
    local out, on, cur, until_word = {}, false, nil, nil
    local n = 0
    for line in (doc .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        if line:match("^## ") then
            on = line:match("^## Walk%-through") ~= nil
        elseif on then
            local code = line:match("^    (.*)$")
            if until_word then
                if code == until_word then
                    until_word = nil
                end
                table.insert(cur.heredoc, code or "")
            elseif code and code:match("^%$ ") then
                cur = { cmd = code:sub(3), heredoc = {}, shown = {}, line = n }
                out[#out + 1] = cur
                until_word = cur.cmd:match("<<'(%w+)'")
            elseif code and cur then
                table.insert(cur.shown, code)
            elseif line ~= "" then
                cur = nil
            end
        end
    end
    return out
end

-- Dates, times and the year in release numbers change from run to run.
local function masked(v)
    if type(v) ~= "string" then
        return v
    end
    return (v:gsub("%d%d%d%d%-%d%d%-%d%dT[%d:]+Z", "<time>"):gsub("REL%-%d%d%d%d%-", "REL-YYYY-"))
end

-- Whether got holds what want shows: every key of an object with the
-- value shown, every element of an array (same length, in order).
local function holds(want, got, where)
    if type(want) ~= "table" then
        assert.are.equal(masked(want), masked(got), where)
        return
    end
    assert.is_table(got, where)
    if want[1] ~= nil then
        assert.are.equal(#want, #got, where .. ": array length")
    end
    for k, v in pairs(want) do
        holds(v, got[k], where .. "." .. tostring(k))
    end
end

describe("docs/http.md", function()
    it("has a curl walk-through that runs as written, from a token to a closed release", function()
        local steps = commands(assert(H.read("docs/http.md")))
        assert.is_true(#steps >= 15, "the walk-through has its steps")
        local dir = H.fresh_dir("walk")
        local p = io.popen("python3 -c 'import socket;s=socket.socket();s.bind((\"127.0.0.1\",0));"
            .. "print(s.getsockname()[1])'")
        local port = p:read("l")
        p:close()
        local script = { "cd " .. H.q(dir), "unset RELM_DB RELM_USER" }
        for k, s in ipairs(steps) do
            -- The binary's path last: it may hold /tmp/ (a checkout there)
            -- or 8080.
            local cmd = s.cmd:gsub("8080", port):gsub("/tmp/", dir .. "/"):gsub("build/relm", H.q(H.BIN))
            script[#script + 1] = ("echo '@@step %d'"):format(k)
            local body = #s.heredoc > 0 and ("\n" .. table.concat(s.heredoc, "\n")) or ""
            script[#script + 1] = cmd .. body
            script[#script + 1] = "echo; echo \"@@rc $?\""
        end
        H.write(dir .. "/walk.sh", table.concat(script, "\n") .. "\n")
        local run = assert(io.popen("bash " .. H.q(dir .. "/walk.sh") .. " 2>&1 < /dev/null"))
        local out = run:read("a")
        run:close()
        local results, k = {}, nil
        for line in out:gmatch("([^\n]*)\n") do
            if line:match("^@@step (%d+)$") then
                k = tonumber(line:match("%d+"))
                results[k] = { text = {} }
            elseif line:match("^@@rc %d+$") then
                results[k].rc = tonumber(line:match("%d+"))
            elseif k then
                table.insert(results[k].text, line)
            end
        end
        for i, s in ipairs(steps) do
            local where = ("docs/http.md:%d: %s"):format(s.line, s.cmd)
            local r = assert(results[i], where .. ": did not run")
            local got = table.concat(r.text, "\n")
            assert.are.equal(0, r.rc, where .. "\n" .. got)
            if #s.shown > 0 then
                local want = cjson.decode(table.concat(s.shown, "\n"))
                local ok, answer = pcall(cjson.decode, got)
                assert.is_true(ok, where .. ": not JSON: " .. got)
                holds(want, answer, where)
            end
        end
        -- the release the walk-through closed, as the engine sees it
        local code, status = H.relm(dir, "--db http-tour.db -e 'print(relm.release.get(1).status)'")
        assert.are.equal(0, code)
        assert.are.equal("closed\n", status)
    end)
end)
