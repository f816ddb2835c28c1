-- 0030 membership roles: a member's role in a group ("member" unless set;
-- "lead" for the technical lead), so approval rules can ask the lead of
-- the executor group (docs/approvals.md, relm.group.add_member's role=).
ALTER TABLE memberships ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
CREATE INDEX memberships_role ON memberships(group_id, role);
