-- 0040 business calendars and the SLA clock on them (issue 11, "Time").
-- calendars: weekly business hours per weekday (JSON {"mon": ["08:00-12:00",
-- ...]}), holidays (JSON array of local dates) and a tz database zone.
CREATE TABLE calendars (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    tz         TEXT NOT NULL,
    hours      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(hours)),
    holidays   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(holidays)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- The calendars the shipped portfolio models name (portfolios/*.lua), in
-- UTC; an administrator redefines them (relm.calendar.define) with the
-- organisation's zone, hours and holidays.
INSERT INTO calendars (name, tz, hours) VALUES
    ('business-hours', 'UTC', '{"mon":["08:00-18:00"],"tue":["08:00-18:00"],'
        || '"wed":["08:00-18:00"],"thu":["08:00-18:00"],"fri":["08:00-18:00"]}'),
    ('release-train', 'UTC', '{"mon":["09:00-17:00"],"tue":["09:00-17:00"],'
        || '"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]}'),
    ('night-window', 'UTC', '{"mon":["00:00-06:00","22:00-24:00"],'
        || '"tue":["00:00-06:00","22:00-24:00"],"wed":["00:00-06:00","22:00-24:00"],'
        || '"thu":["00:00-06:00","22:00-24:00"],"fri":["00:00-06:00","22:00-24:00"],'
        || '"sat":["00:00-06:00","22:00-24:00"],"sun":["00:00-06:00","22:00-24:00"]}'),
    ('weekend-window', 'UTC', '{"sat":["00:00-24:00"],"sun":["00:00-24:00"]}');

-- A model names its calendar (models.calendar, since 0005) and warning
-- percentage; a portfolio template's own calendar= and
-- sla_warning_percent= are inherited by its models when they load.
ALTER TABLE models ADD COLUMN sla_warning_percent INTEGER
    CHECK (sla_warning_percent IS NULL OR (sla_warning_percent > 0 AND sla_warning_percent < 100));

-- The release carries its calendar (NULL: 24x7) and warning percentage
-- (NULL: serve's sla_warning_percent). sla_stage: in_progress, warning,
-- breached (NULL without an SLA). sla_done_pct: the share of the allowance
-- (in percent) whose moments were handled this cycle (stages and
-- escalation rules); sla_next_at the next such moment in epoch seconds
-- (with a fraction), NULL while nothing is due (clock stopped, closed,
-- breached). serve's SLA pass reads only rows whose sla_next_at has come,
-- through the partial index, instead of every open release.
ALTER TABLE releases ADD COLUMN calendar TEXT;
ALTER TABLE releases ADD COLUMN sla_warning_percent INTEGER;
ALTER TABLE releases ADD COLUMN sla_stage TEXT
    CHECK (sla_stage IS NULL OR sla_stage IN ('in_progress', 'warning', 'breached'));
ALTER TABLE releases ADD COLUMN sla_done_pct REAL NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN sla_next_at REAL;
CREATE INDEX releases_sla_next ON releases(sla_next_at) WHERE sla_next_at IS NOT NULL;
CREATE INDEX releases_sla_stage ON releases(sla_stage, status);

-- Releases from before: 24x7, stage from the stages already fired, next
-- moment from the deadline and the global percentage.
UPDATE releases SET sla_stage = CASE
        WHEN sla_seconds IS NULL OR sla_seconds <= 0 THEN NULL
        WHEN EXISTS (SELECT 1 FROM sla_stages s WHERE s.release_id = releases.id
                     AND s.cycle = releases.reopen_count AND s.stage = 'breached') THEN 'breached'
        WHEN EXISTS (SELECT 1 FROM sla_stages s WHERE s.release_id = releases.id
                     AND s.cycle = releases.reopen_count AND s.stage = 'warning') THEN 'warning'
        ELSE 'in_progress' END;
UPDATE releases SET
    sla_done_pct = CASE sla_stage WHEN 'breached' THEN 100 WHEN 'warning' THEN
        coalesce((SELECT CAST(value AS REAL) FROM serve_settings
                  WHERE key = 'sla_warning_percent'), 75) ELSE 0 END,
    sla_next_at = CASE
        WHEN status <> 'open' OR deadline IS NULL OR sla_stage IS NULL
             OR sla_stage = 'breached' THEN NULL
        WHEN sla_stage = 'warning' THEN CAST(strftime('%s', deadline) AS INTEGER)
        ELSE CAST(strftime('%s', deadline) AS INTEGER) - sla_seconds * (1.0 -
            coalesce((SELECT CAST(value AS REAL) FROM serve_settings
                      WHERE key = 'sla_warning_percent'), 75) / 100.0) END;

-- Escalation rules that fired: once per release, SLA cycle and rule;
-- status done, or failed with the error (the parked record an admin reads).
CREATE TABLE escalations (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    cycle      INTEGER NOT NULL,
    rule       TEXT NOT NULL,
    stage      TEXT NOT NULL,
    at         TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error      TEXT
) STRICT;
CREATE UNIQUE INDEX escalations_once ON escalations(release_id, cycle, rule);

DROP VIEW release_snapshots;
CREATE VIEW release_snapshots AS
SELECT r.id AS id, r.number AS number, json_patch('{}', json_object(
    'id', r.id, 'number', r.number, 'title', r.title,
    'description', r.description, 'requester', ru.name,
    'contact_name', r.contact_name, 'contact_email', r.contact_email,
    'contact_phone', r.contact_phone, 'contact_unit', r.contact_unit,
    'contact_location', r.contact_location, 'portfolio', p.name,
    'model', m.name, 'workflow', r.workflow, 'type', r.type,
    'contract', r.contract, 'executor_group', eg.name,
    'current_group', cg.name, 'responsible', rs.name,
    'impact', r.impact, 'urgency', r.urgency, 'risk', r.risk,
    'priority', r.priority, 'category', r.category, 'version', r.version,
    'planned_start', r.planned_start, 'planned_end', r.planned_end,
    'release_date', r.release_date,
    'solution_category', r.solution_category,
    'closure_text', r.closure_text,
    'notify', json(CASE r.notify WHEN 1 THEN 'true' ELSE 'false' END),
    'status', r.status, 'state', r.state, 'phase', r.phase,
    'reopen_count', r.reopen_count, 'sla_seconds', r.sla_seconds,
    'deadline', r.deadline, 'elapsed_seconds', r.elapsed_seconds,
    'active_since', r.active_since,
    'remaining_seconds', r.remaining_seconds,
    'suspended_at', r.suspended_at, 'extra', json(r.extra),
    'shared_with', (SELECT json_group_array(json(x)) FROM (
        SELECT json_patch('{}', json_object('group', sg.name, 'user', su.name,
            'note', sh.note)) AS x
        FROM release_shares sh
        LEFT JOIN groups sg ON sg.id = sh.group_id
        LEFT JOIN users su ON su.id = sh.user_id
        WHERE sh.release_id = r.id ORDER BY sh.id)),
    'created_at', r.created_at, 'updated_at', r.updated_at,
    'row_version', r.row_version,
    'calendar', r.calendar, 'sla_stage', r.sla_stage,
    'sla_warning_percent', r.sla_warning_percent,
    'closed_at', r.closed_at)) AS snapshot
FROM releases r
LEFT JOIN users ru ON ru.id = r.requester_id
LEFT JOIN portfolios p ON p.id = r.portfolio_id
LEFT JOIN models m ON m.id = r.model_id
LEFT JOIN groups eg ON eg.id = r.executor_group_id
LEFT JOIN groups cg ON cg.id = r.current_group_id
LEFT JOIN users rs ON rs.id = r.responsible_id;
