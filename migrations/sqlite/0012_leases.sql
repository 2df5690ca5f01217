-- Coordination of instances (issue 14). SQLite keeps its one-process rule (the lock
-- file), so here the tables only record what the one daemon claims; the same rules
-- let several instances share a PostgreSQL store (migrations/postgres_leases.sql).
--
-- One row per cron job and schedule slot: claimed by an instance with a lease,
-- taken over by another once the lease expired, done once it ran.
CREATE TABLE job_claims (
    job         TEXT NOT NULL,
    slot        TEXT NOT NULL,
    instance    TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    done_at     TEXT,
    PRIMARY KEY (job, slot)
);
CREATE INDEX job_claims_instance ON job_claims (instance, lease_until);

-- An outbox mail a sender is delivering right now; deleted once the attempt is recorded.
CREATE TABLE mail_claims (
    mail_id       INTEGER PRIMARY KEY NOT NULL,
    instance      TEXT NOT NULL,
    claimed_until TEXT NOT NULL
);

-- The running instances and their last sign of life.
CREATE TABLE instances (
    id        TEXT PRIMARY KEY NOT NULL,
    host      TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    started   TEXT NOT NULL,
    heartbeat TEXT NOT NULL
);
