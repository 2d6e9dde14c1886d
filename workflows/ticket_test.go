package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

const (
	testTicketID     = "TK-00000000AB"
	ticketWorkflowID = "ticket-" + testTicketID
)

// ticketCreated is when the test ticket was stored; its 48-hour response
// deadline is ticketDeadline.
var (
	ticketCreated  = renewalStart
	ticketDeadline = renewalStart.Add(48 * time.Hour)
)

func ticketInput() TicketInput {
	return TicketInput{TicketID: testTicketID, Customer: "Cancity", Title: "Export invoices to SAP", From: "Lin Fang", CreatedAt: ticketCreated}
}

func (pt *processTest) runTicket(in TicketInput) TicketStatus {
	pt.t.Helper()
	pt.env.ExecuteWorkflow(Ticket, in)
	if !pt.env.IsWorkflowCompleted() {
		pt.t.Fatal("ticket workflow did not complete")
	}
	if err := pt.env.GetWorkflowError(); err != nil {
		pt.t.Fatalf("ticket workflow failed: %v", err)
	}
	var status TicketStatus
	if err := pt.env.GetWorkflowResult(&status); err != nil {
		pt.t.Fatalf("decode ticket result: %v", err)
	}
	return status
}

func (pt *processTest) ticketStates() []string {
	var states []string
	for _, record := range pt.tickets {
		if record.State != "" {
			states = append(states, record.State)
		}
	}
	return states
}

func TestTicketAnsweredInTime(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.signal(10*time.Hour, SignalTicketAnswered, TicketAnswer{By: "Wu Min", Answer: "planned for the next release"})
	status := pt.runTicket(ticketInput())

	routed := pt.tasksOf(activities.TaskTicket)
	if len(routed) != 1 {
		t.Fatalf("opened %d ticket tasks, expected 1", len(routed))
	}
	task := routed[0]
	if task.Assignee != "Wu Min" || task.AssigneeRole != rules.RoleProduct || task.Template != "ticket_new" {
		t.Errorf("ticket task for %q as %q with template %q", task.Assignee, task.AssigneeRole, task.Template)
	}
	if task.Key != notificationKey(ticketWorkflowID, "ticket", ticketDeadline) || task.Subject != "ticket:"+testTicketID {
		t.Errorf("ticket task key %q subject %q", task.Key, task.Subject)
	}
	if task.Due == nil || !task.Due.Equal(ticketDeadline) {
		t.Errorf("ticket task due %v, expected %s", task.Due, ticketDeadline)
	}
	if len(pt.tasksOf(activities.TaskTicketEscalation)) != 0 || len(pt.freezes) != 0 {
		t.Error("a ticket answered in time escalated or froze the renewal approval")
	}
	if status.State != store.TicketAnswered || status.ClosedBy != "Wu Min" {
		t.Errorf("final state %q closed by %q", status.State, status.ClosedBy)
	}
	first := pt.tickets[0]
	if first.RoutedTo != "Wu Min" || first.RulesVersion != testRulesVer || first.RespondBy == nil {
		t.Errorf("routing record %+v, expected routed_to, rules version and deadline", first)
	}
	last := pt.tickets[len(pt.tickets)-1]
	if last.State != store.TicketAnswered || last.Answer != "planned for the next release" || last.AnsweredAt == nil {
		t.Errorf("answer record %+v", last)
	}
	if want := ticketCreated.Add(10 * time.Hour); !last.AnsweredAt.Equal(want) {
		t.Errorf("answered at %s, expected %s", last.AnsweredAt, want)
	}
	if len(pt.lifts) != 0 {
		t.Errorf("lifted %d freezes the ticket never set", len(pt.lifts))
	}
	if len(pt.closed) != 1 || pt.closed[0].Subject != "ticket:"+testTicketID {
		t.Errorf("closed tasks %+v", pt.closed)
	}
}

func TestTicketEscalatesAndFreezes(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	var atEscalation TicketStatus
	pt.env.RegisterDelayedCallback(func() {
		encoded, err := pt.env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = encoded.Get(&atEscalation)
		}
		if err != nil {
			t.Errorf("query status: %v", err)
		}
	}, 49*time.Hour)
	pt.signal(72*time.Hour, SignalTicketAnswered, TicketAnswer{By: "Wu Min", Answer: "done"})
	status := pt.runTicket(ticketInput())

	escalations := pt.tasksOf(activities.TaskTicketEscalation)
	if len(escalations) != 1 {
		t.Fatalf("opened %d escalation tasks, expected 1", len(escalations))
	}
	escalation := escalations[0]
	if !escalation.At.Equal(ticketDeadline) {
		t.Errorf("escalated at %s, expected the deadline %s", escalation.At, ticketDeadline)
	}
	if escalation.Assignee != "Chen Jie" || escalation.Email != "coo@example.com" || !slices.Equal(escalation.Channels, []string{"email"}) {
		t.Errorf("escalated to %q <%s> on %v, expected the COO by email", escalation.Assignee, escalation.Email, escalation.Channels)
	}
	if escalation.Key != notificationKey(ticketWorkflowID, "ticket-escalation", ticketDeadline) {
		t.Errorf("escalation key %q", escalation.Key)
	}
	if atEscalation.State != store.TicketEscalated || !atEscalation.Frozen {
		t.Errorf("status after the deadline: state %q frozen %v", atEscalation.State, atEscalation.Frozen)
	}
	if len(pt.freezes) != 1 || pt.freezes[0].Customer != "Cancity" || pt.freezes[0].TicketID != testTicketID {
		t.Fatalf("freezes %+v, expected one for Cancity by the ticket", pt.freezes)
	}
	if !pt.freezes[0].At.Equal(ticketDeadline) {
		t.Errorf("frozen at %s, expected %s", pt.freezes[0].At, ticketDeadline)
	}

	// Answered after the escalation: the freeze lifts.
	if len(pt.lifts) != 1 || pt.lifts[0].TicketID != testTicketID || pt.lifts[0].By != "Wu Min" {
		t.Errorf("lifts %+v, expected the ticket's freeze lifted by the answerer", pt.lifts)
	}
	if status.State != store.TicketAnswered || status.Frozen {
		t.Errorf("final state %q frozen %v", status.State, status.Frozen)
	}
	want := []string{store.TicketEscalated, store.TicketAnswered}
	if got := pt.ticketStates(); !slices.Equal(got, want) {
		t.Errorf("recorded states %v, expected %v", got, want)
	}
}

func TestTicketEscalatesWithoutFreeze(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.doc.Tickets.FreezeRenewalApproval = false
	pt.signal(72*time.Hour, SignalTicketAnswered, TicketAnswer{By: "Wu Min"})
	status := pt.runTicket(ticketInput())

	if len(pt.tasksOf(activities.TaskTicketEscalation)) != 1 {
		t.Error("the overdue ticket did not escalate")
	}
	if len(pt.freezes) != 0 || len(pt.lifts) != 0 || status.Frozen {
		t.Errorf("froze %d and lifted %d with freeze_renewal_approval off", len(pt.freezes), len(pt.lifts))
	}
}

func TestTicketReturned(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.signal(5*time.Hour, SignalTicketReturned, TicketReturn{By: "Wu Min", Reason: "needs the customer's data format"})
	status := pt.runTicket(ticketInput())

	if status.State != store.TicketReturned || status.ClosedBy != "Wu Min" {
		t.Errorf("final state %q closed by %q", status.State, status.ClosedBy)
	}
	last := pt.tickets[len(pt.tickets)-1]
	if last.State != store.TicketReturned || last.ReturnReason != "needs the customer's data format" || last.ReturnedAt == nil {
		t.Errorf("return record %+v", last)
	}
	if len(pt.lifts) != 0 {
		t.Errorf("a returned ticket that froze nothing lifted %d freezes", len(pt.lifts))
	}
	if len(pt.tasksOf(activities.TaskTicketEscalation)) != 0 {
		t.Error("a returned ticket escalated")
	}
}

func TestTicketReturnedAfterEscalationLiftsOwnFreeze(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.signal(60*time.Hour, SignalTicketReturned, TicketReturn{By: "Wu Min", Reason: "duplicate of ticket 7"})
	status := pt.runTicket(ticketInput())

	if len(pt.freezes) != 1 || len(pt.lifts) != 1 || pt.lifts[0].TicketID != testTicketID {
		t.Errorf("froze %+v and lifted %+v, expected the ticket to lift only its own freeze", pt.freezes, pt.lifts)
	}
	if status.State != store.TicketReturned {
		t.Errorf("final state %q, expected returned", status.State)
	}
	want := []string{store.TicketEscalated, store.TicketReturned}
	if got := pt.ticketStates(); !slices.Equal(got, want) {
		t.Errorf("recorded states %v, expected %v", got, want)
	}
}

func TestTicketAnsweredThroughTask(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.signal(time.Hour, SignalTaskCompleted, TaskCompletion{Kind: activities.TaskRenewal, Subject: "ticket:" + testTicketID, By: "someone"})
	pt.signal(2*time.Hour, SignalTaskCompleted, TaskCompletion{Kind: activities.TaskTicket, Subject: "ticket:" + testTicketID, By: "Wu Min", Note: "shipped"})
	status := pt.runTicket(ticketInput())

	if status.State != store.TicketAnswered || status.ClosedBy != "Wu Min" {
		t.Errorf("final state %q closed by %q, expected answered by the task's completer", status.State, status.ClosedBy)
	}
	if last := pt.tickets[len(pt.tickets)-1]; last.Answer != "shipped" {
		t.Errorf("answer %q, expected the task's note", last.Answer)
	}
}

func TestTicketWithoutRoleHolders(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	delete(pt.doc.People.Roles, rules.RoleProduct)
	delete(pt.doc.People.Roles, rules.RoleCOO)
	pt.signal(50*time.Hour, SignalTicketAnswered, TicketAnswer{By: "Wu Min"})
	status := pt.runTicket(ticketInput())

	if len(pt.opened) != 0 {
		t.Errorf("opened %d tasks without role holders", len(pt.opened))
	}
	if len(pt.freezes) != 1 {
		t.Errorf("froze %d times, expected the freeze even with nobody to alert", len(pt.freezes))
	}
	if len(status.Notes) != 2 || status.RoutedTo != rules.RoleProduct {
		t.Errorf("notes %v routed to %q", status.Notes, status.RoutedTo)
	}
}

func TestTicketWithoutDeadlineNeverEscalates(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.doc.Tickets.Respond.Within = 0
	pt.signal(30*24*time.Hour, SignalTicketAnswered, TicketAnswer{By: "Wu Min"})
	status := pt.runTicket(ticketInput())

	if len(pt.tasksOf(activities.TaskTicketEscalation)) != 0 || status.EscalatedAt != nil {
		t.Error("escalated without a response deadline")
	}
	if routed := pt.tasksOf(activities.TaskTicket); len(routed) != 1 || routed[0].Key != notificationKey(ticketWorkflowID, "ticket", ticketCreated) {
		t.Errorf("ticket tasks %+v, expected one keyed by the creation time", routed)
	}
}

func TestTicketRejectsIncompleteInput(t *testing.T) {
	pt := newProcessTest(t, ticketWorkflowID)
	pt.env.ExecuteWorkflow(Ticket, TicketInput{Customer: "Cancity"})
	if err := pt.env.GetWorkflowError(); err == nil {
		t.Fatal("a ticket without an ID started")
	}
}
