-- Incremental matching (issue 12): each call remembers what its stored matches were
-- computed from. `matched_key` is the matching key (hash of the compiled rules, the
-- Kommunen, the evaluation day and the program version) and `matched_version` the
-- call's content version at that time. A pass matches only calls whose key or
-- version differ; all calls only when the key changed. NULL: never matched.
ALTER TABLE calls ADD COLUMN matched_key TEXT;
ALTER TABLE calls ADD COLUMN matched_version INTEGER;

