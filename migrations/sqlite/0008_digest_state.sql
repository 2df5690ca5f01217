-- Digest state (issue 8): what each contact was last told about each call, so that
-- change notices and their debounce compare against what the contact last got, and
-- reminders go out once per offset. `notified` stays the guarantee that a call is
-- new to a contact at most once.
CREATE TABLE digest_calls (
    contact   TEXT NOT NULL,            -- lower-cased address
    call_id   TEXT NOT NULL,
    received  INTEGER NOT NULL,         -- 1: listed in a digest; 0: recorded as known (overview)
    facts     TEXT NOT NULL,            -- JSON model::facts::CallFacts as last sent
    seen      TEXT NOT NULL,            -- JSON list of CallFacts already announced (debounce)
    reminders TEXT NOT NULL,            -- JSON list of "YYYY-MM-DD:<days>" reminders sent
    updated   TEXT NOT NULL,
    PRIMARY KEY (contact, call_id)
);

-- The day of each contact's last regular digest (cadence).
CREATE TABLE digest_contacts (
    contact     TEXT PRIMARY KEY NOT NULL,
    last_digest TEXT NOT NULL           -- ISO date
);
