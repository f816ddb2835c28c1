-- 0050 schedules: what `relm serve` does at a moment nobody types:
-- reactivating a suspended release at its reactivate_at, reminding an
-- activity's owner before its due moment and at it, and reminding a
-- release's people before its planned start. Each is once per subject and
-- moment, whatever serve was doing (restarts, downtime) when it passed.

-- When a suspended release is to be reactivated (ISO-8601 UTC, whole
-- seconds), set by suspend{reactivate_at=}; cleared by any reactivation.
ALTER TABLE releases ADD COLUMN reactivate_at TEXT;
CREATE INDEX releases_reactivate ON releases(reactivate_at)
    WHERE reactivate_at IS NOT NULL;

-- The schedules' next moments, read by serve in time order. Dates are
-- stored as given (2026-12-08, 2026-12-08T09:00, ...Z), so the order is
-- that of their epoch seconds, not of their text.
CREATE INDEX activities_due ON activities(unixepoch(scheduled_at))
    WHERE scheduled_at IS NOT NULL AND status IN ('todo', 'in_progress');
CREATE INDEX releases_planned_start ON releases(unixepoch(planned_start))
    WHERE planned_start IS NOT NULL AND status = 'open';

-- Reminders already sent: kind 'activity.due', 'activity.overdue' or
-- 'release.planned_start'; subject the activity's or release's id; moment
-- the due or planned-start moment it was for (a new moment, a new
-- reminder); at when it really fired (catch-up keeps the moment's time).
CREATE TABLE schedule_fired (
    kind    TEXT NOT NULL,
    subject INTEGER NOT NULL,
    moment  TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (kind, subject, moment)
) STRICT, WITHOUT ROWID;

-- Retention: serve prunes delivered events in time order.
CREATE INDEX outbox_at ON outbox(at);
