-- 0060 windows: freeze windows (blackout and maintenance, one-off or
-- recurring by an RFC 5545 RRULE) and the conflicts of each release, kept
-- so the desktop can show a count without recomputing them.

-- One window. wall_start is the first occurrence's start as a wall clock
-- in tz (no offset; UTC when tz is NULL): recurrences are expanded there,
-- so "every Saturday 00:00 Europe/Paris" stays at midnight across DST.
-- starts/ends are the first occurrence in UTC; last_end the end of the
-- last one (NULL: the rule never ends).
CREATE TABLE windows (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL CHECK (length(name) > 0),
    kind             TEXT NOT NULL CHECK (kind IN ('blackout', 'maintenance')),
    wall_start       TEXT NOT NULL,
    tz               TEXT,
    duration_seconds INTEGER NOT NULL CHECK (duration_seconds > 0),
    rrule            TEXT,
    starts           TEXT NOT NULL,
    ends             TEXT NOT NULL,
    last_end         TEXT,
    scope            TEXT NOT NULL CHECK (scope IN ('cis', 'types', 'services')),
    reason           TEXT,
    created_at       TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX windows_name ON windows(name);

-- What a window covers: CIs (scope 'cis' and 'services': the service CI)
-- or CI types (scope 'types').
CREATE TABLE window_scope (
    window_id INTEGER NOT NULL REFERENCES windows(id) ON DELETE CASCADE,
    ci_id     INTEGER REFERENCES cis(id),
    type_id   INTEGER REFERENCES ci_types(id),
    CHECK ((ci_id IS NULL) <> (type_id IS NULL))
) STRICT;
CREATE INDEX window_scope_window ON window_scope(window_id);

-- The conflicts of a release as last computed (core/conflict.c), and per
-- release whether they must be computed again (dirty) and how many there
-- are. The triggers below mark a release dirty when what its conflicts
-- depend on changes: its planned window, responsible, status or CIs, and
-- every release whose planned window overlaps the old or the new one.
CREATE TABLE release_conflicts (
    release_id       INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('scheduled', 'blackout',
                         'maintenance', 'person')),
    ci_id            INTEGER REFERENCES cis(id),
    other_release_id INTEGER REFERENCES releases(id) ON DELETE CASCADE,
    window_id        INTEGER REFERENCES windows(id) ON DELETE CASCADE,
    path             TEXT,
    starts           TEXT,
    ends             TEXT,
    reason           TEXT NOT NULL,
    PRIMARY KEY (release_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE release_conflict_state (
    release_id INTEGER PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,
    dirty      INTEGER NOT NULL DEFAULT 1 CHECK (dirty IN (0, 1)),
    count      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX release_conflict_state_dirty ON release_conflict_state(dirty)
    WHERE dirty = 1;
CREATE INDEX releases_planned ON releases(planned_start)
    WHERE planned_start IS NOT NULL;

-- A release without a planned window has no conflicts and causes none, so
-- the triggers do nothing for it (bulk registration and closure of
-- undated releases pay one WHEN test). Marking the release itself and its
-- overlapping neighbours are two statements: one OR would scan releases.
CREATE TRIGGER releases_conflicts_insert AFTER INSERT ON releases
WHEN NEW.planned_start IS NOT NULL AND NEW.planned_end IS NOT NULL
BEGIN
    INSERT INTO release_conflict_state (release_id, dirty)
    SELECT id, 1 FROM releases
    WHERE planned_start IS NOT NULL AND planned_start < NEW.planned_end
        AND planned_end > NEW.planned_start
    ON CONFLICT (release_id) DO UPDATE SET dirty = 1;
END;

CREATE TRIGGER releases_conflicts_update AFTER UPDATE ON releases
WHEN (NEW.planned_start IS NOT NULL OR OLD.planned_start IS NOT NULL)
    AND (NEW.planned_start IS NOT OLD.planned_start
        OR NEW.planned_end IS NOT OLD.planned_end
        OR NEW.responsible_id IS NOT OLD.responsible_id
        OR NEW.status IS NOT OLD.status)
BEGIN
    INSERT INTO release_conflict_state (release_id, dirty)
    VALUES (NEW.id, 1)
    ON CONFLICT (release_id) DO UPDATE SET dirty = 1;
    INSERT INTO release_conflict_state (release_id, dirty)
    SELECT id, 1 FROM releases
    WHERE planned_start IS NOT NULL
        AND ((planned_start < NEW.planned_end AND planned_end > NEW.planned_start)
          OR (planned_start < OLD.planned_end AND planned_end > OLD.planned_start))
    ON CONFLICT (release_id) DO UPDATE SET dirty = 1;
END;

-- A CI added to or taken from a dated release: it and its neighbours.
CREATE VIEW release_conflict_neighbours (release_id, neighbour_id) AS
SELECT r.id, o.id FROM releases r JOIN releases o
    ON o.planned_start IS NOT NULL AND o.planned_start < r.planned_end
        AND o.planned_end > r.planned_start
WHERE r.planned_start IS NOT NULL;

CREATE TRIGGER release_cis_conflicts_insert AFTER INSERT ON release_cis
BEGIN
    INSERT INTO release_conflict_state (release_id, dirty)
    SELECT neighbour_id, 1 FROM release_conflict_neighbours
    WHERE release_id = NEW.release_id
    ON CONFLICT (release_id) DO UPDATE SET dirty = 1;
END;

CREATE TRIGGER release_cis_conflicts_delete AFTER DELETE ON release_cis
BEGIN
    INSERT INTO release_conflict_state (release_id, dirty)
    SELECT neighbour_id, 1 FROM release_conflict_neighbours
    WHERE release_id = OLD.release_id
    ON CONFLICT (release_id) DO UPDATE SET dirty = 1;
END;
