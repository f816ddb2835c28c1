-- 0056 template mail: e-mails rendered from a model's templates (creation,
-- actions, closure) and per-group addresses (see docs/notifications.md).

-- The rendered mail a delivery sends instead of the generic event mail:
-- {"subject": ..., "body": ...}; NULL for a subscription's delivery.
ALTER TABLE deliveries ADD COLUMN message TEXT
    CHECK (message IS NULL OR json_valid(message));

-- A group's own e-mail address (a team mailbox). Without one, mail to the
-- group goes to each member that has an address.
CREATE TABLE group_addresses (
    group_id INTEGER PRIMARY KEY REFERENCES groups(id) ON DELETE CASCADE,
    email    TEXT NOT NULL
) STRICT;
