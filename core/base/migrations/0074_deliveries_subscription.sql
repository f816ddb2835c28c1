-- 0074 deliveries_subscription without status.
-- No query looks deliveries up by (subscription, status): the status counts
-- of relm.notify.status() scan the table, and the dead letters have their
-- own index (0073). With status in it, every delivered webhook moved in
-- this index (a delete and an insert), about 40% of the time serve spends
-- recording outcomes. The foreign key to subscriptions still needs the
-- subscription alone.
DROP INDEX deliveries_subscription;
CREATE INDEX deliveries_subscription ON deliveries(subscription_id);
