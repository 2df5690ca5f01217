-- Match reasons are stored as typed JSON (model::reason::Reason, e.g.
-- {"reason":"criterion","criterion":{"criterion":"deadline-ahead",...}})
-- instead of German sentences, which cannot be turned back into typed values.
-- Matches are derived data, replaced per call by every matching pass: the rows
-- written with German reasons are dropped and the next `match` (every daemon
-- pass runs one) writes them again. Which calls reached whom is kept in
-- `notified`, so nothing is mailed twice.
DELETE FROM matches;
