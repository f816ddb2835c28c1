-- 0031 custom permissions: a workflow may name its own permission on a
-- transition (a "supervise" role, docs/permissions.md). The CHECK of
-- permissions.action keeps the fixed names anywhere and lets a lower-case
-- name (letters, digits, _; at most 32) be granted on one workflow, never
-- on '*'. Whether the workflow asks for that name is checked when it is
-- granted (core/people.c, against the engine's compile). Rebuilt as 0014
-- did, since SQLite cannot alter a CHECK.
CREATE TABLE permissions_new (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    workflow TEXT NOT NULL,
    action   TEXT NOT NULL CHECK (action IN ('create', 'execute', 'delegate',
                 'suspend', 'reactivate', 'reopen', 'cancel', 'approve',
                 'admin', 'cmdb')
                 OR (workflow <> '*' AND length(action) BETWEEN 1 AND 32
                     AND action GLOB '[a-z]*'
                     AND action NOT GLOB '*[^a-z0-9_]*')),
    PRIMARY KEY (group_id, workflow, action)
) STRICT, WITHOUT ROWID;
INSERT INTO permissions_new (group_id, workflow, action)
SELECT group_id, workflow, action FROM permissions;
DROP TABLE permissions;
ALTER TABLE permissions_new RENAME TO permissions;
