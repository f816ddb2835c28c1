-- planflow.lua: the fixture workflow of the activity and approval specs:
-- planning and deployment phases, a homologation state whose "resolve"
-- needs the approval rules' approvers and whose rejection goes back.
-- luacheck: read globals workflow state transition

workflow "planflow" {
    initial = "registration",
    reopen_to = "deployment",
}

state "registration" { phase = "registration", cancel = true, suspend = true }
state "planning"     { phase = "planning", cancel = true, suspend = true }
state "deployment"   { phase = "deployment", cancel = true, suspend = true }
state "homologation" { phase = "deployment", cancel = true, suspend = true }
state "resolved"     { phase = "closure" }
state "closed"       { phase = "closure", final = true }
state "cancelled"    { phase = "closure", final = true }

transition "plan"   { from = "registration", to = "planning" }
transition "deploy" { from = "planning", to = "deployment" }
transition "rush"   { from = "planning", to = "deployment", activities = "any" }
transition "finish" { from = "deployment", to = "homologation", activities = "done" }

transition "resolve" {
    from = "homologation", to = "resolved",
    approval = true, on_reject = "not_resolved",
}

transition "not_resolved" {
    from = "homologation", to = "deployment",
    permission = "approve",
}

transition "accept" { from = "resolved", to = "closed" }
