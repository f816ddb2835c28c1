-- escalation_spec.lua: `relm serve` on business calendars: a breach that
-- came while serve was down fires once, at its real moment; escalation
-- rules act through the primitives (recorded in the release's history),
-- and a rule that fails is parked with file:line while serve keeps running.
local S = dofile("tests/fixtures/serve_helper.lua")
local R = dofile("tests/fixtures/release_helper.lua")

local function history(id, action)
    local out = {}
    for _, o in ipairs(relm.release.history(id)) do
        if o.action == action then
            out[#out + 1] = o
        end
    end
    return out
end

local function all_days()
    local t = {}
    for _, d in ipairs({ "mon", "tue", "wed", "thu", "fri", "sat", "sun" }) do
        t[d] = { "00:00-24:00" }
    end
    return t
end

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

describe("relm serve on business calendars", function()
    setup(function()
        R.setup()
        relm.calendar.define { name = "always", tz = "Europe/Lisbon", hours = all_days() }
        relm.group.add { name = "tier2" }
    end)
    after_each(function() S.stop_all() end)

    it("fires a breach that came during downtime once, with the moment it happened", function()
        local r = relm.release.register { title = "Breached while down", sla_hours = 2 / 3600, calendar = "always" }
        assert.are.equal("always", r.calendar)
        S.sleep(3)
        local serve = S.serve(relm.info().db)
        assert.is_truthy(S.wait(function() return #history(r.id, "sla.breached") == 1 end),
            "no breach; serve log:\n" .. (S.read(serve.log) or ""))
        assert.are.equal(r.deadline, history(r.id, "sla.breached")[1].at)
        assert.are.equal(1, #history(r.id, "sla.warning"))
        assert.are.equal("breached", relm.release.get(r.id).sla_stage)
        assert.are.equal(1, #relm.search.releases { sla_stage = "breached", number = r.number })
        assert.are.equal(0, S.kill(serve, "TERM"))
        -- A second serve does not fire it again.
        local again = S.serve(relm.info().db)
        assert.is_truthy(S.wait(function()
            return (S.read(again.log) or ""):find("started", 1, true)
        end))
        S.sleep(1.5)
        assert.are.equal(1, #history(r.id, "sla.breached"))
        assert.are.equal(0, S.kill(again, "TERM"))
    end)

    it("runs escalation rules through the primitives and parks a failing one", function()
        local dir = S.TMP .. "/escalations"
        os.execute("rm -rf " .. S.q(dir) .. " && mkdir -p " .. S.q(dir))
        write(dir .. "/esc.lua", [[
rule { name = "warn-reassign", at = "warning", reassign = "tier2" }
rule { name = "breach-urgent", at = "breached", raise_priority = "high", notify = "managers" }
rule { name = "half", percent = 50, call = function(r) return { notify = "ops-" .. r.number } end }
rule { name = "boom", at = "breached", call = function(r)
    error("cannot escalate " .. r.number)
end }
]])
        write(dir .. "/zz_bad.lua", [[rule { name = "bad", at = "soon", notify = "x" }
]])
        local serve = S.serve(relm.info().db, "", { env = { RELM_ESCALATIONS_DIR = dir } })
        assert.is_truthy(S.wait(function()
            return (S.read(serve.log) or ""):find("started", 1, true)
        end))
        local r = relm.release.register { title = "Escalate me", sla_hours = 4 / 3600, calendar = "always",
            urgency = "low" }
        assert.is_truthy(S.wait(function()
            return #history(r.id, "sla.breached") == 1 and #relm.escalation.fired(r.id) == 4
        end), "serve log:\n" .. (S.read(serve.log) or ""))
        -- The effects, as normal writes in the history.
        local now = relm.release.get(r.id)
        assert.are.equal("tier2", now.current_group)
        assert.are.equal("high", now.urgency)
        assert.are.equal(1, #history(r.id, "delegate"))
        local escalated = {}
        for _, o in ipairs(history(r.id, "sla.escalated")) do
            escalated[#escalated + 1] = o.note
        end
        local text = table.concat(escalated, "\n")
        assert.matches("'half' %(50%%%): notify group ops%-" .. r.number:gsub("%-", "%%-"), text)
        assert.matches("'warn%-reassign' %(warning%)", text)
        assert.matches("'breach%-urgent' %(breached%): notify group managers", text)
        -- The failing rule: parked with the line of its error.
        local fired = {}
        for _, e in ipairs(relm.escalation.fired(r.id)) do
            fired[e.rule] = e
        end
        assert.are.equal("failed", fired.boom.status)
        assert.matches("esc%.lua:5: .*cannot escalate", fired.boom.error)
        assert.are.equal("done", fired.half.status)
        local log = S.read(serve.log)
        assert.matches("zz_bad%.lua:1: rule 'bad': at must be", log)
        assert.matches("escalation%.failed", log)
        -- Once per cycle: nothing runs twice.
        S.sleep(1.5)
        assert.are.equal(4, #relm.escalation.fired(r.id))
        assert.is_true(S.alive(serve))
        assert.are.equal(0, S.kill(serve, "TERM"))
    end)
end)
