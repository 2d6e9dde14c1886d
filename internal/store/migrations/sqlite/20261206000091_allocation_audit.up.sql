CREATE TABLE allocation_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id     TEXT NOT NULL REFERENCES bank_lines (line_id),
    contract_no TEXT NOT NULL,
    amount      TEXT NOT NULL,
    action      TEXT NOT NULL,
    by_person   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX allocation_audit_line ON allocation_audit (line_id, at);
