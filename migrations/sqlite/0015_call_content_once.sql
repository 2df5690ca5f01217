-- A call's current content is the JSON of its current version (call_versions), stored
-- once. Before, calls.json repeated it, and every update of a narrow column (the seen
-- time of each listed call on every pass, the match key) rewrote the call's several KB
-- of JSON into the WAL and again at the checkpoint.
-- The current version takes the call's content as it is now, so nothing read before
-- this migration reads differently after it.
UPDATE call_versions SET json = (SELECT c.json FROM calls c WHERE c.id = call_versions.call_id)
 WHERE EXISTS (SELECT 1 FROM calls c
                WHERE c.id = call_versions.call_id AND c.version = call_versions.version
                  AND c.json IS NOT call_versions.json);
INSERT OR IGNORE INTO call_versions (call_id, version, recorded_at, source, fingerprint, json)
    SELECT id, version, last_seen, content_source, fingerprint, json FROM calls;
ALTER TABLE calls DROP COLUMN json;
