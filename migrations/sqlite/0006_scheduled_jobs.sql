-- Runs of the daemon's scheduled jobs (issue 13): `collect` (the sources without a
-- group of their own), `collect:<group>` (a [schedule.groups] entry), `notify` and
-- `admin_digest`. Catch-up after a downtime and `status` read the last run per job;
-- the pipeline stages a job runs keep their own rows in `runs`.
CREATE TABLE job_runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job      TEXT NOT NULL,
    started  TEXT NOT NULL,
    finished TEXT,
    ok       INTEGER
);
CREATE INDEX job_runs_job_started ON job_runs (job, started);
