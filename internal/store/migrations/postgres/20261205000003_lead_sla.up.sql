-- The lead response SLA: each lead that is not closed runs a LeadSLA
-- workflow. workflow_id, workflow_started_at, workflow_rep and
-- close_signalled_at record what ordo sent the workflow, so a pass of the
-- lead starter can repair a lost start or signal. The sla_* columns,
-- reminded_at and alerted_at are the workflow's own view, written by its
-- activities. Timestamps are UTC.
ALTER TABLE leads ADD COLUMN supervisor TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN last_contact_at TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN last_contact_by TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN last_contact_channel TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN workflow_id TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN workflow_started_at TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN workflow_rep TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN close_signalled_at TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN sla_kind TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN sla_state TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN sla_rep TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leads ADD COLUMN sla_rules_version INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE leads ADD COLUMN sla_started_at TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN sla_remind_at TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN sla_deadline TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN reminded_at TIMESTAMPTZ;
--bun:split
ALTER TABLE leads ADD COLUMN alerted_at TIMESTAMPTZ;
--bun:split
CREATE INDEX leads_unstarted ON leads (workflow_started_at) WHERE workflow_started_at IS NULL;
--bun:split
CREATE INDEX leads_sla_state ON leads (sla_state);
