-- Tasks for named people and the notifications sent about them. Both are
-- written by key, so a retried or replayed activity finds its row instead
-- of adding one. Timestamps are UTC.
CREATE TABLE tasks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "key"         TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    assignee      TEXT NOT NULL,
    assignee_role TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL,
    workflow_id   TEXT NOT NULL DEFAULT '',
    activity_ref  TEXT NOT NULL DEFAULT '',
    template      TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL DEFAULT '',
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    link          TEXT NOT NULL DEFAULT '',
    due_at        TIMESTAMPTZ,
    state         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ,
    completed_by  TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    cancelled_at  TIMESTAMPTZ,
    resolution    TEXT NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX tasks_assignee_state ON tasks (assignee, state);
--bun:split
CREATE INDEX tasks_subject_state ON tasks (subject, state);
--bun:split
CREATE TABLE notifications (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    BIGINT NOT NULL REFERENCES tasks (id),
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    "key"      TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX notifications_task ON notifications (task_id);
