-- Renewal reminders and cross-department tickets. A contract's end date
-- comes from the contract-signed event or the API; renewal_state follows
-- its renewal from pending (recorded, not yet planned) to a final state.
ALTER TABLE contracts ADD COLUMN end_date DATE;
--bun:split
ALTER TABLE contracts ADD COLUMN renewal_state TEXT NOT NULL DEFAULT 'pending';
--bun:split
ALTER TABLE contracts ADD COLUMN renewal_remind_at TIMESTAMPTZ;
--bun:split
CREATE INDEX contracts_renewal_pending ON contracts (created_at) WHERE renewal_state = 'pending';
--bun:split
-- The customer's contact receives the renewal SMS. The CRM export has no
-- contacts, so both are empty until an event or the API sets them.
ALTER TABLE accounts ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE accounts ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '';
--bun:split
CREATE TABLE customer_tags (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer       TEXT NOT NULL,
    customer_no    TEXT NOT NULL,
    tag            TEXT NOT NULL,
    color          TEXT NOT NULL,
    source         TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    tagged_at      TIMESTAMPTZ NOT NULL,
    cleared_at     TIMESTAMPTZ,
    cleared_reason TEXT NOT NULL DEFAULT '',
    UNIQUE (customer_no, tag, source)
);
--bun:split
CREATE INDEX customer_tags_open ON customer_tags (customer_no) WHERE cleared_at IS NULL;
--bun:split
-- Ticket ids are random (TK- and ten hex digits), not a sequence, because
-- a ticket's workflow id derives from its id and must not meet the
-- workflow of an earlier ticket after the database was recreated.
CREATE TABLE tickets (
    id                  TEXT PRIMARY KEY,
    customer            TEXT NOT NULL,
    customer_no         TEXT NOT NULL,
    title               TEXT NOT NULL,
    body                TEXT NOT NULL DEFAULT '',
    sender              TEXT NOT NULL,
    routed_to           TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL,
    rules_version       INTEGER NOT NULL DEFAULT 0,
    respond_by          TIMESTAMPTZ,
    answer              TEXT NOT NULL DEFAULT '',
    answered_by         TEXT NOT NULL DEFAULT '',
    return_reason       TEXT NOT NULL DEFAULT '',
    returned_by         TEXT NOT NULL DEFAULT '',
    workflow_started_at TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    answered_at         TIMESTAMPTZ,
    returned_at         TIMESTAMPTZ,
    escalated_at        TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX tickets_state ON tickets (state, created_at);
--bun:split
CREATE INDEX tickets_customer ON tickets (customer_no);
--bun:split
CREATE INDEX tickets_unstarted ON tickets (created_at) WHERE workflow_started_at IS NULL;
--bun:split
CREATE TABLE customer_freezes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer    TEXT NOT NULL,
    customer_no TEXT NOT NULL,
    reason      TEXT NOT NULL,
    ticket_id   TEXT NOT NULL UNIQUE REFERENCES tickets (id),
    frozen_at   TIMESTAMPTZ NOT NULL,
    lifted_at   TIMESTAMPTZ,
    lifted_by   TEXT NOT NULL DEFAULT '',
    lift_reason TEXT NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX customer_freezes_open ON customer_freezes (customer_no) WHERE lifted_at IS NULL;
