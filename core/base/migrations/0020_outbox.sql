-- 0020 outbox: the durable event spine. Every occurrence about a release
-- writes its event here in the primitive's own transaction (transactional
-- outbox); `relm serve` delivers it to the subscriptions it matches.

-- One row per event; id is the stable event id receivers deduplicate on.
-- payload is the release as it was when the event was written (JSON).
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    event         TEXT NOT NULL,
    release_id    INTEGER,
    occurrence_id INTEGER,
    at            TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
) STRICT;
CREATE INDEX outbox_release ON outbox(release_id, id);

-- Where events go. events is a JSON array of names or GLOB patterns
-- ("release.*", "sla.breached", "*"). secret signs webhook bodies and is
-- stored as given: it is needed in clear to compute the HMAC.
CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    url        TEXT,            -- webhook URL, or the SMTP server for email
    recipient  TEXT,            -- e-mail address
    events     TEXT NOT NULL CHECK (json_valid(events)),
    secret     TEXT,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Delivered state per (event, subscription), written with the event (fan
-- out in the same transaction). status: queued (next_at = when to try,
-- epoch seconds), delivered, dead (gave up: dead letter, see last_error).
-- claimed = 1 while a serve is sending it; the serve that starts next (only
-- one runs per database) releases claims a killed one left.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    outbox_id       INTEGER NOT NULL REFERENCES outbox(id),
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                        ('queued', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         REAL NOT NULL DEFAULT 0,
    claimed         INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    TEXT,
    UNIQUE (outbox_id, subscription_id)
) STRICT;
CREATE INDEX deliveries_due ON deliveries(status, claimed, next_at);
CREATE INDEX deliveries_subscription ON deliveries(subscription_id, status);

-- SLA stages already fired, once per release and SLA cycle (a reopen
-- starts a new cycle: cycle = the release's reopen_count).
CREATE TABLE sla_stages (
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    cycle      INTEGER NOT NULL,
    stage      TEXT NOT NULL CHECK (stage IN ('warning', 'breached')),
    at         TEXT NOT NULL,
    PRIMARY KEY (release_id, cycle, stage)
) STRICT, WITHOUT ROWID;

-- serve's settings (notify.set): sla_warning_percent, max_tries,
-- backoff_seconds, timeout_seconds, smtp_url, smtp_from, smtp_tls.
CREATE TABLE serve_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
