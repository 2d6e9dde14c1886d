// Package renewals plans the renewal of recorded contracts and starts,
// moves, acts on and ends their renewal workflows.
//
// A contract is recorded with renewal state pending, by the CRM import or
// the contract-signed event. The planner takes its end date, or else its
// signing date plus the rules' default term, and records one of four
// outcomes:
//
//   - expired: the end date passed before ordo knew the contract, as for
//     the CRM export's 2017 contracts. No workflow starts and no reminder
//     is sent.
//   - none: no end date and no default term.
//   - cancelled: the contract was cancelled.
//   - scheduled: the planner started the contract's renewal workflow.
//
// A pass that fails leaves the contract pending, so the next pass of the
// loop picks it up.
package renewals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/passloop"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// Errors that the API turns into client errors.
var (
	// ErrContractCancelled means the contract was cancelled, so it has no
	// renewal to change.
	ErrContractCancelled = errors.New("contract is cancelled")
	// ErrNotRunning means no renewal workflow runs for the contract.
	ErrNotRunning = errors.New("no renewal workflow runs for the contract")
)

// DateError rejects an end date that a renewal cannot use.
type DateError struct {
	Field   string
	Message string
}

func (e *DateError) Error() string { return e.Field + ": " + e.Message }

// RulesSource returns a version of the rules; activities.RulesActivities
// is one.
type RulesSource interface {
	Rules(ctx context.Context, in activities.RulesRequest) (activities.RulesVersion, error)
}

// Starter plans pending renewals and drives renewal workflows.
type Starter struct {
	Store     *store.Store
	Client    client.Client
	Rules     RulesSource
	TaskQueue string
	Logger    *logrus.Logger
	// Now is the clock, replaceable in tests; nil uses time.Now.
	Now func() time.Time

	loop passloop.Loop
	// pass serialises planning passes, so the loop and a kick do not start
	// the same contracts at once.
	pass sync.Mutex
}

func (s *Starter) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Kick wakes the running loop to plan pending renewals now.
func (s *Starter) Kick() { s.loop.Kick() }

// Run plans pending renewals every interval and on Kick, until ctx ends.
// A failing pass is logged as a warning when its error changes and at
// debug level while it repeats, so an unreadable rules store does not
// flood the log every interval.
func (s *Starter) Run(ctx context.Context, interval time.Duration) {
	s.loop.Run(ctx, interval, s.Logger, "planning pending contract renewals", s.safePass)
}

// safePass runs one planning pass and turns a panic of the rules source
// into an error, so a broken rules source does not end the process.
func (s *Starter) safePass(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("planning pass panicked: %v", p)
		}
	}()
	_, err = s.PlanPending(ctx)
	return err
}

// Decision is the planner's outcome for one pending contract.
type Decision struct {
	// State is RenewalScheduled (start a workflow), RenewalExpired,
	// RenewalNone or RenewalCancelled.
	State string
	// EndDate is the contract's end date, given or derived; nil for
	// RenewalNone and RenewalCancelled.
	EndDate  *time.Time
	Schedule activities.RenewalSchedule
}

// Plan decides the renewal of a recorded contract under a rules document
// at now. A contract without an end date ends default_term after its
// signing date.
func Plan(contract *store.Contract, doc rules.Document, now time.Time) (Decision, error) {
	switch contract.State {
	case store.ContractCancelling, store.ContractCancelled:
		return Decision{State: store.RenewalCancelled}, nil
	}
	var end time.Time
	switch {
	case contract.EndDate != nil:
		end = *contract.EndDate
	case doc.Renewals.DefaultTerm > 0:
		end = contract.SignedOn.Add(doc.Renewals.DefaultTerm.D())
	default:
		return Decision{State: store.RenewalNone}, nil
	}
	schedule, err := activities.ComputeRenewalSchedule(end, doc.Renewals.NoticeBefore, doc.Calendar)
	if err != nil {
		return Decision{}, err
	}
	decision := Decision{State: store.RenewalScheduled, EndDate: &schedule.EndDate, Schedule: schedule}
	if !now.Before(schedule.ExpiresAt) {
		decision.State = store.RenewalExpired
	}
	return decision, nil
}

// PlanCounts counts the outcomes of a planning pass.
type PlanCounts struct {
	Scheduled int `json:"scheduled"`
	Expired   int `json:"expired"`
	None      int `json:"none"`
	Cancelled int `json:"cancelled"`
}

// PlanPending plans every pending renewal under the newest rules. A
// workflow that exists already counts as started, so a pass is safe to
// repeat.
func (s *Starter) PlanPending(ctx context.Context) (PlanCounts, error) {
	s.pass.Lock()
	defer s.pass.Unlock()
	var counts PlanCounts
	version, err := s.Rules.Rules(ctx, activities.RulesRequest{})
	if err != nil {
		return counts, fmt.Errorf("read the newest rules to plan renewals: %w", err)
	}
	defer func() {
		if counts != (PlanCounts{}) {
			s.Logger.WithFields(logrus.Fields{
				"scheduled": counts.Scheduled, "expired": counts.Expired, "none": counts.None,
				"cancelled": counts.Cancelled, logging.KeyRuleVersion: version.Version,
			}).Info("planned contract renewals; expired ones ended before ordo knew them and get no reminder")
		}
	}()
	for {
		pending, err := s.Store.PendingRenewals(ctx, 500)
		if err != nil || len(pending) == 0 {
			return counts, err
		}
		if err := s.planBatch(ctx, pending, version, &counts); err != nil {
			return counts, err
		}
	}
}

// PlanContract plans the renewal of one contract now, for a caller that
// has just recorded it. It does nothing unless the contract is pending.
// While a planning pass runs, it leaves the contract to that pass or the
// next one instead of waiting.
func (s *Starter) PlanContract(ctx context.Context, contract *store.Contract) error {
	if contract.RenewalState != store.RenewalPending {
		return nil
	}
	if !s.pass.TryLock() {
		s.Kick()
		return nil
	}
	defer s.pass.Unlock()
	version, err := s.Rules.Rules(ctx, activities.RulesRequest{})
	if err != nil {
		return fmt.Errorf("read the newest rules to plan the renewal of %s: %w", contract.ContractNo, err)
	}
	var counts PlanCounts
	return s.planBatch(ctx, []store.Contract{*contract}, version, &counts)
}

// planBatch plans contracts, starting the workflows of those scheduled,
// then records every outcome in one transaction. Workflows start outside
// the transaction, so a slow Temporal call never holds a database lock.
// When a start fails, the outcomes before it are recorded and the rest
// stay pending.
func (s *Starter) planBatch(ctx context.Context, contracts []store.Contract, version activities.RulesVersion, counts *PlanCounts) error {
	changes := make([]store.RenewalChange, 0, len(contracts))
	var startErr error
	for i := range contracts {
		contract := &contracts[i]
		decision, err := Plan(contract, version.Document, s.now())
		if err != nil {
			startErr = fmt.Errorf("plan the renewal of %s under rules version %d: %w", contract.ContractNo, version.Version, err)
			break
		}
		change := store.RenewalChange{
			ContractNo: contract.ContractNo, State: decision.State, EndDate: decision.EndDate,
			OnlyFrom: []string{store.RenewalPending},
		}
		if decision.State == store.RenewalScheduled {
			if err := s.start(ctx, contract, decision.Schedule.EndDate, version.Version); err != nil {
				startErr = err
				break
			}
			change.RemindAt = &decision.Schedule.RemindAt
		}
		changes = append(changes, change)
	}

	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, change := range changes {
			if _, err := store.RecordRenewal(ctx, tx, change); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, change := range changes {
		switch change.State {
		case store.RenewalScheduled:
			counts.Scheduled++
		case store.RenewalExpired:
			counts.Expired++
		case store.RenewalNone:
			counts.None++
		case store.RenewalCancelled:
			counts.Cancelled++
		}
	}
	return startErr
}

// start starts the renewal workflow of a contract. An existing workflow
// with the same ID, running or closed, counts as success.
func (s *Starter) start(ctx context.Context, contract *store.Contract, endDate time.Time, rulesVersion int) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.RenewalWorkflowID(contract.ContractNo),
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	_, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.RenewalName, renewalInput(contract, endDate, rulesVersion))
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	if err != nil {
		s.Logger.WithFields(logrus.Fields{logging.KeyContractNo: contract.ContractNo, logging.KeyError: err}).
			Warn("starting renewal workflow failed")
		return fmt.Errorf("start the renewal of %s: %w", contract.ContractNo, err)
	}
	return nil
}

func renewalInput(contract *store.Contract, endDate time.Time, rulesVersion int) workflows.RenewalInput {
	return workflows.RenewalInput{
		ContractNo: contract.ContractNo, Customer: contract.AccountName, SalesAgent: contract.SalesAgent,
		EndDate: endDate, RulesVersion: rulesVersion, Cycle: 1,
	}
}

// SetEndDate stores a contract's new end date and moves the reminder of
// its running renewal workflow, or starts one when none runs. The end
// date must not have passed.
func (s *Starter) SetEndDate(ctx context.Context, contractNo string, endDate time.Time, by string) (*store.Contract, error) {
	contract, err := s.renewable(ctx, contractNo)
	if err != nil {
		return nil, err
	}
	version, err := s.Rules.Rules(ctx, activities.RulesRequest{})
	if err != nil {
		return nil, fmt.Errorf("read the newest rules to check the end date of %s: %w", contractNo, err)
	}
	schedule, err := s.futureSchedule(endDate, version.Document, "end_date")
	if err != nil {
		return nil, err
	}

	if schedule.EndDate.Before(contract.SignedOn) {
		return nil, &DateError{Field: "end_date", Message: fmt.Sprintf("%s is before the signing date %s",
			schedule.EndDate.Format(time.DateOnly), contract.SignedOn.Format(time.DateOnly))}
	}
	// A contract without a running workflow is scheduled from here on, so
	// the planner leaves it alone; a running workflow records its own
	// state.
	if err := store.SetContractEndDate(ctx, s.Store.DB, contractNo, schedule.EndDate); err != nil {
		return nil, err
	}
	_, err = store.RecordRenewal(ctx, s.Store.DB, store.RenewalChange{
		ContractNo: contractNo, State: store.RenewalScheduled,
		OnlyFrom: []string{store.RenewalPending, store.RenewalNone, store.RenewalExpired, store.RenewalLapsed, store.RenewalRenewed},
	})
	if err != nil {
		return nil, err
	}

	signal := workflows.EndDateChange{EndDate: schedule.EndDate, By: by}
	if err := s.signalWithStart(ctx, contract, workflows.SignalEndDateChanged, signal, schedule.EndDate, version.Version); err != nil {
		return nil, err
	}
	contract.EndDate = &schedule.EndDate
	return contract, nil
}

// Act signals the running renewal workflow that someone acted on its
// reminder.
func (s *Starter) Act(ctx context.Context, contractNo, by, note string) error {
	if _, err := s.renewable(ctx, contractNo); err != nil {
		return err
	}
	err := s.Client.SignalWorkflow(ctx, workflows.RenewalWorkflowID(contractNo), "", workflows.SignalRenewalActed,
		workflows.RenewalActed{By: by, Note: note})
	return s.signalError(contractNo, err)
}

// Renew reports a renewal to the contract's renewal workflow, starting
// one to record it when none runs. With newEndDate, which must be later
// than the current end date and not passed, the workflow goes on to the
// next term.
func (s *Starter) Renew(ctx context.Context, contractNo string, newEndDate *time.Time, by string) error {
	contract, err := s.renewable(ctx, contractNo)
	if err != nil {
		return err
	}
	version, err := s.Rules.Rules(ctx, activities.RulesRequest{})
	if err != nil {
		return fmt.Errorf("read the newest rules to renew %s: %w", contractNo, err)
	}
	signal := workflows.RenewalRenewed{By: by}
	if newEndDate != nil {
		schedule, err := s.futureSchedule(*newEndDate, version.Document, "new_end_date")
		if err != nil {
			return err
		}
		if contract.EndDate != nil && !schedule.EndDate.After(*contract.EndDate) {
			return &DateError{Field: "new_end_date", Message: fmt.Sprintf("%s is not after the current end date %s",
				schedule.EndDate.Format(time.DateOnly), contract.EndDate.Format(time.DateOnly))}
		}
		signal.NewEndDate = &schedule.EndDate
	}
	var current time.Time
	if contract.EndDate != nil {
		current = *contract.EndDate
	}
	return s.signalWithStart(ctx, contract, workflows.SignalRenewalRenewed, signal, current, version.Version)
}

// Cancel ends the renewal of a cancelled contract. Without a running
// workflow it records the cancellation and clears the contract's red tag
// itself.
func (s *Starter) Cancel(ctx context.Context, contract *store.Contract, by, reason string) error {
	err := s.Client.SignalWorkflow(ctx, workflows.RenewalWorkflowID(contract.ContractNo), "", workflows.SignalContractCancelled,
		workflows.ContractCancelled{By: by, Reason: reason})
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return s.signalError(contract.ContractNo, err)
	}
	if _, err := store.RecordRenewal(ctx, s.Store.DB, store.RenewalChange{
		ContractNo: contract.ContractNo, State: store.RenewalCancelled,
	}); err != nil {
		return err
	}
	_, err = store.ClearCustomerTag(ctx, s.Store.DB, contract.AccountName, store.TagRenewalDue,
		"contract:"+contract.ContractNo, "contract cancelled by "+by, s.now())
	return err
}

// renewable returns the contract unless it is cancelled.
func (s *Starter) renewable(ctx context.Context, contractNo string) (*store.Contract, error) {
	contract, err := s.Store.GetContract(ctx, contractNo)
	if err != nil {
		return nil, err
	}
	if contract.State == store.ContractCancelled || contract.State == store.ContractCancelling ||
		contract.RenewalState == store.RenewalCancelled {
		return nil, fmt.Errorf("contract %s: %w", contractNo, ErrContractCancelled)
	}
	return contract, nil
}

// futureSchedule computes the schedule of endDate and rejects one that
// has expired.
func (s *Starter) futureSchedule(endDate time.Time, doc rules.Document, field string) (activities.RenewalSchedule, error) {
	schedule, err := activities.ComputeRenewalSchedule(endDate, doc.Renewals.NoticeBefore, doc.Calendar)
	if err != nil {
		return schedule, err
	}
	if !s.now().Before(schedule.ExpiresAt) {
		return schedule, &DateError{Field: field, Message: fmt.Sprintf(
			"%s has passed: a renewal reminder needs an end date from today on", schedule.EndDate.Format(time.DateOnly))}
	}
	return schedule, nil
}

// signalWithStart signals the contract's renewal workflow, starting it
// first when none runs, so a signal is never lost between a check and a
// start.
func (s *Starter) signalWithStart(ctx context.Context, contract *store.Contract, name string, arg any, endDate time.Time, rulesVersion int) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.RenewalWorkflowID(contract.ContractNo),
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	_, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, name, arg, opts, workflows.RenewalName,
		renewalInput(contract, endDate, rulesVersion))
	if err != nil {
		s.Logger.WithFields(logrus.Fields{logging.KeyContractNo: contract.ContractNo, logging.KeyError: err}).
			Warn("signalling renewal workflow failed")
		return fmt.Errorf("send %s to the renewal of %s: %w", name, contract.ContractNo, err)
	}
	return nil
}

func (s *Starter) signalError(contractNo string, err error) error {
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &notFound):
		return fmt.Errorf("contract %s: %w", contractNo, ErrNotRunning)
	default:
		return fmt.Errorf("signal the renewal of %s: %w", contractNo, err)
	}
}
