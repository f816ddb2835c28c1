-- normal_change.lua: iTop's NormalChange lifecycle, ported: a change is
-- assigned to a supervisor, planned with a fallback, put to the CAB
-- (approved or not approved, then re-planned), implemented, monitored,
-- closed; an implementation that goes wrong is rolled back to planning.
-- It uses the field features of docs/workflows.md ("Fields"): typed
-- fields (user, date, a list of values), read-only and hidden fields per
-- state, and `prompt` (iTop's must_prompt). Its approval rule is
-- workflows/rules/normal_change.lua (the executor group's lead, then the CAB).
-- luacheck: read globals workflow state transition on_enter on_exit

workflow "normal_change" {
    label = { en = "Normal change (iTop)", pt_BR = "Mudança normal (iTop)", es = "Cambio normal (iTop)" },
    description = "assign, plan, CAB approval, implement, monitor, close; roll back to planning",
    initial = "new",
    reopen_to = "planned",
    fields = {
        supervisor = "user",                        -- iTop's supervisor_id
        fallback = "string",                        -- iTop's fallback plan
        outage = { "none", "partial", "full" },     -- iTop's outage
        cab_decision = { "pending", "approved", "not approved" },
        acceptance_date = "date",                   -- iTop's approval_date
        rollback_count = "integer",
    },
}

-- Registration ---------------------------------------------------------

state "new" {
    label = { en = "New", pt_BR = "Nova", es = "Nueva" },
    phase = "registration",
    suspend = true, cancel = true,
    -- The CAB's decision means nothing before the change is planned.
    hidden = { "cab_decision", "acceptance_date" },
}

state "assigned" {
    label = { en = "Assigned", pt_BR = "Atribuída", es = "Asignada" },
    phase = "registration",
    suspend = true, cancel = true,
    requires = { "executor_group" },
    hidden = { "cab_decision", "acceptance_date" },
}

-- Planning -------------------------------------------------------------

state "planned" {
    label = { en = "Planned", pt_BR = "Planejada", es = "Planificada" },
    phase = "planning",
    suspend = true, cancel = true,
    -- The CAB sees the plan as submitted: what it decides on cannot change
    -- under it (re-plan after a refusal to change it).
    read_only = { "planned_start", "planned_end", "fallback", "outage" },
    on_enter = function()
        return { cab_decision = "pending" }
    end,
}

state "approved" {
    label = { en = "Approved", pt_BR = "Aprovada", es = "Aprobada" },
    phase = "planning",
    suspend = true, cancel = true,
    read_only = { "planned_start", "planned_end", "fallback", "outage", "acceptance_date" },
    on_enter = function()
        return { cab_decision = "approved", acceptance_date = os.date("!%Y-%m-%d") }
    end,
}

state "notapproved" {
    label = { en = "Not approved", pt_BR = "Não aprovada", es = "No aprobada" },
    phase = "planning",
    cancel = true,
    on_enter = function()
        return { cab_decision = "not approved" }
    end,
}

-- Deployment -----------------------------------------------------------

state "implemented" {
    label = { en = "Implemented", pt_BR = "Implementada", es = "Implementada" },
    phase = "deployment",
    cancel = true,
    requires = { "version" },
}

-- Closure --------------------------------------------------------------

state "monitored" {
    label = { en = "Monitored", pt_BR = "Monitorada", es = "Monitorizada" },
    phase = "closure",
    -- The day it went live, unless the implementer gave it.
    on_enter = function(r)
        if (r.release_date or "") == "" then
            return { release_date = os.date("!%Y-%m-%d") }
        end
    end,
}

state "closed"    { label = { en = "Closed", pt_BR = "Encerrada", es = "Cerrada" },    phase = "closure", final = true }
state "cancelled" { label = { en = "Cancelled", pt_BR = "Cancelada", es = "Cancelada" }, phase = "closure",
    final = true }

-- Transitions ----------------------------------------------------------

transition "assign" {
    label = { en = "Assign", pt_BR = "Atribuir", es = "Asignar" },
    from = "new", to = "assigned",
    -- Who supervises is decided when assigning, every time.
    prompt = { "supervisor" },
}

transition "plan" {
    label = { en = "Plan", pt_BR = "Planejar", es = "Planificar" },
    from = "assigned", to = "planned",
    by = "executor",
    requires = { "planned_start", "planned_end", "fallback", "outage" },
    -- The fallback is stated with the plan, not inherited from an old one.
    prompt = { "fallback" },
    guard = function(r)
        if r.planned_end < r.planned_start then
            return false, "the planned end is before the planned start"
        end
        return true
    end,
}

-- The approval point: the rule in workflows/rules/normal_change.lua is
-- asked when the plan arrives (and again when CIs are related to it).
transition "approve" {
    label = { en = "CAB approves", pt_BR = "CAB aprova", es = "El CAB aprueba" },
    from = "planned", to = "approved",
    permission = "approve",
    approval = true, on_reject = "not_approve",
}

transition "not_approve" {
    label = { en = "CAB does not approve", pt_BR = "CAB não aprova", es = "El CAB no aprueba" },
    from = "planned", to = "notapproved",
    permission = "approve",
    requires = { "note" },
}

transition "replan" {
    label = { en = "Re-plan", pt_BR = "Replanejar", es = "Replanificar" },
    from = "notapproved", to = "planned",
    by = "executor",
    prompt = { "fallback" },
}

transition "implement" {
    label = { en = "Implement", pt_BR = "Implementar", es = "Implementar" },
    from = "approved", to = "implemented",
    by = "executor",
}

transition "monitor" {
    label = { en = "Monitor", pt_BR = "Monitorar", es = "Monitorizar" },
    from = "implemented", to = "monitored",
    by = "executor",
}

-- The rollback path: the implementation failed; it goes back to planning
-- and needs the CAB again.
transition "roll_back" {
    label = { en = "Roll back", pt_BR = "Reverter", es = "Revertir" },
    from = { "implemented", "monitored" }, to = "planned",
    by = "executor",
    requires = { "note" },
    prompt = { "fallback" },
}

on_exit "implemented" (function(r, ctx)
    if ctx.action == "roll_back" then
        return { rollback_count = (r.rollback_count or 0) + 1 }
    end
end)

transition "finish" {
    label = { en = "Finish", pt_BR = "Concluir", es = "Terminar" },
    from = "monitored", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}
