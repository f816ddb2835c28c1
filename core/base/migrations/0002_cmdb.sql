-- 0002 cmdb: CI types and their attribute schema, CIs, relationship types,
-- relationships, history, baselines and the definitive media library.
-- Secondary indexes are separate CREATE INDEX statements (not inline
-- UNIQUE) so that bulk import may drop and rebuild them around a load.

CREATE TABLE ci_types (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX ci_types_name ON ci_types(name);

-- kind: string, integer, number, boolean, date, enum; enum_values and
-- default_value are JSON.
CREATE TABLE ci_type_attrs (
    type_id       INTEGER NOT NULL REFERENCES ci_types(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('string', 'integer', 'number',
                      'boolean', 'date', 'enum')),
    required      INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
    default_value TEXT CHECK (default_value IS NULL OR json_valid(default_value)),
    enum_values   TEXT CHECK (enum_values IS NULL OR json_valid(enum_values)),
    position      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (type_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE media (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    version           TEXT NOT NULL DEFAULT '',
    sha256            TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),
    logical_location  TEXT,
    physical_location TEXT,
    licence_keys      TEXT CHECK (licence_keys IS NULL OR json_valid(licence_keys)),
    licence_count     INTEGER,
    notes             TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX media_name_version ON media(name, version);

CREATE TABLE spares (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    model      TEXT,
    serial     TEXT,
    location   TEXT,
    quantity   INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    status     TEXT NOT NULL DEFAULT 'available',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- AUTOINCREMENT: a removed CI's id is never given to a new CI, because
-- ci_history rows (which outlive the CI) are keyed by it.
CREATE TABLE cis (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    type_id        INTEGER NOT NULL REFERENCES ci_types(id),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active',
                       'deactivated', 'in_maintenance', 'deployment',
                       'homologation', 'in_development', 'archived',
                       'to_validate')),
    version        TEXT,
    serial         TEXT,
    criticality    TEXT CHECK (criticality IS NULL OR criticality IN
                       ('low', 'medium', 'high', 'critical')),
    owner_group_id INTEGER REFERENCES groups(id),
    location       TEXT,
    media_id       INTEGER REFERENCES media(id),
    attributes     TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX cis_name ON cis(name);
CREATE INDEX cis_type ON cis(type_id);

-- impact: which way impact flows along `from kind to` ("from depends on
-- to"): 'forward' = a change to `to` impacts `from`; 'reverse' = a change
-- to `from` impacts `to`; 'both'.
CREATE TABLE rel_types (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    impact      TEXT NOT NULL DEFAULT 'forward' CHECK (impact IN ('forward',
                    'reverse', 'both')),
    description TEXT
) STRICT;
CREATE UNIQUE INDEX rel_types_name ON rel_types(name);
INSERT INTO rel_types (name, description) VALUES
    ('depends_on', 'from needs to in order to work'),
    ('runs_on', 'from (software) runs on to (host)'),
    ('part_of', 'from is a component of to');

CREATE TABLE relationships (
    id         INTEGER PRIMARY KEY,
    from_id    INTEGER NOT NULL REFERENCES cis(id),
    kind_id    INTEGER NOT NULL REFERENCES rel_types(id),
    to_id      INTEGER NOT NULL REFERENCES cis(id),
    note       TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (from_id <> to_id)
) STRICT;
CREATE UNIQUE INDEX relationships_edge ON relationships(from_id, kind_id, to_id);
CREATE INDEX relationships_to ON relationships(to_id);

-- Every write to a CI or its relationships. diff is JSON
-- {field: [before, after]}; origin_release_id is set when a release did it.
CREATE TABLE ci_history (
    id                INTEGER PRIMARY KEY,
    ci_id             INTEGER NOT NULL,
    ci_name           TEXT NOT NULL,
    at                TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor_id          INTEGER REFERENCES users(id),
    action            TEXT NOT NULL,
    diff              TEXT NOT NULL DEFAULT '{}',
    origin_release_id INTEGER,
    origin            TEXT
) STRICT;
CREATE INDEX ci_history_ci ON ci_history(ci_id, id);

CREATE TABLE baselines (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    filter     TEXT NOT NULL DEFAULT '{}',
    actor_id   INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX baselines_name ON baselines(name);

CREATE TABLE baseline_items (
    baseline_id INTEGER NOT NULL REFERENCES baselines(id) ON DELETE CASCADE,
    ci_id       INTEGER NOT NULL,
    ci_name     TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    PRIMARY KEY (baseline_id, ci_id)
) STRICT, WITHOUT ROWID;
