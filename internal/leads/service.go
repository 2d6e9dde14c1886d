package leads

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// FieldError is a request field ordo cannot use. Unknown is set when the
// value is well formed but names no record in ordo, such as a rep missing
// from the sales-team data.
type FieldError struct {
	Field   string
	Message string
	Unknown bool
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// IsFieldError returns the FieldError in err's chain.
func IsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

// ErrTemporalUnavailable means the lead's workflow could not be signalled
// because Temporal did not respond. The change is stored, so the caller
// may retry.
var ErrTemporalUnavailable = errors.New("temporal unavailable")

// maxFutureSkew is how far a reported contact time may lie ahead of ordo's
// clock, to allow for a client whose clock runs a little fast.
const maxFutureSkew = 5 * time.Minute

// leadIDPattern is the shape of a lead id: the CRM's opportunity ids are
// eight letters and digits.
var leadIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Service performs the lead operations of the API: it writes the database
// first and then signals the lead's workflow.
type Service struct {
	Store   *store.Store
	Client  client.Client
	Starter *Starter
	Logger  *logrus.Logger
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return store.Now()
	}
	return s.Now().UTC().Truncate(time.Microsecond)
}

// NewLead is a lead created through the API.
type NewLead struct {
	ID      string
	Rep     string
	Account string
	Product string
}

// Create stores a new open lead assigned to a rep of the sales-team data
// and starts its workflow. It returns store.ErrLeadExists for a known id.
// A failed start is left to the Starter's next pass.
func (s *Service) Create(ctx context.Context, n NewLead) (*store.Lead, error) {
	n.ID, n.Rep = strings.TrimSpace(n.ID), strings.TrimSpace(n.Rep)
	if !leadIDPattern.MatchString(n.ID) {
		return nil, &FieldError{Field: "id", Message: fmt.Sprintf(
			"lead id %q is invalid: use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit, e.g. the CRM's opportunity id", n.ID)}
	}
	agent, err := s.salesAgent(ctx, "rep", n.Rep)
	if err != nil {
		return nil, err
	}
	now := s.now()
	lead := &store.Lead{
		OpportunityID: n.ID, SalesAgent: agent.Name, Supervisor: agent.Manager,
		AccountName: strings.TrimSpace(n.Account), ProductName: strings.TrimSpace(n.Product),
		Stage: store.StageProspecting, State: store.LeadOpen, AssignedAt: now,
		ContentHash: "api", CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Store.InsertLead(ctx, lead); err != nil {
		return nil, err
	}
	if err := s.Starter.StartLead(ctx, lead); err != nil {
		s.Logger.WithFields(logrus.Fields{logging.KeyLeadID: lead.OpportunityID, logging.KeyError: err}).
			Warn("starting the workflow of a new lead failed; the lead starter retries")
		s.Starter.Kick()
	}
	return s.Store.GetLead(ctx, lead.OpportunityID)
}

// salesAgent returns the named rep of the sales-team data, or a
// FieldError naming field.
func (s *Service) salesAgent(ctx context.Context, field, name string) (*store.SalesAgent, error) {
	if name == "" {
		return nil, &FieldError{Field: field, Message: "is required: name a rep of the sales-team data"}
	}
	agent, err := s.Store.GetSalesAgent(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &FieldError{Field: field, Unknown: true, Message: fmt.Sprintf(
			"rep %q is not in the sales-team data: import the CRM's sales_teams.csv with the rep, or name another rep", name)}
	}
	return agent, err
}

// Contact is a contact between a rep and a lead's customer.
type Contact struct {
	// At is when the contact happened; zero means now.
	At      time.Time
	By      string
	Channel string
}

// ContactResult is the lead after a contact and whether its workflow
// received the signal. A workflow that has ended or has not started yet
// receives none.
type ContactResult struct {
	Lead      *store.Lead
	Signalled bool
}

// RecordContact stores a contact with the lead's customer and signals the
// lead's workflow, which ends the current clock. The store keeps the
// contact even when the workflow has ended. It returns store.ErrNotFound,
// store.ErrLeadClosed, a FieldError, or ErrTemporalUnavailable when the
// contact is stored but the signal failed.
func (s *Service) RecordContact(ctx context.Context, id string, c Contact) (ContactResult, error) {
	lead, err := s.Store.GetLead(ctx, id)
	if err != nil {
		return ContactResult{}, err
	}
	if lead.State == store.LeadClosed {
		return ContactResult{Lead: lead}, fmt.Errorf("lead %s: %w", id, store.ErrLeadClosed)
	}
	now := s.now()
	if c.At.IsZero() {
		c.At = now
	}
	c.At = c.At.UTC().Truncate(time.Microsecond)
	if c.At.After(now.Add(maxFutureSkew)) {
		return ContactResult{Lead: lead}, &FieldError{Field: "at", Message: fmt.Sprintf(
			"contact time %s lies in the future: send when the contact happened, or leave it out for now", c.At.Format(time.RFC3339))}
	}
	c.By = strings.TrimSpace(c.By)
	c.Channel = strings.TrimSpace(c.Channel)

	if err := store.RecordLeadContact(ctx, s.Store.DB, id, store.LeadContact{At: c.At, By: c.By, Channel: c.Channel}); err != nil {
		return ContactResult{Lead: lead}, err
	}
	result := ContactResult{}
	if lead.WorkflowStartedAt != nil {
		signal := workflows.LeadContactedSignal{At: c.At, By: c.By, Channel: c.Channel}
		err := s.Client.SignalWorkflow(ctx, lead.WorkflowID, "", workflows.SignalLeadContacted, signal)
		var notFound *serviceerror.NotFound
		switch {
		case err == nil:
			result.Signalled = true
		case errors.As(err, &notFound):
			// The workflow ended; the stored contact is all there is to do.
		default:
			s.Logger.WithFields(logrus.Fields{logging.KeyLeadID: id, logging.KeyError: err}).Warn("signalling a contact to the lead workflow failed")
			result.Lead, _ = s.Store.GetLead(ctx, id)
			return result, fmt.Errorf("contact with lead %s is stored, but signalling its workflow failed, so retry the request: %w: %v",
				id, ErrTemporalUnavailable, err)
		}
	}
	result.Lead, err = s.Store.GetLead(ctx, id)
	return result, err
}

// ReassignResult is the lead after a reassignment and whether its
// workflow received the signal.
type ReassignResult struct {
	Lead      *store.Lead
	Signalled bool
}

// Reassign gives a lead that is not closed to another rep of the
// sales-team data and signals its workflow, which restarts the clock for
// the new rep. When the signal fails, the Starter's next pass sends it
// again. It returns store.ErrNotFound, store.ErrLeadClosed or a
// FieldError.
func (s *Service) Reassign(ctx context.Context, id, to, by string) (ReassignResult, error) {
	lead, err := s.Store.GetLead(ctx, id)
	if err != nil {
		return ReassignResult{}, err
	}
	if lead.State == store.LeadClosed {
		return ReassignResult{Lead: lead}, fmt.Errorf("lead %s: %w", id, store.ErrLeadClosed)
	}
	agent, err := s.salesAgent(ctx, "to", strings.TrimSpace(to))
	if err != nil {
		return ReassignResult{Lead: lead}, err
	}
	if agent.Name == lead.SalesAgent {
		return ReassignResult{Lead: lead}, nil
	}
	now := s.now()
	if err := store.ReassignLead(ctx, s.Store.DB, id, agent.Name, agent.Manager, now); err != nil {
		return ReassignResult{Lead: lead}, err
	}
	lead.SalesAgent, lead.Supervisor = agent.Name, agent.Manager

	result := ReassignResult{}
	if lead.WorkflowStartedAt != nil {
		signal := workflows.LeadReassignedSignal{
			NewRep: agent.Name, NewSupervisor: agent.Manager, By: orDefault(strings.TrimSpace(by), "api"), At: now,
		}
		result.Signalled, err = SignalReassigned(ctx, s.Client, s.Store, lead, signal)
		if err != nil {
			s.Logger.WithFields(logrus.Fields{logging.KeyLeadID: id, logging.KeyError: err}).
				Warn("signalling a reassignment to the lead workflow failed; the lead starter retries")
			s.Starter.Kick()
		}
	}
	result.Lead, err = s.Store.GetLead(ctx, id)
	return result, err
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}
