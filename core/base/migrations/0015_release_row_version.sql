-- 0015 release row_version: every write to a release increments it, so a
-- script (and the HTTP API, as its ETag) can refuse a stale write:
-- relm.release.update(id, fields, {version = n}) -> conflict. The snapshot
-- view shows it as row_version (the release's own `version` field is the
-- software version being released).
ALTER TABLE releases ADD COLUMN row_version INTEGER NOT NULL DEFAULT 1;
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
    'closed_at', r.closed_at)) AS snapshot
FROM releases r
LEFT JOIN users ru ON ru.id = r.requester_id
LEFT JOIN portfolios p ON p.id = r.portfolio_id
LEFT JOIN models m ON m.id = r.model_id
LEFT JOIN groups eg ON eg.id = r.executor_group_id
LEFT JOIN groups cg ON cg.id = r.current_group_id
LEFT JOIN users rs ON rs.id = r.responsible_id;
