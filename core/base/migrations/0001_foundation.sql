-- 0001 foundation: settings and people (users, groups, memberships,
-- permissions). Later migrations add the CMDB, releases and activities.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    full_name  TEXT,
    email      TEXT,
    phone      TEXT,
    unit       TEXT,
    location   TEXT,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    is_admin   INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE memberships (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_group ON memberships(group_id);

-- group x workflow x action; workflow '*' means every workflow.
CREATE TABLE permissions (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    workflow TEXT NOT NULL,
    action   TEXT NOT NULL CHECK (action IN ('create', 'execute', 'delegate',
                 'suspend', 'reactivate', 'reopen', 'cancel', 'approve',
                 'admin')),
    PRIMARY KEY (group_id, workflow, action)
) STRICT, WITHOUT ROWID;

INSERT INTO users (name, full_name, is_admin) VALUES ('admin', 'Administrator', 1);
INSERT INTO groups (name, description) VALUES ('administrators', 'Can do everything');
INSERT INTO memberships (user_id, group_id) VALUES (1, 1);
INSERT INTO permissions (group_id, workflow, action) VALUES (1, '*', 'admin');
