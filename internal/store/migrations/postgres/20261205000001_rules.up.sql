-- Versions of the rules document, numbered from 1 and never changed once
-- written. document is the text as applied; checksum is the SHA-256 of
-- the document's values, so an apply that changes only layout or comments
-- is recognised as unchanged.
CREATE TABLE rule_versions (
    version    INTEGER PRIMARY KEY CHECK (version > 0),
    document   TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    comment    TEXT NOT NULL DEFAULT ''
);
