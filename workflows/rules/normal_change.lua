-- normal_change.lua: who approves a normal change (workflows/normal_change.lua)
-- at its approval point "planned": the technical lead of the executor
-- group first (relm.group.add_member(GROUP, NAME, { role = "lead" })), then
-- half the CAB. A change touching a critical CI is covered by cab.lua too.
-- luacheck: read globals rule group person levels role

rule "normal-change-cab" {
    description = "the executor group's technical lead, then half the CAB, approve every normal change",
    when = { workflow = "normal_change" },
    states = "planned",
    approvers = function(r)
        return levels { role("lead", r.executor_group), group "cab" { quorum = "50%" } }
    end,
}
