-- emergency.lua: an emergency release. Authorized by someone holding the
-- approve permission (the emergency board), executed at once, reviewed
-- after the fact and closed. No suspension: an emergency does not wait.

workflow "emergency" {
    label = "Emergency release",
    description = "approve, execute, review, close",
    initial = "registered",
    reopen_to = "in_execution",
}

state "registered" {
    label = "Registered",
    phase = "registration",
    cancel = true,
}

state "in_execution" {
    label = "In execution",
    phase = "deployment",
    cancel = true,
}

state "review"    { label = "Review after the fact", phase = "closure" }
state "closed"    { label = "Closed",    phase = "closure", final = true }
state "cancelled" { label = "Cancelled", phase = "closure", final = true }

-- An emergency goes ahead through a blackout, but its occurrence records
-- every conflict standing at that moment.
transition "authorize" {
    label = "Emergency approval",
    from = "registered", to = "in_execution",
    permission = "approve",
    record_if = { "blackout", "scheduled", "maintenance", "person" },
}

transition "execute" {
    label = "Executed",
    from = "in_execution", to = "review",
    by = "executor",
}

transition "accept" {
    label = "Accept and close",
    from = "review", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}

transition "not_resolved" {
    label = "Not resolved",
    from = "review", to = "in_execution",
    requires = { "note" },
}
