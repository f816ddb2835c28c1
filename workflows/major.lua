-- major.lua: a significant release with a planning phase (schedule, plan,
-- change advisory board) before the deployment phase (build, test,
-- deploy, with a way back when a deployment is rolled back) and a review.

workflow "major" {
    label = "Major release",
    description = "plan, approve, build, test, deploy, review",
    initial = "registered",
    reopen_to = "build",
    fields = { "cab_decision", "deployed_on", "rollback_plan" },
}

-- Registration ---------------------------------------------------------

state "registered" {
    label = "Registered",
    phase = "registration",
    suspend = true, cancel = true,
}

-- Planning -------------------------------------------------------------

state "planning" {
    label = "Planning",
    phase = "planning",
    suspend = true, cancel = true,
    -- A plan cannot go to the board without its dates and a way back.
    requires = { "planned_start", "planned_end", "rollback_plan" },
}

state "cab_review" {
    label = "CAB review",
    phase = "planning",
    suspend = true, cancel = true,
    -- A plan sent back and submitted again is undecided again.
    on_enter = function(r, ctx)
        return { cab_decision = "pending" }
    end,
}

-- Deployment -----------------------------------------------------------

state "build" {
    label = "Build",
    phase = "deployment",
    suspend = true, cancel = true,
}

state "test" {
    label = "Test",
    phase = "deployment",
    suspend = true, cancel = true,
}

state "deployment" {
    label = "Deployment",
    phase = "deployment",
    cancel = true,
    requires = { "version" },
}

-- Closure --------------------------------------------------------------

state "review" {
    label = "Post-implementation review",
    phase = "closure",
    -- Record the day the release went live.
    on_enter = function(r, ctx)
        return { deployed_on = os.date("!%Y-%m-%d") }
    end,
}

state "closed"    { label = "Closed",    phase = "closure", final = true }
state "cancelled" { label = "Cancelled", phase = "closure", final = true }

-- Transitions ----------------------------------------------------------

transition "authorize" {
    label = "Authorize",
    from = "registered", to = "planning",
    by = "requester",
}

transition "submit_plan" {
    label = "Submit plan to the CAB",
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
    label = "CAB approves",
    from = "cab_review", to = "build",
    permission = "approve",
    approval = true, on_reject = "reject",
}

on_exit "cab_review" (function(r, ctx)
    return { cab_decision = ctx.action == "approve" and "approved" or "rejected" }
end)

transition "reject" {
    label = "CAB rejects",
    from = "cab_review", to = "planning",
    permission = "approve",
    requires = { "note" },
}

transition "built" {
    label = "Build done",
    from = "build", to = "test",
    by = "executor",
}

transition "pass" {
    label = "Test passed",
    from = "test", to = "deployment",
    by = "executor",
}

transition "fail" {
    label = "Test failed",
    from = "test", to = "build",
    by = "executor",
    requires = { "note" },
}

transition "deployed" {
    label = "Deployed",
    from = "deployment", to = "review",
    by = "executor",
}

transition "roll_back" {
    label = "Roll back",
    from = "deployment", to = "build",
    by = "executor",
    requires = { "note" },
}

transition "accept" {
    label = "Accept and close",
    from = "review", to = "closed",
    by = "requester",
    requires = { "release_date", "solution_category", "closure_text" },
}

transition "not_resolved" {
    label = "Not resolved",
    from = "review", to = "build",
    by = "requester",
    requires = { "note" },
}
