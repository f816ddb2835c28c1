-- helper.lua: shared set-up for the activity and approval specs: a fixture
-- workflow with planning, deployment and homologation (approval) states,
-- people with known permissions, and row counts that show whether anything
-- was written.
local assert = require "luassert"
local H = {}

H.WF = "planflow"

-- The fixture workflow in the compiled shape relm.release reads (states,
-- transitions with from-sets). Registered through relm.workflow.define when
-- the workflow DSL offers it, else served by a minimal loader.
H.workflow = {
    initial = "registration", reopen_to = "deployment", close_state = "closed", cancel_state = "cancelled",
    states = {
        registration = { phase = "registration", cancel = true, suspend = true },
        planning = { phase = "planning", cancel = true, suspend = true },
        deployment = { phase = "deployment", cancel = true, suspend = true },
        homologation = { phase = "deployment", cancel = true },
        resolved = { phase = "closure" },
        closed = { phase = "closure", final = true },
        cancelled = { phase = "closure", final = true },
    },
    transitions = {
        plan = { from = { "registration" }, to = "planning" },
        deploy = { from = { "planning" }, to = "deployment" },
        rush = { from = { "planning" }, to = "deployment", activities = "any" },
        finish = { from = { "deployment" }, to = "homologation", activities = "done" },
        resolve = { from = { "homologation" }, to = "resolved", approval = true, on_reject = "not_resolved" },
        not_resolved = { from = { "homologation" }, to = "deployment", permission = "approve" },
        close = { from = { "resolved" }, to = "closed" },
    },
}

local WF = {}
WF.__index = WF
function WF:available(state)
    local out = {}
    for name, t in pairs(self.transitions) do
        if t.from[state] then
            out[#out + 1] = name
        end
    end
    table.sort(out)
    return out
end
function WF:guard() return true end
function WF:enter() return nil end
function WF:exit() return nil end
function WF:explain(tname)
    return { allowed = true, to = self.transitions[tname].to, guard = { ok = true } }
end

local function compile(name, def)
    local wf = { name = name, states = {}, transitions = {} }
    for k, v in pairs(def) do
        if k ~= "states" and k ~= "transitions" then
            wf[k] = v
        end
    end
    for sname, s in pairs(def.states) do
        local c = { name = sname }
        for k, v in pairs(s) do c[k] = v end
        wf.states[sname] = c
    end
    for tname, t in pairs(def.transitions) do
        local c = { name = tname, from = {} }
        for k, v in pairs(t) do c[k] = v end
        c.from = {}
        for _, f in ipairs(t.from) do c.from[f] = true end
        wf.transitions[tname] = c
    end
    return setmetatable(wf, WF)
end

---Make the fixture workflows loadable by relm.release.
function H.workflows(extra)
    local defs = { [H.WF] = H.workflow }
    for k, v in pairs(extra or {}) do
        defs[k] = v
    end
    local real = rawget(relm, "workflow")
    rawset(relm, "workflow", {
        load = function(name)
            if defs[name] then
                return compile(name, defs[name])
            end
            if real then
                return real.load(name)
            end
            error("no fixture workflow " .. name)
        end,
    })
end

---People: bob (ops: create + execute), carol (no group), dave/erin/frank
---(cab: approve), gina (managers: approve), olga (owners group, nothing).
function H.people()
    if relm.user.get("bob") then
        return
    end
    for _, u in ipairs({ "bob", "carol", "dave", "erin", "frank", "gina", "olga" }) do
        relm.user.add { name = u }
    end
    for _, g in ipairs({ "ops", "cab", "managers", "owners" }) do
        relm.group.add { name = g }
    end
    relm.group.add_member("ops", "bob")
    for _, u in ipairs({ "dave", "erin", "frank" }) do
        relm.group.add_member("cab", u)
    end
    relm.group.add_member("managers", "gina")
    relm.group.add_member("owners", "olga")
    relm.permission.grant { group = "ops", workflow = "*", action = "create" }
    relm.permission.grant { group = "ops", workflow = "*", action = "execute" }
    relm.permission.grant { group = "cab", workflow = "*", action = "approve" }
    relm.permission.grant { group = "managers", workflow = "*", action = "approve" }
    H.justification = relm.justification.add { description = "Not needed any more", cancel = true }
end

function H.setup()
    H.workflows()
    H.people()
end

---A fresh release of the fixture workflow, taken to state (default planning).
function H.release(fields, state)
    local spec = { workflow = H.WF, title = "Upgrade the database", executor_group = "ops" }
    for k, v in pairs(fields or {}) do
        spec[k] = v
    end
    local r = relm.release.register(spec)
    if (state or "planning") ~= "registration" then
        r = relm.release.act(r.id, "plan")
    end
    return r
end

---Row counts of everything the activity and approval writes touch.
function H.counts()
    local function n(t)
        local ok, rows = pcall(relm.sql, "SELECT count(*) AS n FROM " .. t)
        return ok and rows[1].n or -1
    end
    return {
        activities = n("activities"), deps = n("activity_deps"), occurrences = n("occurrences"),
        releases = n("releases"), requests = n("approval_requests"), decisions = n("approval_decisions"),
        updated = relm.sql("SELECT max(updated_at) AS m FROM activities")[1].m,
        states = relm.sql("SELECT group_concat(state) AS s FROM releases")[1].s,
    }
end

---Assert fn raises a relm error with code (and message matching pattern),
---and that nothing was written.
function H.refused(code, pattern, fn)
    local before = H.counts()
    local ok, err = pcall(fn)
    assert.is_false(ok, "expected a " .. code .. " error")
    assert.is_true(relm.is_error(err, code), "expected " .. code .. ", got " .. tostring(err))
    if pattern then
        assert.matches(pattern, err.message)
    end
    assert.are.same(before, H.counts())
    return err
end

return H
