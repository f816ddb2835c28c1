-- standard.lua: the default release flow. The requester authorizes, the
-- executor group executes and tests, homologation approves (or sends the
-- release back), and the requester accepts the result and closes it.

workflow "standard" {
    label = { en = "Standard release", pt_BR = "Liberação padrão", es = "Liberación estándar" },
    description = "authorize, execute, test, homologate, resolve, close",
    initial = "registered",
    reopen_to = "in_execution",
    close_state = "closed",
    cancel_state = "cancelled",
    fields = { "test_result" },
}

-- Registration ---------------------------------------------------------

state "registered" {
    label = { en = "Registered", pt_BR = "Registrada", es = "Registrada" },
    phase = "registration",
    suspend = true, cancel = true,
}

-- Deployment -----------------------------------------------------------

state "in_execution" {
    label = { en = "In execution", pt_BR = "Em execução", es = "En ejecución" },
    phase = "deployment",
    suspend = true, cancel = true,
}

state "in_test" {
    label = { en = "In test", pt_BR = "Em teste", es = "En prueba" },
    phase = "deployment",
    suspend = true, cancel = true,
}

state "homologation" {
    label = { en = "Homologation", pt_BR = "Homologação", es = "Homologación" },
    phase = "deployment",
    suspend = true, cancel = true,
}

-- Closure --------------------------------------------------------------

state "resolved" {
    label = { en = "Resolved", pt_BR = "Resolvida", es = "Resuelta" },
    phase = "closure",
}

state "closed"    { label = { en = "Closed", pt_BR = "Encerrada", es = "Cerrada" },    phase = "closure", final = true }
state "cancelled" { label = { en = "Cancelled", pt_BR = "Cancelada", es = "Cancelada" }, phase = "closure",
    final = true }

-- Transitions ----------------------------------------------------------

-- No authorization while a CI of the release sits in a blackout window
-- (relm.window.add; the reason lists the CI and the path through the CMDB).
transition "authorize" {
    label = { en = "Authorize", pt_BR = "Autorizar", es = "Autorizar" },
    from = "registered", to = "in_execution",
    by = "requester",
    refuse_if = "blackout",
}

transition "execute" {
    label = { en = "Execution done", pt_BR = "Execução concluída", es = "Ejecución terminada" },
    from = "in_execution", to = "in_test",
    by = "executor",
}

transition "pass" {
    label = { en = "Test passed", pt_BR = "Teste aprovado", es = "Prueba superada" },
    from = "in_test", to = "homologation",
    by = "executor",
}

transition "fail" {
    label = { en = "Test failed", pt_BR = "Teste reprovado", es = "Prueba fallida" },
    from = "in_test", to = "in_execution",
    requires = { "note" },
    by = "executor",
}

-- Approval rules (workflows/rules/: the CAB for priority 1 and 2) are asked
-- when a release enters homologation; a rejection takes "not_resolved".
transition "resolve" {
    label = { en = "Approve", pt_BR = "Aprovar", es = "Aprobar" },
    from = "homologation", to = "resolved",
    permission = "approve",
    approval = true, on_reject = "not_resolved",
    guard = function(r)
        if r.risk == "high" and (r.test_result or "") == "" then
            return false, "a high-risk release needs a test result before it is approved"
        end
        return true
    end,
}

transition "not_resolved" {
    label = { en = "Not resolved", pt_BR = "Não resolvida", es = "No resuelta" },
    from = "homologation", to = "in_execution",
    permission = "approve",
    requires = { "note" },
}

transition "accept" {
    label = { en = "Accept and close", pt_BR = "Aceitar e encerrar", es = "Aceptar y cerrar" },
    from = "resolved", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}
