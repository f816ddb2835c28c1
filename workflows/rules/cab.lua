-- cab.lua: the Change Advisory Board approves every priority 1 and 2
-- release, and any release touching a CI of high or critical criticality.
-- A rule applies where a workflow transition says `approval = true`
-- (docs/approvals.md).
-- luacheck: read globals rule group person levels

rule "cab" { when = { priority = {1, 2} }, approvers = group "cab" { quorum = "50%" } }

rule "critical-cis" {
    description = "a CI the business cannot lose: the CAB, then the service owners",
    when = { cis = { criticality = { "high", "critical" } } },
    approvers = levels { group "cab" { quorum = "50%" }, group "service-owners" },
}
