package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// LeadSLA runs the response SLA of one lead assigned to a rep.
//
// Each clock computes a deadline from the rule of its kind (first contact
// or follow-up) under the rules version fixed at the start. Before the
// deadline the rep gets a reminder task; when it passes, the supervisor
// gets an alert task. After the alert the workflow waits, without a time
// limit, for a contact, a reassignment or the lead's closing, because an
// overdue lead still needs its contact and the CRM import closes every
// lead whose deal ends.
//
// A contact ends the first-contact clock. When the rules set a follow-up
// deadline, it also starts the follow-up clock at the contact, and each
// later contact starts the next follow-up clock. A reassignment closes the
// open tasks and restarts the clock of the same kind for the new rep. The
// closing of the lead closes the open tasks and ends the workflow.
func LeadSLA(ctx workflow.Context, in LeadSLAInput) (LeadSLAStatus, error) {
	l, err := newLeadSLA(ctx, in)
	if err != nil {
		return LeadSLAStatus{}, err
	}
	return l.run(ctx)
}

// leadSLA is the state of one LeadSLA run.
type leadSLA struct {
	in     LeadSLAInput
	status LeadSLAStatus
	rules  rules.Document
	// events are the received signals not handled yet, oldest first.
	events []LeadEvent
	logger log.Logger

	// rootCtx is cancelled when a cancellation is requested through
	// Temporal; waits use it. actCtx is disconnected from it, so the
	// cleanup after a cancellation can still call activities.
	rootCtx workflow.Context
	actCtx  workflow.Context

	contacted  workflow.ReceiveChannel
	reassigned workflow.ReceiveChannel
	closed     workflow.ReceiveChannel
}

// Activity receivers: nil, because the worker's registered instances run.
var (
	leadRules *activities.RulesActivities
	leadTasks *activities.TaskActivities
	leadStore *activities.LeadActivities
)

func newLeadSLA(ctx workflow.Context, in LeadSLAInput) (*leadSLA, error) {
	if err := validateLeadInput(in); err != nil {
		return nil, err
	}
	l := &leadSLA{in: in, logger: workflow.GetLogger(ctx), rootCtx: ctx, events: in.Pending}
	if in.Resume != nil {
		l.status = *in.Resume
	} else {
		l.status = LeadSLAStatus{
			LeadID: in.LeadID, Kind: in.Kind, State: store.SLAStarting, Rep: in.Rep, Supervisor: in.Supervisor,
			Account: in.Account, Product: in.Product, RulesVersion: in.RulesVersion, ClockStart: in.ClockStart,
		}
	}
	l.actCtx, _ = workflow.NewDisconnectedContext(ctx)

	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (LeadSLAStatus, error) {
		return l.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	l.listen()
	return l, nil
}

func validateLeadInput(in LeadSLAInput) error {
	var problem string
	switch {
	case in.LeadID == "":
		problem = "lead id is required"
	case in.Resume == nil && in.Rep == "":
		problem = fmt.Sprintf("lead %s has no rep: assign it first", in.LeadID)
	case in.Resume == nil && in.Kind != store.LeadSLAFirstContact && in.Kind != store.LeadSLAFollowUp:
		problem = fmt.Sprintf("lead %s: SLA kind %q is not %s or %s", in.LeadID, in.Kind, store.LeadSLAFirstContact, store.LeadSLAFollowUp)
	case in.Resume == nil && in.ClockStart.IsZero():
		problem = fmt.Sprintf("lead %s has no clock start", in.LeadID)
	}
	if problem == "" {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(problem, activities.ErrTypeInput, nil)
}

// listen receives every signal into l.events; the main path handles them
// at its next wait. The task-completed signal of the reminder and alert
// tasks is received and ignored, because only a contact ends a clock.
func (l *leadSLA) listen() {
	ctx := l.actCtx
	l.contacted = workflow.GetSignalChannel(ctx, SignalLeadContacted)
	l.reassigned = workflow.GetSignalChannel(ctx, SignalLeadReassigned)
	l.closed = workflow.GetSignalChannel(ctx, SignalLeadClosed)
	selector := workflow.NewSelector(ctx)
	selector.AddReceive(l.contacted, func(ch workflow.ReceiveChannel, _ bool) {
		var s LeadContactedSignal
		ch.Receive(ctx, &s)
		l.events = append(l.events, LeadEvent{Contacted: &s})
	})
	selector.AddReceive(l.reassigned, func(ch workflow.ReceiveChannel, _ bool) {
		var s LeadReassignedSignal
		ch.Receive(ctx, &s)
		l.events = append(l.events, LeadEvent{Reassigned: &s})
	})
	selector.AddReceive(l.closed, func(ch workflow.ReceiveChannel, _ bool) {
		var s LeadClosedSignal
		ch.Receive(ctx, &s)
		l.events = append(l.events, LeadEvent{Closed: &s})
	})
	selector.AddReceive(workflow.GetSignalChannel(ctx, SignalTaskCompleted), func(ch workflow.ReceiveChannel, _ bool) {
		var s TaskCompletion
		ch.Receive(ctx, &s)
		l.logger.Info("Task completed; the clock goes on until a contact", "TaskID", s.TaskID, "Kind", s.Kind, "By", s.By)
	})
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			selector.Select(gctx)
		}
	})
}

// drainSignals moves signals still buffered in the channels into
// l.events, so continue-as-new carries them to the next run.
func (l *leadSLA) drainSignals() {
	for {
		var s LeadContactedSignal
		if !l.contacted.ReceiveAsync(&s) {
			break
		}
		l.events = append(l.events, LeadEvent{Contacted: &s})
	}
	for {
		var s LeadReassignedSignal
		if !l.reassigned.ReceiveAsync(&s) {
			break
		}
		l.events = append(l.events, LeadEvent{Reassigned: &s})
	}
	for {
		var s LeadClosedSignal
		if !l.closed.ReceiveAsync(&s) {
			break
		}
		l.events = append(l.events, LeadEvent{Closed: &s})
	}
}

func (l *leadSLA) run(ctx workflow.Context) (LeadSLAStatus, error) {
	err := l.loadRules()
	if err == nil {
		err = l.loop()
	}
	switch {
	case err == nil:
		return l.status, nil
	case errors.Is(err, errContinueAsNew):
		l.drainSignals()
		next := l.in
		snapshot := l.status
		next.Resume = &snapshot
		next.RulesVersion = l.status.RulesVersion
		next.Pending = l.events
		return l.status, workflow.NewContinueAsNewError(ctx, LeadSLA, next)
	case l.rootCtx.Err() != nil:
		l.cancelled()
		return l.status, temporal.NewCanceledError(l.status)
	default:
		return l.status, err
	}
}

// loadRules reads the rules version the workflow applies.
func (l *leadSLA) loadRules() error {
	var version activities.RulesVersion
	err := l.callRules("read rules version", leadRules.Rules, activities.RulesRequest{Version: l.status.RulesVersion}, &version)
	if err != nil {
		return fmt.Errorf("read rules version %d for lead %s: %w", l.status.RulesVersion, l.in.LeadID, err)
	}
	l.rules = version.Document
	l.status.RulesVersion = version.Version
	return nil
}

// loop starts the first clock of a new workflow, then handles events until
// one ends the workflow.
func (l *leadSLA) loop() error {
	if l.status.State == store.SLAStarting {
		if err := l.startClock(l.status.ClockStart); err != nil {
			return err
		}
	}
	for {
		event, err := l.watch()
		if err != nil {
			return err
		}
		done, err := l.handle(event)
		if err != nil || done {
			return err
		}
	}
}

// watch sends the reminder and the alert when they fall due and returns
// the next received event. It returns errContinueAsNew between steps when
// the history has grown enough for a fresh run.
func (l *leadSLA) watch() (LeadEvent, error) {
	s := &l.status
	for {
		if len(l.events) > 0 {
			event := l.events[0]
			l.events = l.events[1:]
			return event, nil
		}
		if workflow.GetInfo(l.rootCtx).GetContinueAsNewSuggested() {
			return LeadEvent{}, errContinueAsNew
		}
		switch {
		case s.RemindAt != nil && s.ReminderSentAt == nil:
			due, err := l.sleepUntil(*s.RemindAt)
			if err != nil {
				return LeadEvent{}, err
			}
			if due {
				if err := l.remind(); err != nil {
					return LeadEvent{}, err
				}
			}
		case s.Deadline != nil && s.AlertSentAt == nil:
			due, err := l.sleepUntil(*s.Deadline)
			if err != nil {
				return LeadEvent{}, err
			}
			if due {
				if err := l.alert(); err != nil {
					return LeadEvent{}, err
				}
			}
		default:
			if err := workflow.Await(l.rootCtx, l.hasEvent); err != nil {
				return LeadEvent{}, err
			}
		}
	}
}

func (l *leadSLA) hasEvent() bool { return len(l.events) > 0 }

// sleepUntil waits until at on a timer of the workflow clock, or until an
// event arrives. It reports whether at was reached with no event waiting.
// The timer is cancelled when an event ends the wait, unlike the one of
// workflow.AwaitWithTimeout, so a stale timer never wakes the workflow.
func (l *leadSLA) sleepUntil(at time.Time) (bool, error) {
	remaining := at.Sub(workflow.Now(l.rootCtx))
	if remaining <= 0 {
		return true, nil
	}
	timerCtx, cancelTimer := workflow.WithCancel(l.rootCtx)
	timer := workflow.NewTimer(timerCtx, remaining)
	if err := workflow.Await(l.rootCtx, func() bool { return timer.IsReady() || l.hasEvent() }); err != nil {
		cancelTimer()
		return false, err
	}
	if l.hasEvent() {
		cancelTimer()
		return false, nil
	}
	// A timer that is ready without an event either fired or was
	// cancelled with the workflow, which Get returns as an error.
	if err := timer.Get(l.rootCtx, nil); err != nil {
		return false, err
	}
	return true, nil
}

// handle applies one event and reports whether the workflow is done.
func (l *leadSLA) handle(event LeadEvent) (bool, error) {
	switch {
	case event.Closed != nil:
		return true, l.close(*event.Closed)
	case event.Reassigned != nil:
		return false, l.reassign(*event.Reassigned)
	case event.Contacted != nil:
		return l.contact(*event.Contacted)
	}
	return false, nil
}

// rule returns the deadline rule of a clock kind.
func (l *leadSLA) rule(kind string) rules.Deadline {
	if kind == store.LeadSLAFollowUp {
		return l.rules.Leads.FollowUp
	}
	return l.rules.Leads.FirstContact
}

// startClock starts a clock of the current kind at start: it computes the
// deadline and the reminder moment, records them and shows the state.
func (l *leadSLA) startClock(start time.Time) error {
	s := &l.status
	s.ClockStart = start
	s.RemindAt, s.Deadline, s.ReminderSentAt, s.AlertSentAt = nil, nil, nil, nil
	s.Clocks++
	rule := l.rule(s.Kind)
	if rule.Within <= 0 {
		s.State = store.SLAUntimed
		l.logger.Warn("The rules set no deadline for this kind of lead clock; waiting for a contact only", "Kind", s.Kind, "RulesVersion", s.RulesVersion)
		return l.recordState()
	}

	deadline, err := l.deadline(start, rule.Within, rule.Hours)
	if err != nil {
		return err
	}
	s.Deadline = &deadline
	if rule.RemindBefore > 0 {
		// The reminder falls remind_before ahead of the deadline, counted in
		// the same hours: start + (within - remind_before). A reminder
		// period as long as the deadline reminds at once.
		remindAt := start
		if lead := rule.Within - rule.RemindBefore; lead > 0 {
			if remindAt, err = l.deadline(start, lead, rule.Hours); err != nil {
				return err
			}
		}
		s.RemindAt = &remindAt
	}
	s.State = store.SLAWaiting
	return l.recordState()
}

// remind opens the reminder task for the rep.
func (l *leadSLA) remind() error {
	s := &l.status
	kind := activities.TaskLeadReminder
	if s.Kind == store.LeadSLAFollowUp {
		kind = activities.TaskFollowUpReminder
	}
	rep := l.rules.People.Person(s.Rep)
	l.openTask(activities.TaskRequest{
		Key: l.taskKey("reminder"), Kind: kind,
		Assignee: s.Rep, AssigneeRole: "sales_rep", Email: rep.Email, Phone: rep.Phone,
		Subject: l.subject(), Template: l.rule(s.Kind).ReminderTemplate, Params: l.taskParams(), Due: s.Deadline,
	})
	now := workflow.Now(l.rootCtx)
	s.ReminderSentAt = &now
	s.State = store.SLAReminded
	return l.recordState()
}

// alert opens the alert task for the supervisor, or for the sales director
// of the rules when the rep has no supervisor.
func (l *leadSLA) alert() error {
	s := &l.status
	kind := activities.TaskLeadAlert
	if s.Kind == store.LeadSLAFollowUp {
		kind = activities.TaskFollowUpAlert
	}
	assignee, role := rules.Person{}, rules.RoleSupervisor
	if s.Supervisor != "" {
		assignee = l.rules.People.Person(s.Supervisor)
	} else if director, ok := l.rules.People.Role(rules.RoleSalesDirector); ok {
		assignee, role = director, rules.RoleSalesDirector
	}
	if assignee.Name == "" {
		s.LastError = fmt.Sprintf("lead %s is overdue, but no alert was sent: rep %s has no supervisor in the sales-team data and the rules name no %s; add one of them",
			s.LeadID, s.Rep, rules.RoleSalesDirector)
		l.logger.Error("Lead overdue but no alert sent: no supervisor and no sales director", "LeadID", s.LeadID, "Rep", s.Rep)
	} else {
		l.openTask(activities.TaskRequest{
			Key: l.taskKey("alert"), Kind: kind,
			Assignee: assignee.Name, AssigneeRole: role, Email: assignee.Email, Phone: assignee.Phone,
			Subject: l.subject(), Template: l.rule(s.Kind).EscalationTemplate, Params: l.taskParams(),
		})
	}
	now := workflow.Now(l.rootCtx)
	s.AlertSentAt = &now
	s.State = store.SLAOverdue
	return l.recordState()
}

// contact ends the current clock. It reports whether the workflow is done:
// after the first contact when the rules set no follow-up deadline.
func (l *leadSLA) contact(signal LeadContactedSignal) (bool, error) {
	s := &l.status
	at := signal.At
	if at.IsZero() {
		at = workflow.Now(l.rootCtx)
	}
	l.recordContact(at, signal)
	if s.LastContactAt == nil || at.After(*s.LastContactAt) {
		s.LastContactAt = &at
	}

	if s.Kind == store.LeadSLAFollowUp {
		// A contact from before the current clock, reported late, is
		// recorded but does not move the clock.
		if !at.After(s.ClockStart) {
			l.logger.Info("Contact older than the current follow-up clock; clock unchanged", "At", at, "ClockStart", s.ClockStart)
			return false, nil
		}
		l.closeTasks("followed up by "+orDefault(signal.By, "the rep"), activities.TaskFollowUpReminder, activities.TaskFollowUpAlert)
		return false, l.startClock(at)
	}

	if s.FirstContactAt == nil || at.Before(*s.FirstContactAt) {
		s.FirstContactAt = &at
	}
	l.closeTasks("first contact by "+orDefault(signal.By, "the rep"), activities.TaskLeadReminder, activities.TaskLeadAlert)
	if l.rules.Leads.FollowUp.Within <= 0 {
		s.State = store.SLAContacted
		s.RemindAt, s.Deadline = nil, nil
		return true, l.recordState()
	}
	s.Kind = store.LeadSLAFollowUp
	return false, l.startClock(laterOf(at, s.ClockStart))
}

// reassign gives the lead to a new rep and restarts the clock for them. A
// reassignment to the current rep only records the state again, so a
// repeated signal changes nothing.
func (l *leadSLA) reassign(signal LeadReassignedSignal) error {
	s := &l.status
	if signal.NewRep == "" {
		l.logger.Warn("Ignoring a reassignment without a rep", "By", signal.By)
		return nil
	}
	if signal.NewRep == s.Rep {
		return l.recordState()
	}
	at := signal.At
	if at.IsZero() {
		at = workflow.Now(l.rootCtx)
	}
	l.closeTasks(fmt.Sprintf("reassigned from %s to %s by %s", s.Rep, signal.NewRep, orDefault(signal.By, "ordo")), leadTaskKinds()...)
	l.logger.Info("Lead reassigned; clock restarts", "From", s.Rep, "To", signal.NewRep, "By", signal.By)
	s.Rep, s.Supervisor = signal.NewRep, signal.NewSupervisor
	s.Reassignments++
	return l.startClock(laterOf(at, s.ClockStart))
}

// close ends the workflow for a lead whose deal was won or lost.
func (l *leadSLA) close(signal LeadClosedSignal) error {
	l.closeTasks("lead closed: "+orDefault(signal.Reason, "deal ended in the CRM"), leadTaskKinds()...)
	l.status.State = store.SLAClosed
	return l.recordState()
}

// cancelled closes the open tasks after a cancellation requested through
// Temporal, because no workflow watches the lead any more.
func (l *leadSLA) cancelled() {
	l.logger.Warn("Lead SLA workflow cancelled in Temporal", "LeadID", l.status.LeadID)
	l.closeTasks("lead SLA workflow cancelled in Temporal", leadTaskKinds()...)
	l.status.State = store.SLACancelled
	_ = l.recordState()
}
