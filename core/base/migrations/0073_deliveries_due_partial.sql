-- 0073 deliveries_due, partial: only what serve may claim next.
-- The index held every delivery by (status, claimed, next_at), so each
-- delivery moved in it twice (claimed, then delivered): a delete and an
-- insert each time, a third of the b-tree writes per delivery. Now a
-- delivery leaves it when claimed and, delivered, never comes back; a
-- retry (queued again, unclaimed) re-enters it. The dead letters, which
-- relm.notify.dead() and purge look up by status, get their own small
-- index.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(next_at)
    WHERE status = 'queued' AND claimed = 0;
CREATE INDEX deliveries_dead ON deliveries(status) WHERE status = 'dead';
