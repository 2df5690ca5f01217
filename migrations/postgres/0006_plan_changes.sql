-- Digests are planned from matches, calls, what each contact was told (notified,
-- digest_calls, digest_contacts), contact settings and feedback. Every transaction that
-- changes one of them leaves a row in plan_changes (triggers, so that no writer can forget
-- it). A plan that found nothing due records that in meta ('plan_quiet'); the next plan
-- on the same day, with the same contacts and settings and no row here, has nothing to
-- read. One row per transaction: writers never wait for each other on this table.
CREATE TABLE plan_changes (txid bigint PRIMARY KEY);
INSERT INTO plan_changes (txid) VALUES (0);

CREATE FUNCTION plan_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO plan_changes (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER plan_matches AFTER INSERT OR UPDATE OR DELETE ON matches
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
-- A call's content is its current version: a new version, not the seen time or the
-- match key, changes what a digest says.
CREATE TRIGGER plan_calls AFTER INSERT OR DELETE ON calls
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_calls_version AFTER UPDATE OF version, json ON calls
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.json IS DISTINCT FROM NEW.json)
    EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_call_versions AFTER UPDATE ON call_versions
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_notified AFTER INSERT OR UPDATE OR DELETE ON notified
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_digest_calls AFTER INSERT OR UPDATE OR DELETE ON digest_calls
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_digest_contacts AFTER INSERT OR UPDATE OR DELETE ON digest_contacts
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_contact_settings AFTER INSERT OR UPDATE OR DELETE ON contact_settings
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
CREATE TRIGGER plan_feedback AFTER INSERT OR UPDATE OR DELETE ON feedback
    FOR EACH ROW EXECUTE FUNCTION plan_changed();
