-- Digests are planned from matches, calls, what each contact was told (notified,
-- digest_calls, digest_contacts), contact settings and feedback. Every change to one of
-- them leaves the one row of plan_changes (triggers, so that no writer can forget it).
-- A plan that found nothing due records that in meta ('plan_quiet'); the next plan on the
-- same day, with the same contacts and settings and no row here, has nothing to read.
-- The triggers insert only into an empty table: a conflict clause inside a trigger
-- (OR IGNORE) gives way to the outer statement's, so it cannot be relied on.
CREATE TABLE plan_changes (id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1));
INSERT INTO plan_changes (id) VALUES (1);

CREATE TRIGGER plan_matches_insert AFTER INSERT ON matches
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_matches_update AFTER UPDATE ON matches
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_matches_delete AFTER DELETE ON matches
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;

-- A call's content is its current version: a new version, not the seen time or the
-- match key, changes what a digest says.
CREATE TRIGGER plan_calls_insert AFTER INSERT ON calls
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_calls_version AFTER UPDATE OF version ON calls WHEN OLD.version IS NOT NEW.version
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_calls_delete AFTER DELETE ON calls
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_call_versions_update AFTER UPDATE ON call_versions
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;

CREATE TRIGGER plan_notified_insert AFTER INSERT ON notified
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_notified_update AFTER UPDATE ON notified
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_notified_delete AFTER DELETE ON notified
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;

CREATE TRIGGER plan_digest_calls_insert AFTER INSERT ON digest_calls
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_digest_calls_update AFTER UPDATE ON digest_calls
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_digest_calls_delete AFTER DELETE ON digest_calls
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;

CREATE TRIGGER plan_digest_contacts_insert AFTER INSERT ON digest_contacts
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_digest_contacts_update AFTER UPDATE ON digest_contacts
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_digest_contacts_delete AFTER DELETE ON digest_contacts
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;

CREATE TRIGGER plan_contact_settings_insert AFTER INSERT ON contact_settings
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_contact_settings_update AFTER UPDATE ON contact_settings
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_contact_settings_delete AFTER DELETE ON contact_settings
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;

CREATE TRIGGER plan_feedback_insert AFTER INSERT ON feedback
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_feedback_update AFTER UPDATE ON feedback
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
CREATE TRIGGER plan_feedback_delete AFTER DELETE ON feedback
BEGIN INSERT INTO plan_changes (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plan_changes); END;
