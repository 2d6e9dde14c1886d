-- Meetings, calls and other contacts with a customer, recorded by the
-- lead contact endpoint and by people through the API. The high-risk
-- intervention measure counts the meetings and calls that followed a red
-- tag within 72 hours.
CREATE TABLE customer_interactions (
    id          BIGSERIAL PRIMARY KEY,
    customer    TEXT NOT NULL,
    customer_no TEXT NOT NULL,
    channel     TEXT NOT NULL,
    by_person   TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    recorded_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX customer_interactions_customer ON customer_interactions (customer_no, at);
