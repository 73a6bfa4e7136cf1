-- The console's sessions, server-side: the cookie carries only a signed random id, and the
-- row is keyed by the id's SHA-256, so reading this table gives no usable cookie.
-- Deleting a row ends the session at once (sign-out), whoever holds the cookie.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- The purge of ended sessions.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);
