-- Feedback of the recipients (issue 8): "passt", "passt nicht" and mutes, each with
-- who and when. Entries are never updated: a later entry undoes an earlier one
-- (model::feedback::FeedbackSet folds them in id order).
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,               -- contact address (mail link), "cli" or a user name
    contact     TEXT,                        -- lower-cased address; NULL: the whole Kommune
    kommune     TEXT,                        -- scope of a Kommune-wide entry, else the contact's Kommune
    action      TEXT NOT NULL,               -- model::feedback::FeedbackAction
    target_kind TEXT NOT NULL,               -- call | project | handlungsfeld | funder
    target      TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX feedback_contact ON feedback (contact);
CREATE INDEX feedback_kommune ON feedback (kommune) WHERE contact IS NULL;
CREATE INDEX feedback_target ON feedback (target_kind, target);
