-- Coordination of instances sharing one PostgreSQL store (issue 14); the same tables
-- as SQLite's migration 0012, with PostgreSQL's types. Functions: src/store/pg_leases.rs.
--
-- One row per cron job and schedule slot: claimed by an instance with a lease
-- (INSERT … ON CONFLICT … DO UPDATE … WHERE the lease expired), taken over by another
-- once the lease expired, done once it ran.
CREATE TABLE job_claims (
    job         text        NOT NULL,
    slot        timestamptz NOT NULL,
    instance    text        NOT NULL,
    lease_until timestamptz NOT NULL,
    done_at     timestamptz,
    PRIMARY KEY (job, slot)
);
CREATE INDEX job_claims_instance ON job_claims (instance, lease_until);

-- An outbox mail a sender is delivering right now; deleted once the attempt is recorded.
CREATE TABLE mail_claims (
    mail_id       bigint      PRIMARY KEY,
    instance      text        NOT NULL,
    claimed_until timestamptz NOT NULL
);

-- The running instances and their last sign of life.
CREATE TABLE instances (
    id        text        PRIMARY KEY,
    host      text        NOT NULL,
    pid       bigint      NOT NULL,
    started   timestamptz NOT NULL,
    heartbeat timestamptz NOT NULL
);
