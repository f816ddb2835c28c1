-- cab.lua: the Change Advisory Board (group "cab", created empty in every
-- database: add its members with relm.group.add_member("cab", NAME)).
-- A rule applies where a workflow transition says `approval = true`: the
-- major workflow's CAB review and the standard workflow's homologation
-- (docs/approvals.md).
-- luacheck: read globals rule group person levels

-- Every major release, and any release of priority 1 or 2: half the board.
rule "cab" {
    description = "the CAB approves every major release and every release of priority 1 or 2",
    when = function(r) return r.workflow == "major" or (r.priority or 5) <= 2 end,
    approvers = group "cab" { quorum = "50%" },
}

-- A CI the business cannot lose: the whole board.
rule "critical-cis" {
    description = "a release touching a CI of high or critical criticality needs the whole CAB",
    when = { cis = { criticality = { "high", "critical" } } },
    approvers = group "cab" { quorum = "all" },
}
