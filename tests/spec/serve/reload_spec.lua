-- reload_spec.lua: SIGHUP makes a running `relm serve` read its workflow
-- files again, and so does a commit elsewhere once a file changed; a file
-- that no longer compiles keeps the old definition in force and is logged
-- with file:line. Escalation rule files are read again on a commit
-- elsewhere once one changed, as workflows are (hook files: hooks_spec).
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

local function iso(secs)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + secs)
end

local function copy(from, to)
    local text = assert(S.read(from))
    local f = assert(io.open(to, "wb"))
    f:write(text)
    f:close()
    return text
end

describe("relm serve on SIGHUP", function()
    local j
    setup(function() j = R.setup() end)
    after_each(function() S.stop_all() end)

    it("reloads workflows on SIGHUP and on a commit after a file changed; a broken file keeps the old one", function()
        local dir = S.TMP .. "/wf"
        os.execute("mkdir -p " .. S.q(dir))
        local file = dir .. "/shimflow.lua"
        local good = copy("tests/fixtures/workflows/shimflow.lua", file)
        local sv = S.serve(relm.info().db, nil, { env = "RELM_WORKFLOW_PATH=" .. S.q(dir) })
        -- A scheduled reactivation makes serve's engine compile shimflow.
        local a, b = R.release(), R.release()
        relm.release.suspend(a.id, { justification = j.suspend, reactivate_at = iso(1) })
        assert.is_truthy(S.wait(function() return relm.release.get(a.id).status == "open" end, 20), S.read(sv.log))

        local lines = select(2, good:gsub("\n", "")) + 1
        local f = assert(io.open(file, "ab"))
        f:write("\nthis is not lua\n")
        f:close()
        os.execute("kill -HUP " .. sv.pid)
        local logged = S.wait(function()
            return (S.read(sv.log) or ""):match("reload_error what=workflow message=\"[^\n]*shimflow%.lua:(%d+):")
        end, 20)
        assert.is_truthy(logged, S.read(sv.log))
        assert.is_true(tonumber(logged) >= lines, "line " .. tostring(logged))
        assert.matches("reloaded failed=1", S.read(sv.log))
        -- The old definition is still in force: serve still reactivates.
        relm.release.suspend(b.id, { justification = j.suspend, reactivate_at = iso(1) })
        assert.is_truthy(S.wait(function() return relm.release.get(b.id).status == "open" end, 20), S.read(sv.log))

        -- Commits since (b's suspend and reactivation) did not read the
        -- broken file again: it has not changed since.
        local _, errors = S.read(sv.log):gsub("reload_error", "")
        assert.are.equal(1, errors, S.read(sv.log))

        -- Mended on disk, it is read again after the next commit
        -- elsewhere, without a signal.
        copy("tests/fixtures/workflows/shimflow.lua", file)
        R.release()
        assert.is_truthy(S.wait(function() return (S.read(sv.log) or ""):find("reloaded failed=0", 1, true) end, 20),
            S.read(sv.log))
        os.execute("kill -HUP " .. sv.pid)
        assert.is_truthy(S.wait(function()
            return select(2, S.read(sv.log):gsub("reloaded failed=0", "")) == 2
        end, 20), S.read(sv.log))
        assert.are.equal(0, S.kill(sv, "TERM"))
    end)

    it("reads escalation rule files again on a commit after one was added or written", function()
        local dir = S.TMP .. "/reload-esc"
        os.execute("rm -rf " .. S.q(dir) .. " && mkdir -p " .. S.q(dir))
        local function write(name, text)
            local f = assert(io.open(dir .. "/" .. name, "w"))
            f:write(text)
            f:close()
        end
        write("a.lua", 'rule { name = "first", at = "breached", call = function() return {} end }\n')
        local sv = S.serve(relm.info().db, nil, { env = { RELM_ESCALATIONS_DIR = dir } })
        assert.is_truthy(S.wait(function() return (S.read(sv.log) or ""):find("started", 1, true) end))
        write("b.lua", 'rule { name = "added", at = "warning", raise_priority = "high" }\n')
        -- this registration is the commit serve notices
        local r = relm.release.register { sla_hours = 3 / 3600, title = "Reload rules", urgency = "low" }
        assert.is_truthy(S.wait(function() return #relm.escalation.fired(r.id) == 2 end, 20), S.read(sv.log))
        local fired = {}
        for _, e in ipairs(relm.escalation.fired(r.id)) do
            fired[e.rule] = e.status
        end
        assert.are.same({ first = "done", added = "done" }, fired)
        assert.are.equal("high", relm.release.get(r.id).urgency)
        local rc = S.kill(sv, "TERM")
        assert.are.equal(0, rc, S.read(sv.log))
    end)
end)
