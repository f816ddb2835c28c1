-- emergency.lua: an emergency release. Authorized by someone holding the
-- approve permission (the emergency board), executed at once, reviewed
-- after the fact and closed. No suspension: an emergency does not wait.

workflow "emergency" {
    label = { en = "Emergency release", pt_BR = "Liberação emergencial", es = "Liberación de emergencia" },
    description = "approve, execute, review, close",
    initial = "registered",
    reopen_to = "in_execution",
}

state "registered" {
    label = { en = "Registered", pt_BR = "Registrada", es = "Registrada" },
    phase = "registration",
    cancel = true,
}

state "in_execution" {
    label = { en = "In execution", pt_BR = "Em execução", es = "En ejecución" },
    phase = "deployment",
    cancel = true,
}

state "review"    { label = { en = "Review after the fact", pt_BR = "Revisar depois do fato",
    es = "Revisar a posteriori" }, phase = "closure" }
state "closed"    { label = { en = "Closed", pt_BR = "Encerrada", es = "Cerrada" },    phase = "closure", final = true }
state "cancelled" { label = { en = "Cancelled", pt_BR = "Cancelada", es = "Cancelada" }, phase = "closure",
    final = true }

-- An emergency goes ahead through a blackout, but its occurrence records
-- every conflict standing at that moment.
transition "authorize" {
    label = { en = "Emergency approval", pt_BR = "Aprovação emergencial", es = "Aprobación de emergencia" },
    from = "registered", to = "in_execution",
    permission = "approve",
    record_if = { "blackout", "scheduled", "maintenance", "person" },
}

transition "execute" {
    label = { en = "Executed", pt_BR = "Executada", es = "Ejecutada" },
    from = "in_execution", to = "review",
    by = "executor",
}

transition "accept" {
    label = { en = "Accept and close", pt_BR = "Aceitar e encerrar", es = "Aceptar y cerrar" },
    from = "review", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}

transition "not_resolved" {
    label = { en = "Not resolved", pt_BR = "Não resolvida", es = "No resuelta" },
    from = "review", to = "in_execution",
    requires = { "note" },
}
