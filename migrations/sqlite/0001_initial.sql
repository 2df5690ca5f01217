-- foerderradar: initial SQLite schema.
-- Timestamps are UTC text in one fixed-width form (YYYY-MM-DDTHH:MM:SS.ffffffZ),
-- so comparisons and ORDER BY on the text are chronological. Dates are YYYY-MM-DD.

-- One row per funding call (one programme, however many sources list it).
-- `json` holds the current content (a serialised model::Call without links);
-- the other columns repeat what queries filter and sort on.
CREATE TABLE calls (
    id              TEXT PRIMARY KEY NOT NULL,   -- CallId: hash of the first canonical URL
    source          TEXT NOT NULL,               -- source that found the call first
    url             TEXT NOT NULL,               -- canonical URL the id was derived from
    title_key       TEXT NOT NULL,               -- identity::title_key(title, funder)
    content_source  TEXT NOT NULL,               -- source whose listing supplies the content
    title           TEXT NOT NULL,
    funder          TEXT,
    external_id     TEXT,
    status          TEXT NOT NULL,               -- forthcoming|open|closed|unknown
    deadline_kind   TEXT NOT NULL,               -- date|rolling|unknown
    deadline_first  TEXT,                        -- earliest stated cut-off
    deadline_last   TEXT,                        -- latest stated cut-off (closed after it)
    deadline_annual INTEGER NOT NULL DEFAULT 0,  -- some cut-off recurs yearly: never closes by date
    fingerprint     TEXT NOT NULL,
    version         INTEGER NOT NULL,            -- number of the current entry in call_versions
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    json            TEXT NOT NULL
);
CREATE INDEX calls_title_key ON calls (title_key);
CREATE INDEX calls_url ON calls (url);
CREATE INDEX calls_last_seen ON calls (last_seen);
CREATE INDEX calls_deadline ON calls (deadline_kind, deadline_last);

-- Every listing of a call: one source, one URL.
CREATE TABLE call_links (
    call_id    TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    url        TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    UNIQUE (source, url)
);
CREATE INDEX call_links_url ON call_links (url);
CREATE INDEX call_links_call ON call_links (call_id);

-- Content history: version 1 is the first listing, each content change adds one.
CREATE TABLE call_versions (
    call_id     TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    source      TEXT NOT NULL,                   -- source whose listing this version is
    fingerprint TEXT NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (call_id, version)
);

-- Field-level changes between consecutive versions (model::diff_calls).
CREATE TABLE call_changes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,                    -- the version that introduced the change
    at      TEXT NOT NULL,
    field   TEXT NOT NULL,                       -- model::ChangedField, kebab-case
    old     TEXT NOT NULL,
    new     TEXT NOT NULL
);
CREATE INDEX call_changes_at ON call_changes (at);
CREATE INDEX call_changes_call ON call_changes (call_id);

-- What a source remembers between passes (collect::SourceState as JSON).
CREATE TABLE source_state (
    source  TEXT PRIMARY KEY NOT NULL,
    json    TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- Current health per source, derived from its runs.
CREATE TABLE source_health (
    source               TEXT PRIMARY KEY NOT NULL,
    last_attempt         TEXT,
    last_success         TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_last_pass      INTEGER NOT NULL DEFAULT 0,
    items_before         INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    broken               INTEGER NOT NULL DEFAULT 0
);

-- One row per source per pass.
CREATE TABLE source_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    at           TEXT NOT NULL,
    items        INTEGER NOT NULL,
    error        TEXT,
    requests     INTEGER NOT NULL,
    not_modified INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL
);
CREATE INDEX source_runs_source_at ON source_runs (source, at);

-- Match results of the latest matching pass, replaced per call (passed and near misses).
CREATE TABLE matches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id       TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    handlungsfeld TEXT NOT NULL,
    project       TEXT,                          -- NULL: the Handlungsfeld's own profile
    score         REAL NOT NULL,
    threshold     REAL NOT NULL,
    passed        INTEGER NOT NULL,
    kommunen      TEXT NOT NULL,                 -- JSON array of Kommune ids
    reasons       TEXT NOT NULL                  -- JSON array of German reasons
);
CREATE INDEX matches_call ON matches (call_id);
CREATE INDEX matches_passed ON matches (passed, call_id);

-- Digests waiting for (or gone through) SMTP, fully rendered.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    contact      TEXT NOT NULL,
    kommune      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    message      BLOB NOT NULL,                  -- complete RFC 5322 message
    calls        TEXT NOT NULL,                  -- JSON array of call ids
    status       TEXT NOT NULL,                  -- pending|sent|failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    last_error   TEXT,
    created      TEXT NOT NULL,
    sent         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt);

-- Which call was queued to which contact. The primary key is the guarantee that
-- a call reaches a contact at most once, also across crashes and retries.
-- No foreign key on call_id: the record of a sent mail outlives any call cleanup.
CREATE TABLE notified (
    contact TEXT NOT NULL,
    call_id TEXT NOT NULL,
    at      TEXT NOT NULL,
    mail_id INTEGER NOT NULL REFERENCES outbox (id),
    PRIMARY KEY (contact, call_id)
);

-- Pipeline runs (collect, match, notify, whole pass) with a JSON summary.
CREATE TABLE runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,
    started  TEXT NOT NULL,
    finished TEXT,
    ok       INTEGER,
    summary  TEXT
);
CREATE INDEX runs_kind_started ON runs (kind, started);
