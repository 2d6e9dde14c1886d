CREATE TABLE allocation_audit (
    id          BIGSERIAL PRIMARY KEY,
    line_id     TEXT NOT NULL REFERENCES bank_lines (line_id),
    contract_no TEXT NOT NULL,
    amount      NUMERIC(20,2) NOT NULL,
    action      TEXT NOT NULL,
    by_person   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX allocation_audit_line ON allocation_audit (line_id, at);
