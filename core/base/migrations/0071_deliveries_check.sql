-- 0071 deliveries check: the CHECK on deliveries.status is written as
-- three comparisons instead of IN ('queued', 'delivered', 'dead'). SQLite
-- (3.40) codes an IN list of three or more constants inside a CHECK as a
-- temporary b-tree built afresh for every row written, and serve writes
-- every delivery's outcome: that b-tree cost more than the UPDATE itself.
-- Same rule, same rows; SQLite cannot alter a CHECK, so the table is
-- rebuilt (nothing references deliveries) with its columns in their order.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    outbox_id       INTEGER NOT NULL REFERENCES outbox(id),
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status = 'queued'
                        OR status = 'delivered' OR status = 'dead'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         REAL NOT NULL DEFAULT 0,
    claimed         INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    TEXT,
    message         TEXT CHECK (message IS NULL OR json_valid(message)),
    UNIQUE (outbox_id, subscription_id)
) STRICT;
INSERT INTO deliveries_new (id, outbox_id, subscription_id, status, attempts,
                            next_at, claimed, last_error, delivered_at,
                            message)
SELECT id, outbox_id, subscription_id, status, attempts, next_at, claimed,
       last_error, delivered_at, message FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries(status, claimed, next_at);
CREATE INDEX deliveries_subscription ON deliveries(subscription_id, status);
