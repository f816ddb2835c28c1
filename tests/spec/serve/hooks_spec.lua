-- hooks_spec.lua: relm.on hooks in the hooks_dir files, run by a real
-- `relm serve` after commit: a hook reads the release and writes through a
-- primitive; a failing hook is retried, dead-lettered with its file:line,
-- replayed; a broken hook file loses no event.
local S = dofile("tests/fixtures/serve_helper.lua")
local refused = dofile("tests/fixtures/spec_helper.lua").refused

local function db()
    return relm.info().db
end

-- A fresh hooks directory holding the given files ({name = text}).
local dirs = 0
local function hooks_dir(files)
    dirs = dirs + 1
    local dir = S.TMP .. "/hooks" .. dirs
    os.execute("rm -rf " .. S.q(dir) .. " && mkdir -p " .. S.q(dir))
    for name, text in pairs(files) do
        local f = assert(io.open(dir .. "/" .. name, "w"))
        f:write(text)
        f:close()
    end
    return dir
end

-- The first line of serve's log holding every one of the strings, or nil.
local function line_with(p, ...)
    local want = { ... }
    for _, l in ipairs(S.log_lines(p)) do
        local all = true
        for _, w in ipairs(want) do
            all = all and l:find(w, 1, true) ~= nil
        end
        if all then
            return l
        end
    end
end

local function dead_hooks()
    local out = {}
    for _, d in ipairs(relm.notify.dead()) do
        if d.kind == "hook" then
            out[#out + 1] = d
        end
    end
    return out
end

describe("relm.on hooks", function()
    setup(function()
        relm.notify.set { backoff_seconds = 0.2, max_tries = 2 }
    end)
    after_each(function()
        S.stop_all()
        relm.notify.set { hooks_dir = "" }
    end)

    it("refuses a hooks_dir that is not a readable directory", function()
        refused("invalid_field", "hooks_dir must be a directory", function()
            relm.notify.set { hooks_dir = S.TMP .. "/no/such/dir" }
        end)
    end)

    it("runs a hook after commit: it reads the release, writes through a primitive and logs", function()
        relm.notify.set { hooks_dir = hooks_dir { ["tag.lua"] = [[
relm.on("release.registered", function(e)
    local r = relm.release.get(e.release.id)
    relm.release.update(r.id, { title = r.title .. " (seen)" })
    relm.log("tagged", r.number, "event", e.id)
end)
]] } }
        local serve = S.serve(db())
        local r = relm.release.register { title = "Hook me" }
        assert.is_truthy(S.wait(function() return relm.release.get(r.id).title == "Hook me (seen)" end))
        local l = S.wait(function() return line_with(serve, "hook.log", "tag.lua:1", "tagged " .. r.number) end)
        assert.is_truthy(l, table.concat(S.log_lines(serve), "\n"))
        assert.is_truthy(S.wait(function() return line_with(serve, "hook.done", "tag.lua:1") end))
        -- The write went through the primitive: an occurrence by serve's user.
        local found = false
        for _, o in ipairs(relm.release.history(r.id)) do
            found = found or (o.action == "update" and o.actor == "admin")
        end
        assert.is_true(found)
        -- Its own release.update event does not match: the hook ran once.
        assert.are.equal(1, relm.sql("SELECT count(*) AS n FROM hook_runs r JOIN outbox o ON o.id = r.outbox_id"
            .. " WHERE o.release_id = ?", r.id)[1].n)
    end)

    it("retries a failing hook, parks it as a dead letter with file:line, and replays it", function()
        relm.notify.set { hooks_dir = hooks_dir { ["flaky.lua"] = [[
local calls = 0
relm.on("release.*", function(e)
    calls = calls + 1
    if calls <= 3 then
        error("not yet (call " .. calls .. ")")
    end
    relm.log("ran at call", calls, e.event)
end)
]] } }
        local serve = S.serve(db())
        local r = relm.release.register { title = "Flaky" }
        assert.is_truthy(S.wait(function() return line_with(serve, "hook.retry", "flaky.lua:2") end))
        assert.is_truthy(S.wait(function() return #dead_hooks() == 1 end), table.concat(S.log_lines(serve), "\n"))
        local d = dead_hooks()[1]
        assert.are.equal("release.registered", d.event)
        assert.are.equal(r.id, d.release)
        assert.are.equal(2, d.attempts)
        assert.matches("flaky%.lua:5: not yet %(call 2%)", d.reason)
        assert.matches("flaky%.lua:2$", d.target)
        assert.are.equal(1, relm.notify.status().hook.dead)
        refused("not_found", "no dead hook run", function() relm.notify.replay(d.id + 1000, "hook") end)
        relm.notify.replay(d.id, "hook")
        assert.is_truthy(S.wait(function() return line_with(serve, "hook.done", "flaky.lua:2") end),
            table.concat(S.log_lines(serve), "\n"))
        assert.is_truthy(line_with(serve, "hook.log", "ran at call 4 release.registered"))
        assert.are.same({}, dead_hooks())
    end)

    it("names the file and line of a broken hook file, and runs the events it missed once it is fixed", function()
        local dir = hooks_dir { ["broken.lua"] = 'relm.on("release.registered", function(e)\n  relm.log("x"\nend)\n' }
        relm.notify.set { hooks_dir = dir }
        local serve = S.serve(db())
        assert.is_truthy(S.wait(function() return line_with(serve, "error", "what=hooks", "broken.lua:3") end),
            table.concat(S.log_lines(serve), "\n"))
        local r = relm.release.register { title = "Meanwhile" }
        local f = assert(io.open(dir .. "/broken.lua", "w"))
        f:write('relm.on("release.registered", function(e) relm.log("caught up", e.release.title) end)\n')
        f:close()
        os.execute("kill -HUP " .. serve.pid)
        assert.is_truthy(S.wait(function() return line_with(serve, "hook.log", "caught up Meanwhile") end),
            table.concat(S.log_lines(serve), "\n"))
        assert.is_truthy(r.id)
    end)

    it("re-reads a changed hook file when another process commits, as it does workflows (no SIGHUP)", function()
        local dir = hooks_dir {
            ["say.lua"] = 'relm.on("release.registered", function(e) relm.log("old", e.release.title) end)\n' }
        relm.notify.set { hooks_dir = dir }
        local serve = S.serve(db())
        relm.release.register { title = "First" }
        assert.is_truthy(S.wait(function() return line_with(serve, "hook.log", "old First") end),
            table.concat(S.log_lines(serve), "\n"))
        -- a file written (a later second: the modification time differs) and a new file
        S.sleep(1.1)
        local f = assert(io.open(dir .. "/say.lua", "w"))
        f:write('relm.on("release.registered", function(e) relm.log("new", e.release.title) end)\n')
        f:close()
        f = assert(io.open(dir .. "/more.lua", "w"))
        f:write('relm.on("release.registered", function(e) relm.log("more", e.release.title) end)\n')
        f:close()
        -- this process's commit is what serve notices (the REPL beside it)
        relm.release.register { title = "Second" }
        assert.is_truthy(S.wait(function()
            return line_with(serve, "hook.log", "new Second") and line_with(serve, "hook.log", "more Second")
        end), table.concat(S.log_lines(serve), "\n"))
        assert.is_nil(line_with(serve, "hook.log", "old Second"))
        assert.are.equal(0, S.kill(serve, "TERM"))
    end)

    it("runs every event's hook at least once while serve is killed with SIGKILL again and again", function()
        relm.notify.set { hooks_dir = hooks_dir { ["mark.lua"] = [[
relm.on("release.registered", function(e)
    relm.release.update(e.release.id, { version = "hooked" })
end)
]] } }
        local serve = S.serve(db())
        local ids = {}
        for _ = 1, 3 do
            relm.tx(function()
                for i = 1, 100 do
                    ids[#ids + 1] = relm.release.register { title = "Kill " .. i }.id
                end
            end)
            S.sleep(1.3)
            S.kill(serve, "KILL")
            serve = S.serve(db())
        end
        local function unmarked()
            local n = 0
            for _, id in ipairs(ids) do
                n = n + (relm.release.get(id).version == "hooked" and 0 or 1)
            end
            return n
        end
        assert.is_truthy(S.wait(function() return unmarked() == 0 end, 120),
            "not every hook ran; serve log:\n" .. (S.read(serve.log) or ""))
        assert.are.equal(0, S.kill(serve, "TERM"))
    end)
end)
