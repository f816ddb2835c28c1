-- progress_spec.lua: long work tells how far it got on a terminal, and
-- nothing when its output goes to a file (issue 10, "Admins in batch").
local H = dofile("tests/fixtures/cli_helper.lua")
local bin = H.BIN
local driver = bin:gsub("[^/]+$", "") .. "tests/ptydrive"

-- A CSV of n CIs of type host.
local function cis_file(dir, n)
    local rows = { "name,type" }
    for i = 1, n do
        rows[#rows + 1] = ("host-%06d,host"):format(i)
    end
    H.write(dir .. "/cis.csv", table.concat(rows, "\n") .. "\n")
end

-- The import, with the line shown at once (no delay, no interval).
local IMPORT = "relm.progress.delay = 0; relm.progress.interval = 0; relm.cmdb.define_type{ name = 'host' }; "
    .. "print(relm.cmdb.import('cis.csv', { kind = 'cis' }))"

describe("relm.cmdb.import's progress", function()
    it("draws bytes, rate and the end on a terminal", function()
        local dir = H.fresh_dir("progress")
        cis_file(dir, 20000)
        H.write(dir .. "/steps", table.concat({
            "timeout 60",
            "expect import cis.csv: ",
            "expect bytes",
            "expect 20000",
            "exit 0",
        }, "\n") .. "\n")
        local cmd = ("cd %s && TERM=xterm %s -t 60 steps -- %s --db p.db -e %s 2>&1"):format(
            H.q(dir), H.q(driver), H.q(bin), H.q(IMPORT))
        local p = assert(io.popen(cmd))
        local out = p:read("a")
        assert(p:close(), "no progress line on the terminal:\n" .. out)
    end)

    it("writes nothing extra when stderr is not a terminal", function()
        local dir = H.fresh_dir("progress")
        cis_file(dir, 20000)
        local code, out, err = H.relm(dir, "--db p.db -e " .. H.q(IMPORT))
        assert.are.equal(0, code)
        assert.are.equal("20000\n", out)
        assert.are.equal("", err)
    end)
end)
