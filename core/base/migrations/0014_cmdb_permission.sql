-- 0014 cmdb permission: writing the CMDB (CIs, types, relationships,
-- imports, baselines, media, spares, change/problem/... records) needs the
-- action 'cmdb' on workflow '*' (docs/permissions.md). The CHECK of
-- permissions.action gains it, so the table is rebuilt (SQLite cannot alter
-- a CHECK); nothing references permissions, so nothing else moves. The
-- administrators group holds it from the start, so a fresh database shows
-- who may write the CMDB (a superuser may anyway).
CREATE TABLE permissions_new (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    workflow TEXT NOT NULL,
    action   TEXT NOT NULL CHECK (action IN ('create', 'execute', 'delegate',
                 'suspend', 'reactivate', 'reopen', 'cancel', 'approve',
                 'admin', 'cmdb')),
    PRIMARY KEY (group_id, workflow, action)
) STRICT, WITHOUT ROWID;
INSERT INTO permissions_new (group_id, workflow, action)
SELECT group_id, workflow, action FROM permissions;
DROP TABLE permissions;
ALTER TABLE permissions_new RENAME TO permissions;
INSERT OR IGNORE INTO permissions (group_id, workflow, action)
SELECT id, '*', 'cmdb' FROM groups WHERE name = 'administrators';
