-- Amounts are TEXT in SQLite: a NUMERIC column would turn "1054.10" into a
-- binary float. Timestamps are UTC.
CREATE TABLE accounts (
    name             TEXT PRIMARY KEY,
    customer_no      TEXT NOT NULL UNIQUE,
    sector           TEXT NOT NULL DEFAULT '',
    year_established INTEGER,
    revenue_musd     TEXT,
    employees        INTEGER,
    office_location  TEXT NOT NULL DEFAULT '',
    subsidiary_of    TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE products (
    name         TEXT PRIMARY KEY,
    product_no   TEXT NOT NULL UNIQUE,
    series       TEXT NOT NULL DEFAULT '',
    sales_price  TEXT,
    content_hash TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE sales_agents (
    name            TEXT PRIMARY KEY,
    manager         TEXT NOT NULL DEFAULT '',
    regional_office TEXT NOT NULL DEFAULT '',
    content_hash    TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE opportunities (
    opportunity_id TEXT PRIMARY KEY,
    sales_agent    TEXT NOT NULL,
    product_name   TEXT NOT NULL,
    account_name   TEXT NOT NULL DEFAULT '',
    deal_stage     TEXT NOT NULL,
    engage_date    DATE,
    close_date     DATE,
    close_value    TEXT,
    currency       TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE leads (
    opportunity_id   TEXT PRIMARY KEY,
    sales_agent      TEXT NOT NULL,
    account_name     TEXT NOT NULL DEFAULT '',
    product_name     TEXT NOT NULL DEFAULT '',
    stage            TEXT NOT NULL,
    state            TEXT NOT NULL,
    assigned_at      TIMESTAMP NOT NULL,
    first_contact_at TIMESTAMP,
    content_hash     TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX leads_agent_state ON leads (sales_agent, state);
--bun:split
CREATE TABLE contracts (
    contract_no         TEXT PRIMARY KEY,
    opportunity_id      TEXT UNIQUE,
    account_name        TEXT NOT NULL,
    customer_no         TEXT NOT NULL,
    product_name        TEXT NOT NULL,
    product_no          TEXT NOT NULL,
    sales_agent         TEXT NOT NULL DEFAULT '',
    quantity            TEXT NOT NULL,
    unit_price          TEXT NOT NULL,
    amount              TEXT NOT NULL,
    currency            TEXT NOT NULL,
    tax_rate            TEXT NOT NULL,
    tax_code            TEXT NOT NULL,
    signed_on           DATE NOT NULL,
    source              TEXT NOT NULL,
    state               TEXT NOT NULL,
    state_reason        TEXT NOT NULL DEFAULT '',
    paid_amount         TEXT NOT NULL DEFAULT '0',
    workflow_id         TEXT NOT NULL,
    workflow_started_at TIMESTAMP,
    closed_at           TIMESTAMP,
    content_hash        TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX contracts_state ON contracts (state);
--bun:split
CREATE INDEX contracts_unstarted ON contracts (workflow_started_at) WHERE workflow_started_at IS NULL;
--bun:split
CREATE INDEX contracts_customer ON contracts (customer_no);
--bun:split
CREATE TABLE contract_steps (
    contract_no  TEXT NOT NULL REFERENCES contracts (contract_no),
    step         TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    state        TEXT NOT NULL,
    external_no  TEXT NOT NULL DEFAULT '',
    external_id  TEXT NOT NULL DEFAULT '',
    amount       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    detail       TEXT NOT NULL DEFAULT '',
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (contract_no, step)
);
--bun:split
CREATE TABLE payment_instalments (
    contract_no TEXT NOT NULL REFERENCES contracts (contract_no),
    seq         INTEGER NOT NULL,
    label       TEXT NOT NULL,
    trigger_on  TEXT NOT NULL,
    ratio       TEXT NOT NULL,
    amount      TEXT NOT NULL,
    paid_amount TEXT NOT NULL DEFAULT '0',
    paid_at     TIMESTAMP,
    PRIMARY KEY (contract_no, seq)
);
--bun:split
CREATE TABLE bank_lines (
    line_id          TEXT PRIMARY KEY,
    business_date    TEXT NOT NULL,
    amount           TEXT NOT NULL,
    amount_text      TEXT NOT NULL,
    currency         TEXT NOT NULL DEFAULT '',
    payer_name       TEXT NOT NULL DEFAULT '',
    payer_account    TEXT NOT NULL DEFAULT '',
    remark           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    allocated_amount TEXT NOT NULL DEFAULT '0',
    note             TEXT NOT NULL DEFAULT '',
    fetched_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX bank_lines_status ON bank_lines (status);
--bun:split
CREATE TABLE allocations (
    id           TEXT PRIMARY KEY,
    line_id      TEXT NOT NULL REFERENCES bank_lines (line_id),
    contract_no  TEXT NOT NULL REFERENCES contracts (contract_no),
    amount       TEXT NOT NULL,
    method       TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT 'matcher',
    created_at   TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
--bun:split
CREATE INDEX allocations_undelivered ON allocations (delivered_at) WHERE delivered_at IS NULL;
--bun:split
CREATE INDEX allocations_contract ON allocations (contract_no);
--bun:split
CREATE TABLE attention_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    reference   TEXT NOT NULL,
    contract_no TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL,
    amount      TEXT,
    created_at  TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by TEXT NOT NULL DEFAULT '',
    resolution  TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, reference)
);
--bun:split
CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    contract_no TEXT NOT NULL DEFAULT '',
    body_sha256 TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE import_runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '{}',
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
--bun:split
CREATE TABLE import_issues (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL REFERENCES import_runs (id),
    file        TEXT NOT NULL,
    line        INTEGER NOT NULL,
    column_name TEXT NOT NULL DEFAULT '',
    value       TEXT NOT NULL DEFAULT '',
    severity    TEXT NOT NULL,
    action      TEXT NOT NULL,
    message     TEXT NOT NULL
);
--bun:split
CREATE INDEX import_issues_run ON import_issues (run_id);
--bun:split
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
