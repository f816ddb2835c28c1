-- 0055 hooks: runs of the relm.on hooks `relm serve` loads from its hooks
-- directory, one row per (event, hook), retried and dead-lettered like
-- deliveries (see docs/notifications.md).

-- hook is where the hook was declared ("file.lua:LINE", the relm.on call);
-- status: queued (next_at = when to run, epoch seconds), done, dead (gave
-- up after max_tries: a dead letter, see last_error). claimed = 1 while
-- serve runs it; the next serve releases claims a killed one left.
CREATE TABLE hook_runs (
    id         INTEGER PRIMARY KEY,
    outbox_id  INTEGER NOT NULL REFERENCES outbox(id),
    hook       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                   ('queued', 'done', 'dead')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    REAL NOT NULL DEFAULT 0,
    claimed    INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at    TEXT,
    UNIQUE (outbox_id, hook)
) STRICT;
CREATE INDEX hook_runs_due ON hook_runs(status, claimed, next_at);

-- How far serve has fanned the outbox out to hooks: events up to
-- outbox_id have their hook runs. One row; events written before hooks
-- existed are not run.
CREATE TABLE hook_cursor (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    outbox_id INTEGER NOT NULL
) STRICT;
INSERT INTO hook_cursor (id, outbox_id)
    SELECT 1, coalesce(max(id), 0) FROM outbox;
