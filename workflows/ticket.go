package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// TicketName is the registered workflow type name of Ticket.
const TicketName = "Ticket"

// Signal names of the ticket workflow. Its QueryStatus returns a
// TicketStatus, and it also takes SignalTaskCompleted, so completing the
// ticket task records the task's note as the ticket's answer.
const (
	// SignalTicketAnswered carries a TicketAnswer.
	SignalTicketAnswered = "ticket-answered"
	// SignalTicketReturned carries a TicketReturn.
	SignalTicketReturned = "ticket-returned"
)

// Template names used when the rules leave them empty.
const (
	ticketNewTemplate               = "ticket_new"
	defaultTicketEscalationTemplate = "ticket_escalation"
)

// TicketWorkflowID returns the ID of a ticket's workflow.
func TicketWorkflowID(ticketID string) string {
	return "ticket-" + ticketID
}

// TicketInput starts the workflow of a stored ticket.
type TicketInput struct {
	TicketID string `json:"ticket_id"`
	Customer string `json:"customer"`
	Title    string `json:"title"`
	From     string `json:"from"`
	// CreatedAt starts the response deadline.
	CreatedAt time.Time `json:"created_at"`
	// RulesVersion is the rules version to run under; 0 takes the newest
	// when the workflow starts.
	RulesVersion int `json:"rules_version"`
}

// TicketAnswer is the routed department's reply to a ticket.
type TicketAnswer struct {
	By     string `json:"by"`
	Answer string `json:"answer"`
}

// TicketReturn returns a ticket to its sender.
type TicketReturn struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// TicketStatus is the result of QueryStatus and of the workflow.
type TicketStatus struct {
	TicketID     string     `json:"ticket_id"`
	Customer     string     `json:"customer"`
	RulesVersion int        `json:"rules_version"`
	State        string     `json:"state"`
	RoutedTo     string     `json:"routed_to,omitempty"`
	RespondBy    *time.Time `json:"respond_by,omitempty"`
	EscalatedAt  *time.Time `json:"escalated_at,omitempty"`
	EscalatedTo  string     `json:"escalated_to,omitempty"`
	// Frozen is true while this ticket holds the customer's next renewal
	// approval.
	Frozen   bool       `json:"frozen"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	ClosedBy string     `json:"closed_by,omitempty"`
	Notes    []string   `json:"notes,omitempty"`
}

// Ticket routes a customer's feature request to the role in
// tickets.route_to and waits for an answer. When tickets.respond passes
// without one, it escalates to the role in tickets.escalate_to by email,
// marks the ticket escalated and, if tickets.freeze_renewal_approval is
// set, freezes the customer's next renewal approval. It then waits for an
// answer without a further level. An answer lifts the ticket's own freeze
// and ends the workflow. Returning the ticket to its sender does the same,
// and the blocking rate counts it as blocked.
func Ticket(ctx workflow.Context, in TicketInput) (TicketStatus, error) {
	t, err := newTicket(ctx, in)
	if err != nil {
		return TicketStatus{}, err
	}
	return t.run(ctx)
}

// ticket is the state of one Ticket run.
type ticket struct {
	in     TicketInput
	id     string
	status TicketStatus
	doc    rules.Document
	logger log.Logger

	acts  *activities.CustomerActivities
	rules *activities.RulesActivities
	tasks *activities.TaskActivities

	answeredCh workflow.ReceiveChannel
	returnedCh workflow.ReceiveChannel
	taskCh     workflow.ReceiveChannel

	answer   *TicketAnswer
	returned *TicketReturn
}

func newTicket(ctx workflow.Context, in TicketInput) (*ticket, error) {
	if in.TicketID == "" || in.Customer == "" {
		return nil, fmt.Errorf("ticket input needs a ticket ID and a customer, got %q and %q", in.TicketID, in.Customer)
	}
	t := &ticket{
		in:         in,
		id:         workflow.GetInfo(ctx).WorkflowExecution.ID,
		logger:     workflow.GetLogger(ctx),
		status:     TicketStatus{TicketID: in.TicketID, Customer: in.Customer, State: store.TicketOpen},
		answeredCh: workflow.GetSignalChannel(ctx, SignalTicketAnswered),
		returnedCh: workflow.GetSignalChannel(ctx, SignalTicketReturned),
		taskCh:     workflow.GetSignalChannel(ctx, SignalTaskCompleted),
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (TicketStatus, error) {
		return t.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	return t, nil
}

func (t *ticket) subject() string { return "ticket:" + t.in.TicketID }

func (t *ticket) run(ctx workflow.Context) (TicketStatus, error) {
	if err := t.loadRules(ctx); err != nil {
		return t.status, err
	}
	respond := t.doc.Tickets.Respond
	var respondBy time.Time
	if respond.Within > 0 {
		var deadline activities.DeadlineResult
		lctx := localRulesContext(ctx)
		err := workflow.ExecuteLocalActivity(lctx, t.rules.Deadline, activities.DeadlineRequest{
			Start: t.in.CreatedAt, Within: respond.Within, Hours: respond.Hours, RulesVersion: t.status.RulesVersion,
		}).Get(lctx, &deadline)
		if err != nil {
			return t.status, fmt.Errorf("compute the response deadline of ticket %s: %w", t.in.TicketID, err)
		}
		respondBy = deadline.Deadline
		t.status.RespondBy = &respondBy
	} else {
		t.note("rules set no tickets.respond: the ticket does not escalate")
	}
	// The routing key needs a moment; without a deadline the creation
	// time serves.
	moment := respondBy
	if moment.IsZero() {
		moment = t.in.CreatedAt
	}
	t.route(ctx, moment)

	for {
		t.drainSignals(ctx)
		if t.answer != nil || t.returned != nil {
			return t.finish(ctx)
		}
		deadline := time.Time{}
		if t.status.EscalatedAt == nil {
			deadline = respondBy
		}
		if t.wait(ctx, deadline) {
			t.escalate(ctx, moment)
		}
	}
}

func (t *ticket) loadRules(ctx workflow.Context) error {
	var version activities.RulesVersion
	lctx := localRulesContext(ctx)
	if err := workflow.ExecuteLocalActivity(lctx, t.rules.Rules, activities.RulesRequest{Version: t.in.RulesVersion}).Get(lctx, &version); err != nil {
		return fmt.Errorf("read rules version %d for ticket %s: %w", t.in.RulesVersion, t.in.TicketID, err)
	}
	t.doc = version.Document
	t.status.RulesVersion = version.Version
	return nil
}

// route opens the ticket task for the receiving role and records the
// routing.
func (t *ticket) route(ctx workflow.Context, moment time.Time) {
	role := t.doc.Tickets.RouteTo
	person, ok := t.doc.People.Role(role)
	if ok {
		t.status.RoutedTo = person.Name
		t.openTask(ctx, activities.TaskRequest{
			Key: notificationKey(t.id, "ticket", moment), Kind: activities.TaskTicket,
			Assignee: person.Name, AssigneeRole: role, Email: person.Email, Phone: person.Phone,
			Subject: t.subject(), Template: ticketNewTemplate, Params: t.params(), Due: t.status.RespondBy,
		})
	} else {
		t.status.RoutedTo = role
		t.note(fmt.Sprintf("nobody holds people.roles.%s (tickets.route_to): the ticket task was not opened", orDefault(role, "<empty>")))
	}
	t.record(ctx, activities.TicketRecord{
		TicketID: t.in.TicketID, RoutedTo: t.status.RoutedTo, RulesVersion: t.status.RulesVersion, RespondBy: t.status.RespondBy,
	})
}

// escalate alerts the role in tickets.escalate_to by email, marks the
// ticket escalated and freezes the customer's next renewal approval when
// the rules say so.
func (t *ticket) escalate(ctx workflow.Context, moment time.Time) {
	now := workflow.Now(ctx)
	t.status.State = store.TicketEscalated
	t.status.EscalatedAt = &now
	role := t.doc.Tickets.EscalateTo
	if person, ok := t.doc.People.Role(role); ok {
		t.status.EscalatedTo = person.Name
		t.openTask(ctx, activities.TaskRequest{
			Key: notificationKey(t.id, "ticket-escalation", moment), Kind: activities.TaskTicketEscalation,
			Assignee: person.Name, AssigneeRole: role, Email: person.Email, Phone: person.Phone,
			Subject:  t.subject(),
			Template: orDefault(t.doc.Tickets.Respond.EscalationTemplate, defaultTicketEscalationTemplate),
			Params:   t.params(), Channels: []string{"email"},
		})
	} else {
		t.note(fmt.Sprintf("nobody holds people.roles.%s (tickets.escalate_to): nobody was alerted", orDefault(role, "<empty>")))
	}
	t.record(ctx, activities.TicketRecord{TicketID: t.in.TicketID, State: store.TicketEscalated, EscalatedAt: &now})

	if t.doc.Tickets.FreezeRenewalApproval {
		reason := fmt.Sprintf("ticket %s %q of %s unanswered since %s", t.in.TicketID, t.in.Title, t.in.Customer,
			t.in.CreatedAt.UTC().Format(time.RFC3339))
		actx := sideEffectContext(ctx)
		err := workflow.ExecuteActivity(actx, t.acts.FreezeRenewalApproval, activities.FreezeRequest{
			TicketID: t.in.TicketID, Customer: t.in.Customer, Reason: reason, At: now,
		}).Get(actx, nil)
		if err != nil {
			t.failed("freeze the renewal approval of "+t.in.Customer, err)
		} else {
			t.status.Frozen = true
		}
	}
	t.logger.Info("Ticket escalated", "TicketID", t.in.TicketID, "EscalatedTo", t.status.EscalatedTo, "Frozen", t.status.Frozen)
}

// finish records the answer or the return, lifts the ticket's own freeze
// and closes its tasks.
func (t *ticket) finish(ctx workflow.Context) (TicketStatus, error) {
	now := workflow.Now(ctx)
	t.status.ClosedAt = &now
	record := activities.TicketRecord{TicketID: t.in.TicketID}
	var resolution string
	if t.answer != nil {
		t.status.State = store.TicketAnswered
		t.status.ClosedBy = orUnknown(t.answer.By)
		record.State, record.Answer, record.AnsweredBy, record.AnsweredAt = store.TicketAnswered, t.answer.Answer, t.status.ClosedBy, &now
		resolution = "answered by " + t.status.ClosedBy
	} else {
		t.status.State = store.TicketReturned
		t.status.ClosedBy = orUnknown(t.returned.By)
		record.State, record.ReturnReason, record.ReturnedBy, record.ReturnedAt = store.TicketReturned, t.returned.Reason, t.status.ClosedBy, &now
		resolution = "returned to the sender by " + t.status.ClosedBy
	}
	t.record(ctx, record)
	if t.status.Frozen {
		actx := sideEffectContext(ctx)
		err := workflow.ExecuteActivity(actx, t.acts.LiftRenewalFreeze, activities.LiftFreezeRequest{
			TicketID: t.in.TicketID, By: t.status.ClosedBy, Reason: "ticket " + resolution, At: now,
		}).Get(actx, nil)
		if err != nil {
			t.failed("lift the renewal approval freeze of "+t.in.Customer, err)
		} else {
			t.status.Frozen = false
		}
	}
	actx := sideEffectContext(ctx)
	err := workflow.ExecuteActivity(actx, t.tasks.CloseTasks, activities.CloseTasksRequest{
		Subject: t.subject(), Resolution: "ticket " + resolution,
	}).Get(actx, nil)
	if err != nil {
		t.failed("close the ticket's tasks", err)
	}
	return t.status, nil
}

func (t *ticket) wait(ctx workflow.Context, moment time.Time) bool {
	return waitUntil(ctx, moment, func(selector workflow.Selector) { t.addSignals(ctx, selector, nil) })
}

func (t *ticket) drainSignals(ctx workflow.Context) {
	for {
		received := false
		selector := workflow.NewSelector(ctx)
		t.addSignals(ctx, selector, func() { received = true })
		selector.AddDefault(func() {})
		selector.Select(ctx)
		if !received {
			return
		}
	}
}

// addSignals adds the ticket's signal channels to selector; mark, when
// set, runs for each signal received.
func (t *ticket) addSignals(ctx workflow.Context, selector workflow.Selector, mark func()) {
	seen := func() {
		if mark != nil {
			mark()
		}
	}
	selector.AddReceive(t.answeredCh, func(ch workflow.ReceiveChannel, _ bool) {
		seen()
		var answer TicketAnswer
		ch.Receive(ctx, &answer)
		t.onAnswer(answer)
	})
	selector.AddReceive(t.returnedCh, func(ch workflow.ReceiveChannel, _ bool) {
		seen()
		var returned TicketReturn
		ch.Receive(ctx, &returned)
		if t.answer == nil && t.returned == nil {
			t.returned = &returned
		}
	})
	selector.AddReceive(t.taskCh, func(ch workflow.ReceiveChannel, _ bool) {
		seen()
		var done TaskCompletion
		ch.Receive(ctx, &done)
		if done.Subject == t.subject() && done.Kind == activities.TaskTicket {
			t.onAnswer(TicketAnswer{By: done.By, Answer: done.Note})
		}
	})
}

func (t *ticket) onAnswer(answer TicketAnswer) {
	if t.answer == nil && t.returned == nil {
		t.answer = &answer
	}
}

func (t *ticket) params() map[string]string {
	params := map[string]string{
		"ticket_id": t.in.TicketID,
		"customer":  t.in.Customer,
		"title":     t.in.Title,
		"from":      t.in.From,
	}
	if t.status.RespondBy != nil {
		params["respond_by"] = t.status.RespondBy.UTC().Format(time.RFC3339)
	}
	return params
}

func (t *ticket) openTask(ctx workflow.Context, request activities.TaskRequest) {
	actx := sideEffectContext(ctx)
	if err := workflow.ExecuteActivity(actx, t.tasks.OpenTask, request).Get(actx, nil); err != nil {
		t.failed("open the "+request.Kind+" task for "+request.Assignee, err)
	}
}

func (t *ticket) record(ctx workflow.Context, record activities.TicketRecord) {
	actx := sideEffectContext(ctx)
	if err := workflow.ExecuteActivity(actx, t.acts.RecordTicket, record).Get(actx, nil); err != nil {
		t.failed("record the ticket", err)
	}
}

func (t *ticket) failed(step string, err error) {
	t.logger.Error("Ticket step failed", "TicketID", t.in.TicketID, "Step", step, "Error", err)
	t.note("failed to " + step + ": " + err.Error())
}

func (t *ticket) note(text string) {
	t.status.Notes = append(t.status.Notes, text)
}
