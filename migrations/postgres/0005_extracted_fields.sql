-- The field memo of each source (`collect::fields`), as in SQLite's 0014: what the German
-- field parsers read from one list entry, by a key over the entry's text, the evaluation
-- day and the parsers' code. A cache: dropping its rows costs one full parse.
CREATE TABLE extracted_fields (
    source TEXT NOT NULL,
    entry  TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (source, entry)
);
