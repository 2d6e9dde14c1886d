package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ErrLeadClosed means the lead is closed, so it can no longer be
// contacted or reassigned.
var ErrLeadClosed = errors.New("lead is closed")

// ErrLeadExists means a lead with the same opportunity id is stored
// already.
var ErrLeadExists = errors.New("lead exists already")

// GetLead returns the lead with the opportunity id, or ErrNotFound.
func (s *Store) GetLead(ctx context.Context, id string) (*Lead, error) {
	return getLead(ctx, s.DB, id)
}

func getLead(ctx context.Context, db bun.IDB, id string) (*Lead, error) {
	lead := new(Lead)
	err := db.NewSelect().Model(lead).Where("opportunity_id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("lead %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read lead %s: %w", id, err)
	}
	return lead, nil
}

// LeadFilter selects leads for listing. Empty fields select every lead.
type LeadFilter struct {
	// State is a lead state: open, contacted or closed.
	State string
	// SLAState is a state of the SLA clock, e.g. overdue.
	SLAState string
	// Rep is the assigned sales agent.
	Rep string
	// After is the last opportunity id of the previous page.
	After string
	Limit int
}

// ListLeads returns leads ordered by opportunity id.
func (s *Store) ListLeads(ctx context.Context, filter LeadFilter) ([]Lead, error) {
	var leads []Lead
	q := s.DB.NewSelect().Model(&leads)
	if filter.State != "" {
		q = q.Where("state = ?", filter.State)
	}
	if filter.SLAState != "" {
		q = q.Where("sla_state = ?", filter.SLAState)
	}
	if filter.Rep != "" {
		q = q.Where("sales_agent = ?", filter.Rep)
	}
	q = keysetPage(q, "opportunity_id", false, filter.After, filter.Limit)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list leads: %w", err)
	}
	return leads, nil
}

// InsertLead inserts a new lead. It returns ErrLeadExists, and changes
// nothing, when the opportunity id is stored already.
func (s *Store) InsertLead(ctx context.Context, lead *Lead) error {
	res, err := s.DB.NewInsert().Model(lead).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("insert lead %s: %w", lead.OpportunityID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("lead %s: %w", lead.OpportunityID, ErrLeadExists)
	}
	return nil
}

// GetSalesAgent returns the sales agent with the name, or ErrNotFound.
func (s *Store) GetSalesAgent(ctx context.Context, name string) (*SalesAgent, error) {
	agent := new(SalesAgent)
	err := s.DB.NewSelect().Model(agent).Where("name = ?", name).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sales agent %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read sales agent %s: %w", name, err)
	}
	return agent, nil
}

// Supervisors returns the manager of each named sales agent that the
// sales-team data lists, keyed by agent.
func (s *Store) Supervisors(ctx context.Context, agents []string) (map[string]string, error) {
	managers := make(map[string]string, len(agents))
	for start := 0; start < len(agents); start += batchSize {
		chunk := agents[start:min(start+batchSize, len(agents))]
		var rows []SalesAgent
		if err := s.DB.NewSelect().Model(&rows).Column("name", "manager").
			Where("name IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("read managers of %d sales agents: %w", len(chunk), err)
		}
		for _, row := range rows {
			managers[row.Name] = row.Manager
		}
	}
	return managers, nil
}

// LeadContact is one contact between a rep and a lead's customer.
type LeadContact struct {
	At      time.Time
	By      string
	Channel string
}

// RecordLeadContact records a contact with the lead's customer. The
// earliest contact stays the first contact and the latest the last one,
// so recording the same contact twice, or an older one late, is harmless.
// An open lead becomes contacted; a closed lead stays closed. It returns
// ErrNotFound for an unknown lead.
func RecordLeadContact(ctx context.Context, db bun.IDB, id string, contact LeadContact) error {
	at := contact.At.UTC()
	// UTC times compare correctly as text too, which is how SQLite stores
	// them.
	res, err := db.NewUpdate().Model((*Lead)(nil)).
		Set("first_contact_at = CASE WHEN first_contact_at IS NULL OR first_contact_at > ? THEN ? ELSE first_contact_at END", at, at).
		Set("last_contact_by = CASE WHEN last_contact_at IS NULL OR last_contact_at <= ? THEN ? ELSE last_contact_by END", at, contact.By).
		Set("last_contact_channel = CASE WHEN last_contact_at IS NULL OR last_contact_at <= ? THEN ? ELSE last_contact_channel END", at, contact.Channel).
		Set("last_contact_at = CASE WHEN last_contact_at IS NULL OR last_contact_at <= ? THEN ? ELSE last_contact_at END", at, at).
		Set("state = CASE WHEN state = ? THEN ? ELSE state END", LeadOpen, LeadContacted).
		Set("updated_at = ?", now()).
		Where("opportunity_id = ?", id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record contact with lead %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("lead %s: %w", id, ErrNotFound)
	}
	return nil
}

// ReassignLead assigns a lead that is not closed to rep, whose supervisor
// is supervisor, at the given time. It returns ErrNotFound or
// ErrLeadClosed.
func ReassignLead(ctx context.Context, db bun.IDB, id, rep, supervisor string, at time.Time) error {
	res, err := db.NewUpdate().Model((*Lead)(nil)).
		Set("sales_agent = ?", rep).
		Set("supervisor = ?", supervisor).
		Set("assigned_at = ?", at.UTC()).
		Set("updated_at = ?", now()).
		Where("opportunity_id = ?", id).
		Where("state <> ?", LeadClosed).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("reassign lead %s to %s: %w", id, rep, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := getLead(ctx, db, id); err != nil {
		return err
	}
	return fmt.Errorf("reassign lead %s: %w", id, ErrLeadClosed)
}

// LeadSLA is a workflow's view of a lead's SLA clock.
type LeadSLA struct {
	Kind         string
	State        string
	Rep          string
	RulesVersion int
	StartedAt    *time.Time
	RemindAt     *time.Time
	Deadline     *time.Time
	RemindedAt   *time.Time
	AlertedAt    *time.Time
}

// RecordLeadSLA stores the workflow's view of a lead's SLA clock, replacing
// the previous one. It returns ErrNotFound for an unknown lead.
func RecordLeadSLA(ctx context.Context, db bun.IDB, id string, sla LeadSLA) error {
	res, err := db.NewUpdate().Model((*Lead)(nil)).
		Set("sla_kind = ?", sla.Kind).
		Set("sla_state = ?", sla.State).
		Set("sla_rep = ?", sla.Rep).
		Set("sla_rules_version = ?", sla.RulesVersion).
		Set("sla_started_at = ?", utcPtr(sla.StartedAt)).
		Set("sla_remind_at = ?", utcPtr(sla.RemindAt)).
		Set("sla_deadline = ?", utcPtr(sla.Deadline)).
		Set("reminded_at = ?", utcPtr(sla.RemindedAt)).
		Set("alerted_at = ?", utcPtr(sla.AlertedAt)).
		Set("updated_at = ?", now()).
		Where("opportunity_id = ?", id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record SLA of lead %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("lead %s: %w", id, ErrNotFound)
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// UnstartedLeads returns up to limit leads that are assigned, not closed
// and have no workflow yet, ordered by opportunity id.
func (s *Store) UnstartedLeads(ctx context.Context, limit int) ([]Lead, error) {
	var leads []Lead
	err := s.DB.NewSelect().Model(&leads).
		Where("workflow_started_at IS NULL").
		Where("state <> ?", LeadClosed).
		Where("sales_agent <> ''").
		Order("opportunity_id").
		Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read leads without a workflow: %w", err)
	}
	return leads, nil
}

// LeadStart is a lead workflow that was started, with the rep and the
// supervisor it was started for.
type LeadStart struct {
	ID         string
	WorkflowID string
	Rep        string
	Supervisor string
}

// MarkLeadWorkflowsStarted records that the workflows of the given leads
// run, and the supervisor of a lead that had none recorded. A lead marked
// already keeps its first mark.
func (s *Store) MarkLeadWorkflowsStarted(ctx context.Context, starts []LeadStart, at time.Time) error {
	at = at.UTC()
	for start := 0; start < len(starts); start += batchSize {
		chunk := starts[start:min(start+batchSize, len(starts))]
		err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, ls := range chunk {
				_, err := tx.NewUpdate().Model((*Lead)(nil)).
					Set("workflow_id = ?", ls.WorkflowID).
					Set("workflow_started_at = ?", at).
					Set("workflow_rep = ?", ls.Rep).
					Set("supervisor = CASE WHEN supervisor = '' THEN ? ELSE supervisor END", ls.Supervisor).
					Where("opportunity_id = ?", ls.ID).
					Where("workflow_started_at IS NULL").
					Exec(ctx)
				if err != nil {
					return fmt.Errorf("mark workflow of lead %s started: %w", ls.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LeadsToReassign returns up to limit leads that are not closed and whose
// workflow was last given another rep than the lead's sales agent: a
// reassignment not yet signalled to the workflow.
func (s *Store) LeadsToReassign(ctx context.Context, limit int) ([]Lead, error) {
	var leads []Lead
	err := s.DB.NewSelect().Model(&leads).
		Where("workflow_started_at IS NOT NULL").
		Where("state <> ?", LeadClosed).
		Where("sales_agent <> ''").
		Where("workflow_rep <> sales_agent").
		Order("opportunity_id").
		Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read reassigned leads: %w", err)
	}
	return leads, nil
}

// SetWorkflowRep records that the lead's workflow was given rep, unless
// the lead was reassigned to someone else meanwhile.
func SetWorkflowRep(ctx context.Context, db bun.IDB, id, rep string) error {
	_, err := db.NewUpdate().Model((*Lead)(nil)).
		Set("workflow_rep = ?", rep).
		Where("opportunity_id = ?", id).
		Where("sales_agent = ?", rep).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record rep %s of the workflow of lead %s: %w", rep, id, err)
	}
	return nil
}

// LeadsToCloseWorkflows returns up to limit closed leads whose workflow
// started and has not been signalled the closing.
func (s *Store) LeadsToCloseWorkflows(ctx context.Context, limit int) ([]Lead, error) {
	var leads []Lead
	err := s.DB.NewSelect().Model(&leads).
		Where("state = ?", LeadClosed).
		Where("workflow_started_at IS NOT NULL").
		Where("close_signalled_at IS NULL").
		Order("opportunity_id").
		Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read closed leads with a running workflow: %w", err)
	}
	return leads, nil
}

// MarkCloseSignalled records that the workflows of the given leads were
// signalled that their lead closed.
func (s *Store) MarkCloseSignalled(ctx context.Context, ids []string, at time.Time) error {
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		_, err := s.DB.NewUpdate().Model((*Lead)(nil)).
			Set("close_signalled_at = ?", at.UTC()).
			Where("opportunity_id IN (?)", bun.In(chunk)).
			Where("close_signalled_at IS NULL").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark %d closed leads signalled: %w", len(chunk), err)
		}
	}
	return nil
}
