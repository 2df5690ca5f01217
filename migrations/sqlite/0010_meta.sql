-- Facts about the store itself, e.g. which title-key rule its keys were made with, so
-- that opening the store does not recompute every key to find out.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
