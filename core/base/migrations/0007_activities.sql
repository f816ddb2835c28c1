-- 0007 activities: the planning-phase and deployment-phase work of a
-- release (a kanban board per release) and the order between activities.

-- status is the board column. owner_group_id / owner_user_id say whose
-- desktop shows the activity (either, both or neither). position orders
-- activities inside a release's phase; scheduled_at is ISO-8601 UTC text.
CREATE TABLE activities (
    id                INTEGER PRIMARY KEY,
    release_id        INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    phase             TEXT NOT NULL CHECK (phase IN ('planning', 'deployment')),
    title             TEXT NOT NULL CHECK (length(title) > 0),
    description       TEXT,
    status            TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo',
                          'in_progress', 'done', 'cancelled')),
    position          INTEGER NOT NULL,
    owner_group_id    INTEGER REFERENCES groups(id),
    owner_user_id     INTEGER REFERENCES users(id),
    scheduled_at      TEXT,
    estimated_minutes INTEGER CHECK (estimated_minutes IS NULL OR estimated_minutes >= 0),
    actual_minutes    INTEGER CHECK (actual_minutes IS NULL OR actual_minutes >= 0),
    notes             TEXT,
    started_at        TEXT,
    finished_at       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX activities_release ON activities(release_id, phase, position);
-- The desktop asks "what is open for this group / this person"; open
-- activities are the few, so the indexes lead with the owner and status.
CREATE INDEX activities_group ON activities(owner_group_id, status, scheduled_at)
    WHERE owner_group_id IS NOT NULL;
CREATE INDEX activities_user ON activities(owner_user_id, status, scheduled_at)
    WHERE owner_user_id IS NOT NULL;

-- activity_id waits for depends_on (same release; no cycles, checked by
-- the core before inserting).
CREATE TABLE activity_deps (
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    depends_on  INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    PRIMARY KEY (activity_id, depends_on),
    CHECK (activity_id <> depends_on)
) STRICT, WITHOUT ROWID;
CREATE INDEX activity_deps_reverse ON activity_deps(depends_on);
