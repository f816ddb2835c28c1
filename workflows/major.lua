-- major.lua: a significant release with a planning phase (schedule, plan,
-- change advisory board) before the deployment phase (build, test,
-- deploy, with a way back when a deployment is rolled back) and a review.

workflow "major" {
    label = { en = "Major release", pt_BR = "Liberação maior", es = "Liberación mayor" },
    description = "plan, approve, build, test, deploy, review",
    initial = "registered",
    reopen_to = "build",
    fields = { "cab_decision", "deployed_on", "rollback_plan" },
}

-- Registration ---------------------------------------------------------

state "registered" {
    label = { en = "Registered", pt_BR = "Registrada", es = "Registrada" },
    phase = "registration",
    suspend = true, cancel = true,
}

-- Planning -------------------------------------------------------------

state "planning" {
    label = { en = "Planning", pt_BR = "Planejamento", es = "Planificación" },
    phase = "planning",
    suspend = true, cancel = true,
    -- A plan cannot go to the board without its dates and a way back.
    requires = { "planned_start", "planned_end", "rollback_plan" },
}

state "cab_review" {
    label = { en = "CAB review", pt_BR = "Revisão do CAB", es = "Revisión del CAB" },
    phase = "planning",
    suspend = true, cancel = true,
    -- A plan sent back and submitted again is undecided again.
    on_enter = function(r, ctx)
        return { cab_decision = "pending" }
    end,
}

-- Deployment -----------------------------------------------------------

state "build" {
    label = { en = "Build", pt_BR = "Construção", es = "Construcción" },
    phase = "deployment",
    suspend = true, cancel = true,
}

state "test" {
    label = { en = "Test", pt_BR = "Testar", es = "Probar" },
    phase = "deployment",
    suspend = true, cancel = true,
}

state "deployment" {
    label = { en = "Deployment", pt_BR = "Implantação", es = "Despliegue" },
    phase = "deployment",
    cancel = true,
    requires = { "version" },
}

-- Closure --------------------------------------------------------------

state "review" {
    label = { en = "Post-implementation review", pt_BR = "Revisão pós-implementação",
        es = "Revisión posterior a la implementación" },
    phase = "closure",
    -- Record the day the release went live.
    on_enter = function(r, ctx)
        return { deployed_on = os.date("!%Y-%m-%d") }
    end,
}

state "closed"    { label = { en = "Closed", pt_BR = "Encerrada", es = "Cerrada" },    phase = "closure", final = true }
state "cancelled" { label = { en = "Cancelled", pt_BR = "Cancelada", es = "Cancelada" }, phase = "closure",
    final = true }

-- Transitions ----------------------------------------------------------

transition "authorize" {
    label = { en = "Authorize", pt_BR = "Autorizar", es = "Autorizar" },
    from = "registered", to = "planning",
    by = "requester",
}

transition "submit_plan" {
    label = { en = "Submit plan to the CAB", pt_BR = "Submeter o plano ao CAB", es = "Someter el plan al CAB" },
    from = "planning", to = "cab_review",
    guard = function(r)
        if r.planned_end and r.planned_start and r.planned_end < r.planned_start then
            return false, "the planned end is before the planned start"
        end
        return true
    end,
}

-- The rules in workflows/rules/ (the CAB) are asked when the plan arrives
-- here; "approve" waits for them, and a rejection takes "reject".
transition "approve" {
    label = { en = "CAB approves", pt_BR = "CAB aprova", es = "El CAB aprueba" },
    from = "cab_review", to = "build",
    permission = "approve",
    approval = true, on_reject = "reject",
}

on_exit "cab_review" (function(r, ctx)
    return { cab_decision = ctx.action == "approve" and "approved" or "rejected" }
end)

transition "reject" {
    label = { en = "CAB rejects", pt_BR = "CAB rejeita", es = "El CAB rechaza" },
    from = "cab_review", to = "planning",
    permission = "approve",
    requires = { "note" },
}

transition "built" {
    label = { en = "Build done", pt_BR = "Construção concluída", es = "Construcción terminada" },
    from = "build", to = "test",
    by = "executor",
}

transition "pass" {
    label = { en = "Test passed", pt_BR = "Teste aprovado", es = "Prueba superada" },
    from = "test", to = "deployment",
    by = "executor",
}

transition "fail" {
    label = { en = "Test failed", pt_BR = "Teste reprovado", es = "Prueba fallida" },
    from = "test", to = "build",
    by = "executor",
    requires = { "note" },
}

transition "deployed" {
    label = { en = "Deployed", pt_BR = "Implantada", es = "Desplegada" },
    from = "deployment", to = "review",
    by = "executor",
}

transition "roll_back" {
    label = { en = "Roll back", pt_BR = "Reverter", es = "Revertir" },
    from = "deployment", to = "build",
    by = "executor",
    requires = { "note" },
}

transition "accept" {
    label = { en = "Accept and close", pt_BR = "Aceitar e encerrar", es = "Aceptar y cerrar" },
    from = "review", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}

transition "not_resolved" {
    label = { en = "Not resolved", pt_BR = "Não resolvida", es = "No resuelta" },
    from = "review", to = "build",
    by = "requester",
    requires = { "note" },
}
