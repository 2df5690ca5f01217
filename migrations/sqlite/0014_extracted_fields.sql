-- The field memo of each source (`collect::fields`): what the German field parsers read
-- from one list entry, by a key over the entry's text, the evaluation day and the
-- parsers' code. A changed feed or list page takes its unchanged entries' fields from
-- here instead of parsing them again. A cache: dropping its rows costs one full parse.
CREATE TABLE extracted_fields (
    source TEXT NOT NULL,
    entry  TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (source, entry)
) WITHOUT ROWID;
