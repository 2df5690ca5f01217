-- What a contact changed itself (issue 9's settings page, issue 8's unsubscribe):
-- overrides kommunen.toml. One row per address; NULL columns keep the configured value.
CREATE TABLE contact_settings (
    contact         TEXT PRIMARY KEY NOT NULL,  -- lower-cased address
    cadence         TEXT,                       -- model::contact::Cadence
    handlungsfelder TEXT,                       -- JSON list; narrows the subscription
    paused_until    TEXT,                       -- ISO date
    unsubscribed    INTEGER NOT NULL DEFAULT 0,
    updated         TEXT NOT NULL,
    updated_by      TEXT NOT NULL
);
