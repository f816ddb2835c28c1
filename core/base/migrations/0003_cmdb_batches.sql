-- 0003 cmdb batches: a bulk import records who, when and from where once,
-- in ci_batches, and marks the CIs and relationships it created with the
-- batch id instead of writing a ci_history row for each. relm.cmdb.history
-- shows those creations from the batch; the deferred row is written to
-- ci_history before the next history row of that CI (or before the
-- relationship is removed). See docs/cmdb.md, "History".
CREATE TABLE ci_batches (
    id                INTEGER PRIMARY KEY,
    at                TEXT NOT NULL,
    actor_id          INTEGER REFERENCES users(id),
    origin            TEXT,
    origin_release_id INTEGER
) STRICT;

-- No REFERENCES: checking the key would cost a lookup per imported row, and
-- batches are never deleted.
ALTER TABLE relationships ADD COLUMN batch_id INTEGER;
ALTER TABLE cis ADD COLUMN batch_id INTEGER;
