-- 0070 credentials: users' passwords (argon2id strings from libsodium) and
-- named API tokens and browser sessions, stored only as SHA-256 hashes.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- kind 'api': a named token made by relm.token.create; 'session': made by
-- POST /api/v1/login. expires_at is epoch seconds (NULL: never);
-- revoked_at is set by relm.token.revoke (rows are kept for the record).
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session')),
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at   INTEGER,
    revoked_at   TEXT
) STRICT;
-- One live token per name and user, so a name says which token it is.
CREATE UNIQUE INDEX tokens_live_name ON tokens(user_id, name)
    WHERE revoked_at IS NULL AND kind = 'api';
