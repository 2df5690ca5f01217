-- The admin web UI: log-in sessions (only a hash of the cookie is kept) and the audit
-- log of every change an admin made to the rules or settings.
CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    admin      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

CREATE TABLE admin_audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    admin    TEXT NOT NULL,
    target   TEXT NOT NULL,
    old_text TEXT NOT NULL,
    new_text TEXT NOT NULL
);
