-- Amounts are NUMERIC and timestamps TIMESTAMPTZ in UTC.
CREATE TABLE accounts (
    name             TEXT PRIMARY KEY,
    customer_no      TEXT NOT NULL UNIQUE,
    sector           TEXT NOT NULL DEFAULT '',
    year_established INTEGER,
    revenue_musd     NUMERIC(20,4),
    employees        INTEGER,
    office_location  TEXT NOT NULL DEFAULT '',
    subsidiary_of    TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE products (
    name         TEXT PRIMARY KEY,
    product_no   TEXT NOT NULL UNIQUE,
    series       TEXT NOT NULL DEFAULT '',
    sales_price NUMERIC(20,2),
    content_hash TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE sales_agents (
    name            TEXT PRIMARY KEY,
    manager         TEXT NOT NULL DEFAULT '',
    regional_office TEXT NOT NULL DEFAULT '',
    content_hash    TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
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
    close_value NUMERIC(20,2),
    currency       TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE leads (
    opportunity_id   TEXT PRIMARY KEY,
    sales_agent      TEXT NOT NULL,
    account_name     TEXT NOT NULL DEFAULT '',
    product_name     TEXT NOT NULL DEFAULT '',
    stage            TEXT NOT NULL,
    state            TEXT NOT NULL,
    assigned_at      TIMESTAMPTZ NOT NULL,
    first_contact_at TIMESTAMPTZ,
    content_hash     TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
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
    quantity            NUMERIC(24,13) NOT NULL,
    unit_price          NUMERIC(26,13) NOT NULL,
    amount NUMERIC(20,2) NOT NULL,
    currency            TEXT NOT NULL,
    tax_rate            NUMERIC(24,13) NOT NULL,
    tax_code            TEXT NOT NULL,
    signed_on           DATE NOT NULL,
    source              TEXT NOT NULL,
    state               TEXT NOT NULL,
    state_reason        TEXT NOT NULL DEFAULT '',
    paid_amount NUMERIC(20,2) NOT NULL DEFAULT 0,
    workflow_id         TEXT NOT NULL,
    workflow_started_at TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    content_hash        TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
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
    amount       NUMERIC(20,2),
    attempts     INTEGER NOT NULL DEFAULT 0,
    detail       TEXT NOT NULL DEFAULT '',
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (contract_no, step)
);
--bun:split
CREATE TABLE payment_instalments (
    contract_no TEXT NOT NULL REFERENCES contracts (contract_no),
    seq         INTEGER NOT NULL,
    label       TEXT NOT NULL,
    trigger_on  TEXT NOT NULL,
    ratio       NUMERIC(24,13) NOT NULL,
    amount NUMERIC(20,2) NOT NULL,
    paid_amount NUMERIC(20,2) NOT NULL DEFAULT 0,
    paid_at     TIMESTAMPTZ,
    PRIMARY KEY (contract_no, seq)
);
--bun:split
CREATE TABLE bank_lines (
    line_id          TEXT PRIMARY KEY,
    business_date    TEXT NOT NULL,
    amount NUMERIC(20,2) NOT NULL,
    amount_text      TEXT NOT NULL,
    currency         TEXT NOT NULL DEFAULT '',
    payer_name       TEXT NOT NULL DEFAULT '',
    payer_account    TEXT NOT NULL DEFAULT '',
    remark           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    allocated_amount NUMERIC(20,2) NOT NULL DEFAULT 0,
    note             TEXT NOT NULL DEFAULT '',
    fetched_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX bank_lines_status ON bank_lines (status);
--bun:split
CREATE TABLE allocations (
    id           TEXT PRIMARY KEY,
    line_id      TEXT NOT NULL REFERENCES bank_lines (line_id),
    contract_no  TEXT NOT NULL REFERENCES contracts (contract_no),
    amount NUMERIC(20,2) NOT NULL,
    method       TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT 'matcher',
    created_at   TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
--bun:split
CREATE INDEX allocations_undelivered ON allocations (delivered_at) WHERE delivered_at IS NULL;
--bun:split
CREATE INDEX allocations_contract ON allocations (contract_no);
--bun:split
CREATE TABLE attention_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL,
    reference   TEXT NOT NULL,
    contract_no TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL,
    amount NUMERIC(20,2),
    created_at  TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
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
    received_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE import_runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '{}',
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
--bun:split
CREATE TABLE import_issues (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    updated_at TIMESTAMPTZ NOT NULL
);
