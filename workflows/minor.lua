-- minor.lua: a low-risk, routine release. No separate test or
-- homologation: the executor group executes and resolves, the requester
-- accepts and closes.

workflow "minor" {
    label = { en = "Minor release", pt_BR = "Liberação menor", es = "Liberación menor" },
    description = "authorize, execute, close",
    initial = "registered",
    reopen_to = "in_execution",
}

state "registered" {
    label = { en = "Registered", pt_BR = "Registrada", es = "Registrada" },
    phase = "registration",
    suspend = true, cancel = true,
}

state "in_execution" {
    label = { en = "In execution", pt_BR = "Em execução", es = "En ejecución" },
    phase = "deployment",
    suspend = true, cancel = true,
}

state "resolved"  { label = { en = "Resolved", pt_BR = "Resolvida", es = "Resuelta" },  phase = "closure" }
state "closed"    { label = { en = "Closed", pt_BR = "Encerrada", es = "Cerrada" },    phase = "closure", final = true }
state "cancelled" { label = { en = "Cancelled", pt_BR = "Cancelada", es = "Cancelada" }, phase = "closure",
    final = true }

transition "authorize" {
    label = { en = "Authorize", pt_BR = "Autorizar", es = "Autorizar" },
    from = "registered", to = "in_execution",
    by = "requester",
}

transition "resolve" {
    label = { en = "Resolve", pt_BR = "Resolver", es = "Resolver" },
    from = "in_execution", to = "resolved",
    by = "executor",
}

transition "accept" {
    label = { en = "Accept and close", pt_BR = "Aceitar e encerrar", es = "Aceptar y cerrar" },
    from = "resolved", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}

transition "not_resolved" {
    label = { en = "Not resolved", pt_BR = "Não resolvida", es = "No resuelta" },
    from = "resolved", to = "in_execution",
    by = "requester",
    requires = { "note" },
}
