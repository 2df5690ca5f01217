-- Listings (`list_calls`: reports, the web server, `calls`) come newest first. Without an
-- index in that order SQLite sorts every listed row, JSON included, and spills the sort
-- to a temporary file once it outgrows the page cache: a report over 3,000 calls wrote
-- megabytes per request. With it the listing walks the index and sorts nothing.
CREATE INDEX calls_listing ON calls (first_seen DESC, id);
