-- race_spec.lua: permission checks run inside the write transaction (issue
-- 9, races). Another process holds the write lock while it revokes a
-- permission; a write started meanwhile waits for the lock, and must then
-- see the revocation instead of a check made before it waited. The core
-- primitive is called directly: relm.activity.add opens relm.tx first.
local H = dofile("tests/spec/activity/helper.lua")

-- Run code as user in a relm process of its own, in the background; the
-- file named done appears when it has finished (its output in done).
local function spawn(user, code, done)
    local cmd = ("RELM_WORKFLOW_PATH=tests/spec/activity %q --db %q --user %s -e %q > %q 2>&1 &"):format(
        os.getenv("RELM_BIN") or "build/relm", relm.info().db, user, code, done)
    os.execute(cmd)
end

local function wait_for(path)
    for _ = 1, 600 do
        local f = io.open(path)
        if f then
            local text = f:read("a")
            f:close()
            if text:find("END", 1, true) then
                return text
            end
        end
        os.execute("sleep 0.05")
    end
    error("timed out waiting for " .. path)
end

describe("permission checks inside the transaction", function()
    setup(H.setup)
    teardown(H.cleanup)

    it("a write that waited for the lock sees a revocation committed meanwhile", function()
        local r = H.release()
        local tmp = os.getenv("RELM_TEST_TMP") or "/tmp"
        local holder, writer = tmp .. "/race_holder.out", tmp .. "/race_writer.out"
        os.remove(holder)
        os.remove(writer)
        -- The holder takes the write lock, revokes ops' execute and keeps the
        -- lock for a second before it commits.
        spawn("admin", [[relm.tx(function()
            relm.permission.revoke { group = "ops", workflow = "*", action = "execute" }
            print("LOCKED") io.stdout:flush()
            local uv = require "luv"
            uv.sleep(1000)
        end) print("END")]], holder)
        for _ = 1, 200 do
            local f = io.open(holder)
            local text = f and f:read("a") or ""
            if f then
                f:close()
            end
            if text:find("LOCKED", 1, true) then
                break
            end
            os.execute("sleep 0.02")
        end
        spawn("bob", ([[local add = require("relm.core.activity").add
            local ok, err = pcall(add, %d, { phase = "planning", title = "late" })
            print(ok, err) print("END")]]):format(r.id), writer)
        wait_for(holder)
        local out = wait_for(writer)
        relm.permission.grant { group = "ops", workflow = "*", action = "execute" }
        assert.matches("false", out)
        assert.matches("permission_denied", out)
        assert.are.equal(0, #relm.activity.list(r.id))
    end)
end)
