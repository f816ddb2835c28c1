-- 0005 release: justifications, portfolios and models, releases, shares,
-- the per-year number sequence and the append-only occurrence log.

-- Reasons a person must give to suspend, cancel or reopen a release.
CREATE TABLE justifications (
    id          INTEGER PRIMARY KEY,
    description TEXT NOT NULL CHECK (length(description) > 0),
    for_suspend INTEGER NOT NULL DEFAULT 0 CHECK (for_suspend IN (0, 1)),
    for_cancel  INTEGER NOT NULL DEFAULT 0 CHECK (for_cancel IN (0, 1)),
    for_reopen  INTEGER NOT NULL DEFAULT 0 CHECK (for_reopen IN (0, 1)),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE portfolios (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    source      TEXT,           -- template file it was synced from, if any
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX portfolios_name ON portfolios(name);

-- A model is a kind of release inside a portfolio: its workflow, the group
-- that executes it and the defaults a new release takes. templates and
-- prefill are JSON kept as the template wrote them (e-mail templates;
-- planning/deployment activities and notes for the activities module).
CREATE TABLE models (
    id             INTEGER PRIMARY KEY,
    portfolio_id   INTEGER NOT NULL REFERENCES portfolios(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    description    TEXT,
    type           TEXT NOT NULL DEFAULT 'normal',
    workflow       TEXT NOT NULL DEFAULT 'standard',
    executor_group TEXT,
    calendar       TEXT,
    impact         TEXT CHECK (impact IS NULL OR impact IN ('low', 'medium', 'high')),
    urgency        TEXT CHECK (urgency IS NULL OR urgency IN ('low', 'medium', 'high')),
    risk           TEXT CHECK (risk IS NULL OR risk IN ('low', 'medium', 'high')),
    category       TEXT,
    sla_hours      REAL CHECK (sla_hours IS NULL OR sla_hours > 0),
    templates      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(templates)),
    prefill        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(prefill)),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('new',
                       'active', 'retired')),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX models_name ON models(portfolio_id, name);

-- Per-year counter behind REL-YYYY-NNNNNN.
CREATE TABLE release_numbers (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

-- status: open (clock running), suspended (clock stopped), closed,
-- cancelled. state is the workflow state, phase the state's phase.
-- SLA: sla_seconds is the allowance; deadline the time limit while the clock
-- runs; elapsed_seconds the active time accumulated up to active_since
-- (NULL when the clock is stopped); remaining_seconds what was left when it
-- stopped. Times are ISO-8601 UTC text.
CREATE TABLE releases (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL,
    title             TEXT NOT NULL CHECK (length(title) > 0),
    description       TEXT,
    requester_id      INTEGER REFERENCES users(id),
    contact_name      TEXT,
    contact_email     TEXT,
    contact_phone     TEXT,
    contact_unit      TEXT,
    contact_location  TEXT,
    portfolio_id      INTEGER REFERENCES portfolios(id),
    model_id          INTEGER REFERENCES models(id),
    workflow          TEXT NOT NULL,
    type              TEXT,
    contract          TEXT,
    executor_group_id INTEGER REFERENCES groups(id),
    current_group_id  INTEGER REFERENCES groups(id),
    responsible_id    INTEGER REFERENCES users(id),
    impact            TEXT NOT NULL DEFAULT 'medium' CHECK (impact IN ('low', 'medium', 'high')),
    urgency           TEXT NOT NULL DEFAULT 'medium' CHECK (urgency IN ('low', 'medium', 'high')),
    risk              TEXT CHECK (risk IS NULL OR risk IN ('low', 'medium', 'high')),
    priority          INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    category          TEXT,
    version           TEXT,
    planned_start     TEXT,
    planned_end       TEXT,
    release_date      TEXT,
    solution_category TEXT,
    closure_text      TEXT,
    notify            INTEGER NOT NULL DEFAULT 1 CHECK (notify IN (0, 1)),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open',
                          'suspended', 'closed', 'cancelled')),
    state             TEXT NOT NULL,
    phase             TEXT NOT NULL CHECK (phase IN ('registration',
                          'planning', 'deployment', 'closure')),
    reopen_count      INTEGER NOT NULL DEFAULT 0,
    sla_seconds       INTEGER,
    deadline          TEXT,
    elapsed_seconds   INTEGER NOT NULL DEFAULT 0,
    active_since      TEXT,
    remaining_seconds INTEGER,
    suspended_at      TEXT,
    extra             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra)),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    closed_at         TEXT
) STRICT;
CREATE UNIQUE INDEX releases_number ON releases(number);
CREATE INDEX releases_status ON releases(status, priority);
CREATE INDEX releases_group ON releases(current_group_id, status);
CREATE INDEX releases_responsible ON releases(responsible_id);

-- "Shared with": groups or people who see and may work a release besides
-- its current group.
CREATE TABLE release_shares (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    group_id   INTEGER REFERENCES groups(id),
    user_id    INTEGER REFERENCES users(id),
    note       TEXT,
    created_at TEXT NOT NULL,
    CHECK ((group_id IS NULL) <> (user_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX release_shares_target ON release_shares(release_id,
    ifnull(group_id, 0), ifnull(user_id, 0));

-- The trail. One row per action; never updated or deleted (the triggers
-- below refuse). hash = sha256(prev_hash || canonical text of the row), so
-- an altered or removed row breaks the chain (relm.audit.verify()).
-- subject: 'release' (subject_id = releases.id) or an administrative
-- subject ('justification', 'user', 'group', 'permission', 'portfolio').
CREATE TABLE occurrences (
    id               INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    actor_id         INTEGER,
    actor            TEXT NOT NULL,
    subject          TEXT NOT NULL,
    subject_id       INTEGER,
    action           TEXT NOT NULL,
    from_state       TEXT,
    to_state         TEXT,
    justification_id INTEGER,
    note             TEXT,
    before           TEXT,
    after            TEXT,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
) STRICT;
CREATE INDEX occurrences_subject ON occurrences(subject, subject_id, id);

CREATE TRIGGER occurrences_no_update BEFORE UPDATE ON occurrences
BEGIN
    SELECT RAISE(ABORT, 'the occurrence log is append-only');
END;
CREATE TRIGGER occurrences_no_delete BEFORE DELETE ON occurrences
BEGIN
    SELECT RAISE(ABORT, 'the occurrence log is append-only');
END;
