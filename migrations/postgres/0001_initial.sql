-- foerderradar: PostgreSQL schema, the same tables as migrations/sqlite/ (their
-- comments explain each column) in PostgreSQL's own types: timestamptz for times,
-- date for days, jsonb for JSON, boolean for flags, bytea for messages, bigserial ids.
-- Text that is sorted or compared uses the "C" collation, so that ORDER BY gives the
-- byte order SQLite gives, whatever the cluster's locale.

CREATE TABLE calls (
    id              text COLLATE "C" PRIMARY KEY,
    source          text COLLATE "C" NOT NULL,
    url             text COLLATE "C" NOT NULL,
    title_key       text COLLATE "C" NOT NULL,
    content_source  text COLLATE "C" NOT NULL,
    title           text NOT NULL,
    funder          text,
    external_id     text,
    status          text COLLATE "C" NOT NULL,
    deadline_kind   text COLLATE "C" NOT NULL,
    deadline_first  date,
    deadline_last   date,
    deadline_annual boolean NOT NULL DEFAULT false,
    fingerprint     text NOT NULL,
    version         bigint NOT NULL,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    json            jsonb NOT NULL,
    matched_key     text,
    matched_version bigint
);
CREATE INDEX calls_title_key ON calls (title_key);
CREATE INDEX calls_url ON calls (url);
CREATE INDEX calls_last_seen ON calls (last_seen);
CREATE INDEX calls_deadline ON calls (deadline_kind, deadline_last);

-- `id` keeps the order in which listings were recorded (SQLite's rowid).
CREATE TABLE call_links (
    id         bigserial PRIMARY KEY,
    call_id    text COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    source     text COLLATE "C" NOT NULL,
    url        text COLLATE "C" NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    UNIQUE (source, url)
);
CREATE INDEX call_links_url ON call_links (url);
CREATE INDEX call_links_call ON call_links (call_id);

CREATE TABLE call_versions (
    call_id     text COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    version     bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    source      text COLLATE "C" NOT NULL,
    fingerprint text NOT NULL,
    json        jsonb NOT NULL,
    PRIMARY KEY (call_id, version)
);

CREATE TABLE call_changes (
    id      bigserial PRIMARY KEY,
    call_id text COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    at      timestamptz NOT NULL,
    field   text NOT NULL,
    old     text NOT NULL,
    new     text NOT NULL
);
CREATE INDEX call_changes_at ON call_changes (at);
CREATE INDEX call_changes_call ON call_changes (call_id);

CREATE TABLE source_state (
    source  text COLLATE "C" PRIMARY KEY,
    json    jsonb NOT NULL,
    updated timestamptz NOT NULL
);

CREATE TABLE source_health (
    source               text COLLATE "C" PRIMARY KEY,
    last_attempt         timestamptz,
    last_success         timestamptz,
    consecutive_failures bigint NOT NULL DEFAULT 0,
    items_last_pass      bigint NOT NULL DEFAULT 0,
    items_before         bigint NOT NULL DEFAULT 0,
    last_error           text,
    broken               boolean NOT NULL DEFAULT false
);

CREATE TABLE source_runs (
    id           bigserial PRIMARY KEY,
    source       text COLLATE "C" NOT NULL,
    at           timestamptz NOT NULL,
    items        bigint NOT NULL,
    error        text,
    requests     bigint NOT NULL,
    not_modified bigint NOT NULL,
    duration_ms  bigint NOT NULL
);
CREATE INDEX source_runs_source_at ON source_runs (source, at);

CREATE TABLE matches (
    id            bigserial PRIMARY KEY,
    call_id       text COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    handlungsfeld text COLLATE "C" NOT NULL,
    project       text COLLATE "C",
    score         double precision NOT NULL,
    threshold     double precision NOT NULL,
    passed        boolean NOT NULL,
    kommunen      jsonb NOT NULL,
    reasons       jsonb NOT NULL
);
CREATE INDEX matches_call ON matches (call_id);
CREATE INDEX matches_passed ON matches (passed, call_id);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    contact      text COLLATE "C" NOT NULL,
    kommune      text COLLATE "C" NOT NULL,
    subject      text NOT NULL,
    message      bytea NOT NULL,
    calls        jsonb NOT NULL,
    status       text COLLATE "C" NOT NULL,
    attempts     bigint NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL,
    last_error   text,
    created      timestamptz NOT NULL,
    sent         timestamptz
);
CREATE INDEX outbox_due ON outbox (status, next_attempt);

CREATE TABLE notified (
    contact text COLLATE "C" NOT NULL,
    call_id text COLLATE "C" NOT NULL,
    at      timestamptz NOT NULL,
    mail_id bigint NOT NULL REFERENCES outbox (id),
    PRIMARY KEY (contact, call_id)
);

CREATE TABLE runs (
    id       bigserial PRIMARY KEY,
    kind     text COLLATE "C" NOT NULL,
    started  timestamptz NOT NULL,
    finished timestamptz,
    ok       boolean,
    summary  jsonb
);
CREATE INDEX runs_kind_started ON runs (kind, started);

CREATE TABLE feedback (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    contact     text COLLATE "C",
    kommune     text COLLATE "C",
    action      text COLLATE "C" NOT NULL,
    target_kind text COLLATE "C" NOT NULL,
    target      text COLLATE "C" NOT NULL,
    reason      text
);
CREATE INDEX feedback_contact ON feedback (contact);
CREATE INDEX feedback_kommune ON feedback (kommune) WHERE contact IS NULL;
CREATE INDEX feedback_target ON feedback (target_kind, target);

CREATE TABLE contact_settings (
    contact         text COLLATE "C" PRIMARY KEY,
    cadence         text,
    handlungsfelder jsonb,
    paused_until    date,
    unsubscribed    boolean NOT NULL DEFAULT false,
    updated         timestamptz NOT NULL,
    updated_by      text NOT NULL
);

CREATE TABLE job_runs (
    id       bigserial PRIMARY KEY,
    job      text COLLATE "C" NOT NULL,
    started  timestamptz NOT NULL,
    finished timestamptz,
    ok       boolean
);
CREATE INDEX job_runs_job_started ON job_runs (job, started);

CREATE TABLE digest_calls (
    contact   text COLLATE "C" NOT NULL,
    call_id   text COLLATE "C" NOT NULL,
    received  boolean NOT NULL,
    facts     jsonb NOT NULL,
    seen      jsonb NOT NULL,
    reminders jsonb NOT NULL,
    updated   timestamptz NOT NULL,
    PRIMARY KEY (contact, call_id)
);

CREATE TABLE digest_contacts (
    contact     text COLLATE "C" PRIMARY KEY,
    last_digest date NOT NULL
);

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE admin_sessions (
    token_hash text COLLATE "C" PRIMARY KEY,
    admin      text NOT NULL,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

CREATE TABLE admin_audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,
    admin    text NOT NULL,
    target   text NOT NULL,
    old_text text NOT NULL,
    new_text text NOT NULL
);
