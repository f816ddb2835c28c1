-- 0010 cab: the Change Advisory Board the shipped approval rules ask
-- (workflows/rules/cab.lua). It starts empty: a release that needs it is
-- refused with "group 'cab' has no active members" until people are added
-- (relm.group.add_member("cab", NAME)). Its members may approve on every
-- workflow. A database that already has a group called cab keeps it.
INSERT OR IGNORE INTO groups (name, description)
VALUES ('cab', 'Change Advisory Board: approves major releases and releases '
        || 'of priority 1 and 2 (workflows/rules/cab.lua)');
INSERT OR IGNORE INTO permissions (group_id, workflow, action)
SELECT id, '*', 'approve' FROM groups WHERE name = 'cab';
