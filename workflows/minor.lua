-- minor.lua: a low-risk, routine release. No separate test or
-- homologation: the executor group executes and resolves, the requester
-- accepts and closes.

workflow "minor" {
    label = "Minor release",
    description = "authorize, execute, close",
    initial = "registered",
    reopen_to = "in_execution",
}

state "registered" {
    label = "Registered",
    phase = "registration",
    suspend = true, cancel = true,
}

state "in_execution" {
    label = "In execution",
    phase = "deployment",
    suspend = true, cancel = true,
}

state "resolved"  { label = "Resolved",  phase = "closure" }
state "closed"    { label = "Closed",    phase = "closure", final = true }
state "cancelled" { label = "Cancelled", phase = "closure", final = true }

transition "authorize" {
    label = "Authorize",
    from = "registered", to = "in_execution",
    by = "requester",
}

transition "resolve" {
    label = "Resolve",
    from = "in_execution", to = "resolved",
    by = "executor",
}

transition "accept" {
    label = "Accept and close",
    from = "resolved", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}

transition "not_resolved" {
    label = "Not resolved",
    from = "resolved", to = "in_execution",
    by = "requester",
    requires = { "note" },
}
