package app_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/devserver"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/workflows"
)

// historyTaskQueue is the task queue of the renewal and ticket history
// capture, served only by its own worker.
const historyTaskQueue = "history-renewals-tickets"

// TestWriteHistoriesRenewalsAndTickets captures histories of the renewal
// and ticket workflows for workflows/replay_test.go. It runs with
// TestWriteHistories (the -run pattern matches both) when
// ORDO_WRITE_HISTORIES is set.
//
// The workflows run on the embedded Temporal server against a real store,
// with second-long deadlines so the reminders and escalations happen within
// the test. The rules and task activities are stand-ins registered under
// the names of RulesActivities and TaskActivities: only the commands the
// workflow issues matter to a replay, not what the activities did.
func TestWriteHistoriesRenewalsAndTickets(t *testing.T) {
	if os.Getenv(WriteHistoriesEnv) == "" {
		t.Skipf("set %s=1 to capture workflow histories into %s", WriteHistoriesEnv, historiesDir)
	}
	ctx := context.Background()
	c, st := startHistoryWorker(t)

	t.Run("renewal", func(t *testing.T) {
		no := "CT-HISTRENEW"
		seedHistoryContract(t, st, no)
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatalf("load time zone: %v", err)
		}
		now := time.Now().In(loc)
		endDate := time.Date(now.Year(), now.Month(), now.Day()+2, 0, 0, 0, 0, time.UTC)
		endDay := time.Date(now.Year(), now.Month(), now.Day()+2, 9, 0, 0, 0, loc)
		// The reminder fires three seconds from now.
		historyRules.set(func(doc *rules.Document) {
			doc.Renewals.NoticeBefore = rules.Duration(endDay.Sub(now.Add(3 * time.Second)).Truncate(time.Second))
		})
		id := workflows.RenewalWorkflowID(no)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: historyTaskQueue},
			workflows.RenewalName, workflows.RenewalInput{ContractNo: no, Customer: "Cancity", SalesAgent: "Moses Frase", EndDate: endDate, Cycle: 1})
		if err != nil {
			t.Fatalf("start renewal: %v", err)
		}
		t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "history captured") })

		waitRenewalState(t, c, id, store.RenewalEscalated)
		signal(t, c, id, workflows.SignalRenewalActed, workflows.RenewalActed{By: "Lin Fang", Note: "called the buyer"})
		waitRenewalState(t, c, id, store.RenewalActed)
		moved := endDate.AddDate(0, 3, 0)
		signal(t, c, id, workflows.SignalEndDateChanged, workflows.EndDateChange{EndDate: moved, By: "Lin Fang"})
		waitRenewalState(t, c, id, store.RenewalScheduled)
		next := moved.AddDate(1, 0, 0)
		signal(t, c, id, workflows.SignalRenewalRenewed, workflows.RenewalRenewed{NewEndDate: &next, By: "Lin Fang"})
		waitRunClosed(t, c, id, run.GetRunID(), enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
		writeHistoryFile(t, c, id, run.GetRunID(), "renewal_escalated_moved_renewed.json")
	})

	t.Run("ticket escalated and answered", func(t *testing.T) {
		historyRules.set(func(doc *rules.Document) { doc.Tickets.Respond.Within = rules.Duration(2 * time.Second) })
		ticket := seedHistoryTicket(t, st)
		id := workflows.TicketWorkflowID(ticket.ID)
		run := startHistoryTicket(t, c, ticket)
		waitFor(t, "ticket "+ticket.ID+" frozen", func() bool {
			frozen, _, err := store.IsRenewalApprovalFrozen(ctx, st.DB, ticket.Customer)
			return err == nil && frozen
		})
		signal(t, c, id, workflows.SignalTicketAnswered, workflows.TicketAnswer{By: "Wu Min", Answer: "planned for the next release"})
		waitRunClosed(t, c, id, run.GetRunID(), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
		if frozen, _, err := store.IsRenewalApprovalFrozen(ctx, st.DB, ticket.Customer); err != nil || frozen {
			t.Fatalf("still frozen after the answer: %v %v", frozen, err)
		}
		writeHistoryFile(t, c, id, run.GetRunID(), "ticket_escalated_answered.json")
	})

	t.Run("ticket returned", func(t *testing.T) {
		historyRules.set(func(doc *rules.Document) { doc.Tickets.Respond.Within = rules.Duration(time.Hour) })
		ticket := seedHistoryTicket(t, st)
		id := workflows.TicketWorkflowID(ticket.ID)
		run := startHistoryTicket(t, c, ticket)
		waitFor(t, "ticket "+ticket.ID+" routed", func() bool {
			stored, err := store.GetTicket(ctx, st.DB, ticket.ID)
			return err == nil && stored.RoutedTo != ""
		})
		signal(t, c, id, workflows.SignalTicketReturned, workflows.TicketReturn{By: "Wu Min", Reason: "which export format?"})
		waitRunClosed(t, c, id, run.GetRunID(), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
		writeHistoryFile(t, c, id, run.GetRunID(), "ticket_returned.json")
	})
}

// historyRules is the rules document the stand-in Rules activity returns;
// each scenario sets its deadlines before it starts a workflow.
var historyRules = &standInRules{doc: rules.Document{
	Renewals: rules.Renewals{
		ActWithin:  rules.Deadline{Within: rules.Duration(3 * time.Second), Hours: rules.CalendarHours},
		EscalateTo: rules.RoleSalesDirector,
	},
	Tickets: rules.Tickets{
		RouteTo: rules.RoleProduct, EscalateTo: rules.RoleCOO, FreezeRenewalApproval: true,
		Respond: rules.Deadline{Hours: rules.CalendarHours},
	},
	Calendar: rules.Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:00", DayEnd: "18:00"},
	People: rules.People{EmailDomain: "example.com", Roles: map[string]rules.Person{
		rules.RoleCustomerSuccess: {Name: "Lin Fang"}, rules.RoleSalesDirector: {Name: "Zhao Lei"},
		rules.RoleProduct: {Name: "Wu Min"}, rules.RoleCOO: {Name: "Chen Jie"},
	}},
}}

// standInRules serves one rules version under the activity names of
// RulesActivities.
type standInRules struct {
	mu  sync.Mutex
	doc rules.Document
}

func (r *standInRules) set(change func(doc *rules.Document)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	change(&r.doc)
}

func (r *standInRules) Rules(context.Context, activities.RulesRequest) (activities.RulesVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return activities.RulesVersion{Version: 1, Document: r.doc, AppliedBy: "history capture"}, nil
}

func (r *standInRules) Deadline(_ context.Context, in activities.DeadlineRequest) (activities.DeadlineResult, error) {
	return activities.DeadlineResult{Deadline: in.Start.Add(in.Within.D()), Now: time.Now()}, nil
}

// standInTasks numbers tasks under the activity names of TaskActivities.
type standInTasks struct {
	mu   sync.Mutex
	next int64
}

func (s *standInTasks) OpenTask(context.Context, activities.TaskRequest) (activities.TaskResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return activities.TaskResult{TaskID: s.next, Created: true}, nil
}

func (s *standInTasks) CloseTasks(context.Context, activities.CloseTasksRequest) error { return nil }

// startHistoryWorker starts an embedded Temporal server, a store and a
// worker of the renewal and ticket workflows on historyTaskQueue.
func startHistoryWorker(t *testing.T) (client.Client, *store.Store) {
	t.Helper()
	c := startHistoryTemporal(t)
	st := storetest.Open(t, "sqlite")
	w := worker.New(c, historyTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Renewal, workflow.RegisterOptions{Name: workflows.RenewalName})
	w.RegisterWorkflowWithOptions(workflows.Ticket, workflow.RegisterOptions{Name: workflows.TicketName})
	w.RegisterActivity(&activities.CustomerActivities{Store: st, Logger: logging.Discard()})
	w.RegisterActivity(historyRules)
	w.RegisterActivity(&standInTasks{})
	if err := w.Start(); err != nil {
		t.Fatalf("start history worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return c, st
}

func seedHistoryContract(t *testing.T, st *store.Store, no string) {
	t.Helper()
	now := store.Now()
	amount := decimal.RequireFromString("1000.00")
	contract := &store.Contract{
		ContractNo: no, AccountName: "Cancity", CustomerNo: numbering.CustomerNo("Cancity"),
		ProductName: "GTX Basic", ProductNo: numbering.ProductNo("GTX Basic"), SalesAgent: "Moses Frase",
		Quantity: decimal.NewFromInt(1), UnitPrice: amount, Amount: amount, Currency: "USD",
		TaxRate: decimal.RequireFromString("0.13"), TaxCode: "1090511990000000000",
		SignedOn: now.AddDate(-1, 0, 0), Source: store.SourceWebhook, State: store.ContractPaid,
		PaidAmount: amount, WorkflowID: numbering.ContractWorkflowID(no), RenewalState: store.RenewalScheduled,
		ContentHash: "history", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := st.CreateContract(context.Background(), contract, nil); err != nil {
		t.Fatalf("store contract %s: %v", no, err)
	}
}

func seedHistoryTicket(t *testing.T, st *store.Store) *store.Ticket {
	t.Helper()
	ticket := &store.Ticket{Customer: "Cancity", Title: "Export invoices to SAP", From: "Lin Fang"}
	if err := store.InsertTicket(context.Background(), st.DB, ticket); err != nil {
		t.Fatalf("store ticket: %v", err)
	}
	return ticket
}

func startHistoryTicket(t *testing.T, c client.Client, ticket *store.Ticket) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(context.Background(),
		client.StartWorkflowOptions{ID: workflows.TicketWorkflowID(ticket.ID), TaskQueue: historyTaskQueue},
		workflows.TicketName, workflows.TicketInput{
			TicketID: ticket.ID, Customer: ticket.Customer, Title: ticket.Title, From: ticket.From, CreatedAt: ticket.CreatedAt,
		})
	if err != nil {
		t.Fatalf("start ticket %s: %v", ticket.ID, err)
	}
	return run
}

func signal(t *testing.T, c client.Client, workflowID, name string, arg any) {
	t.Helper()
	if err := c.SignalWorkflow(context.Background(), workflowID, "", name, arg); err != nil {
		t.Fatalf("signal %s to %s: %v", name, workflowID, err)
	}
}

// waitRenewalState waits until the renewal's status query shows state.
func waitRenewalState(t *testing.T, c client.Client, workflowID, state string) {
	t.Helper()
	waitFor(t, workflowID+" in state "+state, func() bool {
		encoded, err := c.QueryWorkflow(context.Background(), workflowID, "", workflows.QueryStatus)
		if err != nil {
			return false
		}
		var status workflows.RenewalStatus
		return encoded.Get(&status) == nil && status.State == state
	})
}

func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within 30s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeHistoryFile writes one run's history to workflows/testdata/name in
// the JSON form the replayer reads. The capture runs with no credentials,
// so unlike writeHistory it has no secrets to look for.
func writeHistoryFile(t *testing.T, c client.Client, workflowID, runID, name string) {
	t.Helper()
	history := &historypb.History{}
	iter := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatalf("read history of %s: %v", workflowID, err)
		}
		history.Events = append(history.Events, event)
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(history)
	if err != nil {
		t.Fatalf("encode history of %s: %v", workflowID, err)
	}
	path := filepath.Join(historiesDir, name)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatalf("write history of %s: %v", workflowID, err)
	}
	t.Logf("wrote %s: %d events of %s", path, len(history.Events), workflowID)
}

// startHistoryTemporal starts an embedded Temporal server and returns a
// client of it. Both stop when the test ends.
func startHistoryTemporal(t *testing.T) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Config{DataDir: t.TempDir(), FrontendAddress: freeAddress(t)})
	if err != nil {
		t.Fatalf("start embedded Temporal server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c, err := client.Dial(client.Options{
		HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
		Logger: logging.NewSDKLogger(logging.Discard().WithField(logging.KeyComponent, "history-client")),
	})
	if err != nil {
		t.Fatalf("connect to Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}
