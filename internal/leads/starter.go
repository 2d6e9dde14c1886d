// Package leads runs the lead response SLA around ordo's database: it
// starts a LeadSLA workflow for every assigned lead that is not closed,
// signals running workflows about contacts, reassignments and closings,
// and serves the API's lead operations.
//
// The database is written first and the workflow signalled afterwards. The
// next pass of the Starter repairs a start, reassignment or closing lost
// in between, because the process died or Temporal was unreachable: it
// compares the database with what it records as sent to the workflow.
package leads

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/passloop"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// passBatch is the number of leads read per query of a pass.
const passBatch = 500

// Search attribute keys set when a lead workflow starts.
var attrCustomer = temporal.NewSearchAttributeKeyKeyword("OrdoCustomer")

// BuildInput assembles the workflow input of a lead from its stored row.
//
// A lead with a first contact, or in the Engaging stage of the CRM, gets
// the follow-up rule; any other lead the first-contact rule. The clock
// starts at the latest of the assignment, the first time ordo stored the
// lead and the last contact. Imported Engaging deals carry engage dates
// from years ago, and counting from those would make every imported lead
// overdue at once, so their clock starts when ordo imported them.
func BuildInput(lead *store.Lead, supervisor string, cfg *config.Config) workflows.LeadSLAInput {
	kind := store.LeadSLAFirstContact
	if lead.FirstContactAt != nil || lead.Stage == store.StageEngaging {
		kind = store.LeadSLAFollowUp
	}
	start := laterOf(lead.AssignedAt, lead.CreatedAt)
	if lead.LastContactAt != nil {
		start = laterOf(start, *lead.LastContactAt)
	}
	return workflows.LeadSLAInput{
		LeadID: lead.OpportunityID, Rep: lead.SalesAgent, Supervisor: supervisor,
		Account: lead.AccountName, Product: lead.ProductName,
		Kind: kind, ClockStart: start.UTC(),
		Options: workflows.LeadSLAOptions{SearchAttributes: cfg.Temporal.SearchAttributes},
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Starter starts lead workflows and signals them the reassignments and
// closings that the database contains and they have not received.
type Starter struct {
	Store  *store.Store
	Client client.Client
	Config *config.Config
	Logger *logrus.Logger
	// Parallelism bounds concurrent start calls; 0 means 64.
	Parallelism int
	// Now is the clock, replaceable in tests.
	Now func() time.Time

	loop passloop.Loop
	once sync.Once
	// pass serialises passes, so the background loop and an import do not
	// start the same leads at once.
	pass sync.Mutex
}

func (s *Starter) init() {
	s.once.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
	})
}

// Kick requests a pass of the running loop now.
func (s *Starter) Kick() { s.loop.Kick() }

// Run makes a pass every interval and on Kick, until ctx ends.
func (s *Starter) Run(ctx context.Context, interval time.Duration) {
	s.init()
	s.loop.Run(ctx, interval, s.Logger, "lead workflow pass", func(ctx context.Context) error {
		_, err := s.Pass(ctx)
		return err
	})
}

// PassResult counts what one pass did.
type PassResult struct {
	Started    int
	Reassigned int
	Closed     int
}

// Pass starts the workflows of leads that have none, then signals
// running workflows the reassignments and closings they missed. It is safe
// to repeat.
func (s *Starter) Pass(ctx context.Context) (PassResult, error) {
	var result PassResult
	var err error
	result.Started, err = s.StartPendingWithProgress(ctx, nil)
	if err != nil {
		return result, err
	}
	s.pass.Lock()
	defer s.pass.Unlock()
	if result.Reassigned, err = s.deliverReassignments(ctx); err != nil {
		return result, err
	}
	result.Closed, err = s.deliverClosings(ctx)
	return result, err
}

// StartPendingWithProgress starts the workflow of every assigned lead that
// is not closed and has none, and returns how many it started. progress,
// when set, receives the running count after each batch. A workflow that
// exists already counts as started.
func (s *Starter) StartPendingWithProgress(ctx context.Context, progress func(started int)) (int, error) {
	s.init()
	s.pass.Lock()
	defer s.pass.Unlock()
	total := 0
	for {
		pending, err := s.Store.UnstartedLeads(ctx, passBatch)
		if err != nil {
			return total, err
		}
		if len(pending) == 0 {
			return total, nil
		}
		started, err := s.startBatch(ctx, pending)
		total += len(started)
		if markErr := s.Store.MarkLeadWorkflowsStarted(ctx, started, s.Now()); markErr != nil {
			return total, markErr
		}
		if progress != nil {
			progress(total)
		}
		if err != nil {
			return total, err
		}
	}
}

func (s *Starter) startBatch(ctx context.Context, leads []store.Lead) ([]store.LeadStart, error) {
	supervisors, err := s.supervisors(ctx, leads)
	if err != nil {
		return nil, err
	}
	parallelism := s.Parallelism
	if parallelism <= 0 {
		parallelism = 64
	}
	var (
		mu       sync.Mutex
		started  []store.LeadStart
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, parallelism)
	)
	for i := range leads {
		lead := &leads[i]
		supervisor := supervisors[lead.OpportunityID]
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := s.start(ctx, lead, supervisor)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			started = append(started, store.LeadStart{
				ID: lead.OpportunityID, WorkflowID: numbering.LeadWorkflowID(lead.OpportunityID),
				Rep: lead.SalesAgent, Supervisor: supervisor,
			})
		}()
	}
	wg.Wait()
	return started, firstErr
}

// supervisors returns the supervisor of each lead: the one recorded with
// the lead, else its rep's manager in the sales-team data, keyed by lead.
func (s *Starter) supervisors(ctx context.Context, leads []store.Lead) (map[string]string, error) {
	var reps []string
	for _, lead := range leads {
		if lead.Supervisor == "" {
			reps = append(reps, lead.SalesAgent)
		}
	}
	managers, err := s.Store.Supervisors(ctx, reps)
	if err != nil {
		return nil, err
	}
	result := make(map[string]string, len(leads))
	for _, lead := range leads {
		result[lead.OpportunityID] = lead.Supervisor
		if lead.Supervisor == "" {
			result[lead.OpportunityID] = managers[lead.SalesAgent]
		}
	}
	return result, nil
}

// start starts the workflow of one lead. An existing workflow with the
// same id, running or closed, is left alone and counts as success: a
// lead's workflow never starts twice, so a second import starts nothing.
func (s *Starter) start(ctx context.Context, lead *store.Lead, supervisor string) error {
	in := BuildInput(lead, supervisor, s.Config)
	opts := client.StartWorkflowOptions{
		ID:                    numbering.LeadWorkflowID(lead.OpportunityID),
		TaskQueue:             s.Config.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		EnableEagerStart:      true,
	}
	if s.Config.Temporal.SearchAttributes {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			workflows.OrdoKind.ValueSet(workflows.LeadKind),
			workflows.OrdoState.ValueSet(store.SLAStarting),
			attrCustomer.ValueSet(lead.AccountName),
		)
	}
	_, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.LeadSLAName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	if err != nil {
		s.Logger.WithFields(logrus.Fields{logging.KeyLeadID: lead.OpportunityID, logging.KeyError: err}).
			Warn("starting lead workflow failed")
		return fmt.Errorf("start workflow of lead %s: %w", lead.OpportunityID, err)
	}
	return nil
}

// StartLead starts the workflow of one lead now and records it, for a
// lead created through the API. A failure leaves the lead to the next
// pass.
func (s *Starter) StartLead(ctx context.Context, lead *store.Lead) error {
	s.init()
	supervisors, err := s.supervisors(ctx, []store.Lead{*lead})
	if err != nil {
		return err
	}
	supervisor := supervisors[lead.OpportunityID]
	if err := s.start(ctx, lead, supervisor); err != nil {
		return err
	}
	return s.Store.MarkLeadWorkflowsStarted(ctx, []store.LeadStart{{
		ID: lead.OpportunityID, WorkflowID: numbering.LeadWorkflowID(lead.OpportunityID),
		Rep: lead.SalesAgent, Supervisor: supervisor,
	}}, s.Now())
}

// deliverReassignments signals every running workflow whose lead was
// reassigned since its last signal, e.g. by a CRM import that changed the
// rep, and returns how many it signalled.
func (s *Starter) deliverReassignments(ctx context.Context) (int, error) {
	leads, err := s.Store.LeadsToReassign(ctx, passBatch)
	if err != nil || len(leads) == 0 {
		return 0, err
	}
	supervisors, err := s.supervisors(ctx, leads)
	if err != nil {
		return 0, err
	}
	delivered := 0
	for i := range leads {
		lead := &leads[i]
		signal := workflows.LeadReassignedSignal{
			NewRep: lead.SalesAgent, NewSupervisor: supervisors[lead.OpportunityID], By: "ordo", At: s.Now().UTC(),
		}
		if _, err := SignalReassigned(ctx, s.Client, s.Store, lead, signal); err != nil {
			return delivered, err
		}
		delivered++
	}
	return delivered, nil
}

// deliverClosings signals every started workflow whose lead closed since
// and returns how many it signalled. A workflow that has ended counts as
// signalled.
func (s *Starter) deliverClosings(ctx context.Context) (int, error) {
	leads, err := s.Store.LeadsToCloseWorkflows(ctx, passBatch)
	if err != nil || len(leads) == 0 {
		return 0, err
	}
	var signalled []string
	var failure error
	for _, lead := range leads {
		signal := workflows.LeadClosedSignal{At: lead.UpdatedAt.UTC(), Reason: "the deal was won or lost in the CRM"}
		err := s.Client.SignalWorkflow(ctx, numbering.LeadWorkflowID(lead.OpportunityID), "", workflows.SignalLeadClosed, signal)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			failure = fmt.Errorf("signal the closing to the workflow of lead %s: %w", lead.OpportunityID, err)
			break
		}
		signalled = append(signalled, lead.OpportunityID)
	}
	if err := s.Store.MarkCloseSignalled(ctx, signalled, s.Now()); err != nil {
		return 0, err
	}
	return len(signalled), failure
}

// SignalReassigned signals a lead's workflow its new rep, records the
// signal, and reports whether the workflow received it. A workflow that
// has ended counts as signalled, because it has no clock to restart.
func SignalReassigned(ctx context.Context, c client.Client, st *store.Store, lead *store.Lead, signal workflows.LeadReassignedSignal) (bool, error) {
	err := c.SignalWorkflow(ctx, numbering.LeadWorkflowID(lead.OpportunityID), "", workflows.SignalLeadReassigned, signal)
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return false, fmt.Errorf("signal rep %s to the workflow of lead %s: %w", signal.NewRep, lead.OpportunityID, err)
	}
	return err == nil, store.SetWorkflowRep(ctx, st.DB, lead.OpportunityID, signal.NewRep)
}
