-- One row per SMS the SMS channel sends: a notification key to one phone
-- number. The row exists before the request leaves, so a retry after a
-- timeout or a restart finds it and checks with the provider instead of
-- sending a second SMS.
CREATE TABLE sms_sends (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL,
    phone        TEXT NOT NULL,
    provider     TEXT NOT NULL,
    out_id       TEXT NOT NULL,
    template     TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    provider_id  TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    attempted_at TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX sms_sends_key_phone ON sms_sends (key, phone);
--bun:split
CREATE INDEX sms_sends_state ON sms_sends (state, updated_at);
