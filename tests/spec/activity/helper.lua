-- helper.lua: shared set-up for the activity and approval specs: the fixture
-- workflow (planflow.lua: planning, deployment, homologation with approval),
-- people with known permissions, and row counts that show whether anything
-- was written.
local assert = require "luassert"
local S = dofile("tests/fixtures/spec_helper.lua")
local H = {}

H.WF = "planflow"

---Load the fixture workflow (tests/spec/activity/planflow.lua) so releases
---can name it "planflow" in this process.
function H.workflows()
    relm.release.workflow("tests/spec/activity/planflow.lua")
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
    -- A fresh database already has the (empty) cab group: migration 0010.
    for _, g in ipairs({ "ops", "managers", "owners" }) do
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
    H.suspension = relm.justification.add { description = "Waiting for the vendor", suspend = true }
    relm.permission.grant { group = "ops", workflow = "*", action = "cancel" }
    relm.permission.grant { group = "ops", workflow = "*", action = "suspend" }
    relm.permission.grant { group = "ops", workflow = "*", action = "reactivate" }
end

function H.setup()
    H.workflows()
    H.people()
end

---A fresh release of the fixture workflow, taken to state (default planning).
function H.release(fields, state)
    local r = S.register({ workflow = H.WF, title = "Upgrade the database", executor_group = "ops" }, fields)
    if (state or "planning") ~= "registration" then
        r = relm.release.act(r.id, "plan")
    end
    return r
end

-- Rule files go to a short scratch directory: Lua shortens long file
-- names in its error messages, and the specs match file:line exactly.
local scratch, written = nil, {}

---Write a rule file (text) into the scratch directory; returns its path.
function H.rule_file(text)
    if not scratch then
        scratch = assert(require("luv").fs_mkdtemp("/tmp/relmXXXXXX"))
    end
    local path = ("%s/r%d.lua"):format(scratch, #written + 1)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
    written[#written + 1] = path
    return path
end

---Remove the scratch files.
function H.cleanup()
    for _, p in ipairs(written) do
        os.remove(p)
    end
    if scratch then
        os.remove(scratch)
    end
    written, scratch = {}, nil
end

---Use exactly the rules in text (no rules directory).
function H.rules(text)
    relm.approval.configure { dir = false }
    local path = H.rule_file(text)
    relm.approval.load(path)
    return path
end

---A release taken to homologation (through rush and finish).
function H.in_homologation(fields)
    local r = H.release(fields)
    relm.release.act(r.id, "rush")
    return relm.release.act(r.id, "finish")
end

---user's approval decision on release r (relm.approval.decide as user).
function H.decide(user, r, decision, note)
    return relm.user.as(user, relm.approval.decide, r.id, { decision = decision, note = note })
end

---Row counts of everything the activity and approval writes touch.
function H.counts()
    local n = S.count
    return {
        activities = n("activities"), deps = n("activity_deps"), occurrences = n("occurrences"),
        releases = n("releases"), requests = n("approval_requests"), decisions = n("approval_decisions"),
        updated = relm.sql("SELECT max(updated_at) AS m FROM activities")[1].m,
        states = relm.sql("SELECT group_concat(state) AS s FROM releases")[1].s,
    }
end

---Assert fn raises a relm error with code (and message matching pattern),
---and that nothing was written.
H.refused = S.refuser(function() return H.counts() end)

return H
