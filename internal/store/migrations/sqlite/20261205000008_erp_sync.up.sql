-- Customers pulled from the ERP by the SyncERP workflow, keyed by the ERP
-- customer number. They stay apart from accounts, which the CRM import
-- owns and keys by name, so neither source overwrites the other.
CREATE TABLE erp_customers (
    number          TEXT PRIMARY KEY,
    erp_id          INTEGER NOT NULL,
    name            TEXT NOT NULL,
    tax_no          TEXT NOT NULL DEFAULT '',
    document_status TEXT NOT NULL DEFAULT '',
    erp_modified_at TIMESTAMP NOT NULL,
    synced_at       TIMESTAMP NOT NULL
);
--bun:split
-- The status of ERP documents (sales orders, receivables and so on) as
-- the last sync saw them.
CREATE TABLE erp_document_states (
    form_id         TEXT NOT NULL,
    number          TEXT NOT NULL,
    erp_id          INTEGER NOT NULL,
    document_status TEXT NOT NULL,
    contract_no     TEXT NOT NULL DEFAULT '',
    erp_modified_at TIMESTAMP NOT NULL,
    synced_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (form_id, number)
);
--bun:split
-- One watermark per sync: the ERP modification time and id of the last
-- stored record. A sync reads only records after it.
CREATE TABLE sync_cursors (
    name        TEXT PRIMARY KEY,
    modified_at TEXT NOT NULL DEFAULT '',
    last_id     INTEGER NOT NULL DEFAULT 0,
    stored      INTEGER NOT NULL DEFAULT 0,
    dead        INTEGER NOT NULL DEFAULT 0,
    last_run_at TIMESTAMP,
    updated_at  TIMESTAMP NOT NULL
);
--bun:split
-- Records a sync could not apply, with the record as the ERP sent it.
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sync_name   TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    context     TEXT NOT NULL,
    error       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    state       TEXT NOT NULL DEFAULT 'open',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX dead_letters_open_key ON dead_letters (sync_name, record_key) WHERE state <> 'resolved';
--bun:split
CREATE INDEX dead_letters_state ON dead_letters (state, id);
--bun:split
CREATE TABLE dlq_audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    dead_letter_id INTEGER NOT NULL REFERENCES dead_letters (id),
    by_person      TEXT NOT NULL,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL DEFAULT '',
    at             TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX dlq_audit_dead_letter ON dlq_audit (dead_letter_id, at);
