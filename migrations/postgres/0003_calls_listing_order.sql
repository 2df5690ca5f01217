-- Listings (`list_calls`) come newest first: an index in that order spares the sort
-- (the same index as SQLite's migration 0013).
CREATE INDEX calls_listing ON calls (first_seen DESC, id);
