-- interrupt_spec.lua: Ctrl-C in the REPL while a statement spends its time
-- in sandboxed guards stops the statement: the sandbox neither swallows the
-- interrupt as a failed guard nor drops the REPL's interrupt hook when the
-- guard's call ends. Typed through build/tests/ptydrive.
local bin = os.getenv("RELM_BIN") or "build/relm"
local driver = bin:gsub("[^/]+$", "") .. "tests/ptydrive"
local tmp = os.getenv("RELM_TEST_TMP") or os.tmpname():gsub("[^/]+$", "")

-- Shell quoting and files: tests/fixtures/cli_helper.lua.
local H = dofile("tests/fixtures/cli_helper.lua")
local q, write = H.q, H.write

describe("Ctrl-C during sandboxed guards", function()
    it("stops the statement that runs them", function()
        local dir = tmp .. "/interrupt"
        os.execute("mkdir -p " .. q(dir .. "/home"))
        -- Each guard call spends 50 ms of CPU, under a 10 s time limit: on a
        -- loaded machine 50 ms of CPU can take longer than the default
        -- 200 ms of wall-clock time, and the guard then failed on its limit
        -- instead of being stopped by Ctrl-C.
        write(dir .. "/busy.lua", [[
workflow "busy" { initial = "a" }
state "a"      { phase = "registration" }
state "closed" { phase = "closure", final = true }
transition "go" { from = "a", to = "closed",
    guard = function() local t = os.clock() while os.clock() - t < 0.05 do end return true end }
]])
        write(dir .. "/steps", table.concat({
            "expect relm> ",
            ('send wf = relm.workflow.load("%s/busy.lua")\\n'):format(dir),
            "expect relm> ",
            "send relm.sandbox.config{ timeout_ms = 10000 }\\n",
            "expect relm> ",
            -- The marker is printed, not echoed ("st" .. "arted"), so Ctrl-C
            -- is sent once the statement runs, however slowly it started.
            'send print("st" .. "arted") n = 0 for i = 1, 1000 do wf:guard("go", {}) n = i end\\n',
            "expect started",
            "sleep 200",
            "ctrl c",
            "expect statement stopped by Ctrl-C",
            "expect relm> ",
            "send print(n < 1000, relm.sandbox.active())\\n",
            "expect relm> ",
            "ctrl d",
            "exit 0",
        }, "\n") .. "\n")
        local p = assert(io.popen(string.format("HOME=%s TERM=xterm %s -v -t 20 %s -- %s --db %s repl 2>&1",
            q(dir .. "/home"), q(driver), q(dir .. "/steps"), q(bin), q(dir .. "/r.db"))))
        local out = p:read("a")
        assert.is_true(p:close(), out)
        assert.matches("interrupted: statement stopped by Ctrl%-C", out)
        assert.matches("\ntrue\tfalse\r?\n", out)
    end)
end)
