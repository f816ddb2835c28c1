-- standard.lua: the default release flow. The requester authorizes, the
-- executor group executes and tests, homologation approves (or sends the
-- release back), and the requester accepts the result and closes it.

workflow "standard" {
    label = "Standard release",
    description = "authorize, execute, test, homologate, resolve, close",
    initial = "registered",
    reopen_to = "in_execution",
    close_state = "closed",
    cancel_state = "cancelled",
    fields = { "test_result" },
}

-- Registration ---------------------------------------------------------

state "registered" {
    label = "Registered",
    phase = "registration",
    suspend = true, cancel = true,
}

-- Deployment -----------------------------------------------------------

state "in_execution" {
    label = "In execution",
    phase = "deployment",
    suspend = true, cancel = true,
}

state "in_test" {
    label = "In test",
    phase = "deployment",
    suspend = true, cancel = true,
}

state "homologation" {
    label = "Homologation",
    phase = "deployment",
    suspend = true, cancel = true,
}

-- Closure --------------------------------------------------------------

state "resolved" {
    label = "Resolved",
    phase = "closure",
}

state "closed"    { label = "Closed",    phase = "closure", final = true }
state "cancelled" { label = "Cancelled", phase = "closure", final = true }

-- Transitions ----------------------------------------------------------

-- No authorization while a CI of the release sits in a blackout window
-- (relm.window.add; the reason lists the CI and the path through the CMDB).
transition "authorize" {
    label = "Authorize",
    from = "registered", to = "in_execution",
    by = "requester",
    refuse_if = "blackout",
}

transition "execute" {
    label = "Execution done",
    from = "in_execution", to = "in_test",
    by = "executor",
}

transition "pass" {
    label = "Test passed",
    from = "in_test", to = "homologation",
    by = "executor",
}

transition "fail" {
    label = "Test failed",
    from = "in_test", to = "in_execution",
    requires = { "note" },
    by = "executor",
}

-- Approval rules (workflows/rules/: the CAB for priority 1 and 2) are asked
-- when a release enters homologation; a rejection takes "not_resolved".
transition "resolve" {
    label = "Approve",
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
    label = "Not resolved",
    from = "homologation", to = "in_execution",
    permission = "approve",
    requires = { "note" },
}

transition "accept" {
    label = "Accept and close",
    from = "resolved", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}
