-- Approvals of discounts, price changes and renewals, the decisions taken
-- on them, and the "signed" marks that the signing verification counts.
CREATE TABLE approvals (
    id                      TEXT PRIMARY KEY,
    kind                    TEXT NOT NULL,
    customer                TEXT NOT NULL,
    customer_no             TEXT NOT NULL DEFAULT '',
    contract_no             TEXT NOT NULL DEFAULT '',
    product                 TEXT NOT NULL DEFAULT '',
    product_no              TEXT NOT NULL DEFAULT '',
    requested_by            TEXT NOT NULL,
    amount                  TEXT NOT NULL,
    currency                TEXT NOT NULL,
    amount_in_rule_currency TEXT,
    rule_currency           TEXT NOT NULL DEFAULT '',
    exchange_rate           TEXT,
    new_unit_price          TEXT,
    reason                  TEXT NOT NULL DEFAULT '',
    route                   TEXT NOT NULL DEFAULT '',
    state                   TEXT NOT NULL,
    current_level           INTEGER NOT NULL DEFAULT 0,
    level_count             INTEGER NOT NULL DEFAULT 0,
    approver                TEXT NOT NULL DEFAULT '',
    escalated_to            TEXT NOT NULL DEFAULT '',
    due_at                  TIMESTAMP,
    erp_document_no         TEXT NOT NULL DEFAULT '',
    erp_error               TEXT NOT NULL DEFAULT '',
    failure                 TEXT NOT NULL DEFAULT '',
    rules_version           INTEGER NOT NULL DEFAULT 0,
    workflow_id             TEXT NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    finished_at             TIMESTAMP
);
--bun:split
CREATE INDEX approvals_state ON approvals (state, id);
--bun:split
CREATE TABLE approval_decisions (
    approval_id TEXT NOT NULL REFERENCES approvals (id),
    seq         INTEGER NOT NULL,
    level       INTEGER NOT NULL,
    decided_by  TEXT NOT NULL,
    decision    TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    decided_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (approval_id, seq)
);
--bun:split
CREATE TABLE signed_marks (
    contract_no  TEXT PRIMARY KEY,
    customer     TEXT NOT NULL,
    account_name TEXT NOT NULL DEFAULT '',
    rep          TEXT NOT NULL,
    source       TEXT NOT NULL,
    marked_at    TIMESTAMP NOT NULL,
    recorded_at  TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX signed_marks_customer ON signed_marks (customer, marked_at);
