package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/workflows"
)

// seedAccount stores an account as the CRM import would.
func seedAccount(t *testing.T, ts *testServer, name string) {
	t.Helper()
	now := store.Now()
	accounts := []store.Account{{Name: name, CustomerNo: numbering.CustomerNo(name), ContentHash: "seed", CreatedAt: now, UpdatedAt: now}}
	if err := store.UpsertAccounts(context.Background(), ts.store.DB, accounts); err != nil {
		t.Fatalf("store account %s: %v", name, err)
	}
}

// openTestTicket opens a ticket through the API and ends its workflow
// with the test.
func openTestTicket(t *testing.T, ts *testServer, request TicketRequest) TicketView {
	t.Helper()
	resp := ts.postJSON("/api/v1/tickets", request)
	if resp.status != http.StatusCreated {
		t.Fatalf("open ticket: status %d, expected 201; body %s", resp.status, resp.body)
	}
	var view TicketView
	resp.decode(t, &view)
	t.Cleanup(func() { terminateWorkflow(t, view.WorkflowID) })
	return view
}

func TestTicketRoutes(t *testing.T) {
	storetest.RequirePostgres(t)
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			ts := newTestServer(t, driver, withProcesses)
			ctx := context.Background()
			seedAccount(t, ts, "Cancity")
			seedAccount(t, ts, "Betasoloin")

			view := openTestTicket(t, ts, TicketRequest{Customer: " cancity ", Title: "Export invoices to SAP", Body: "monthly", From: "Lin Fang"})
			ticket := view.Ticket
			if !ticketIDPattern.MatchString(ticket.ID) || ticket.Customer != "Cancity" || ticket.State != store.TicketOpen || view.Status != "started" {
				t.Errorf("opened ticket %+v status %q, expected open for Cancity as recorded", ticket, view.Status)
			}
			if view.WorkflowID != workflows.TicketWorkflowID(ticket.ID) {
				t.Errorf("workflow id %q", view.WorkflowID)
			}
			if status := workflowStatus(t, view.WorkflowID); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				t.Errorf("ticket workflow %s, expected running", status)
			}
			stored, err := store.GetTicket(ctx, ts.store.DB, ticket.ID)
			if err != nil || stored.WorkflowStartedAt == nil {
				t.Errorf("stored ticket %+v err %v, expected workflow_started_at set", stored, err)
			}
			other := openTestTicket(t, ts, TicketRequest{Customer: "Betasoloin", Title: "API limits", From: "Lin Fang"})

			var list TicketList
			resp := ts.do(http.MethodGet, "/api/v1/tickets?customer=CANCITY", nil, nil)
			resp.decode(t, &list)
			if resp.status != http.StatusOK || len(list.Tickets) != 1 || list.Tickets[0].ID != ticket.ID {
				t.Errorf("Cancity's tickets: status %d, %+v", resp.status, list.Tickets)
			}
			resp = ts.do(http.MethodGet, "/api/v1/tickets?state=open", nil, nil)
			resp.decode(t, &list)
			if len(list.Tickets) != 2 || list.Tickets[0].ID != other.Ticket.ID {
				t.Errorf("open tickets %+v, expected both, newest first", list.Tickets)
			}
			ts.do(http.MethodGet, "/api/v1/tickets?state=closed", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "open, escalated, answered or returned")

			path := "/api/v1/tickets/" + ticket.ID
			resp = ts.postJSON(path+"/answer", TicketAnswerRequest{Answer: "planned for 2027 Q3", By: "Wu Min"})
			if resp.status != http.StatusAccepted {
				t.Fatalf("answer: status %d; body %s", resp.status, resp.body)
			}
			answers := signalsOf[workflows.TicketAnswer](t, view.WorkflowID, workflows.SignalTicketAnswered)
			if len(answers) != 1 || answers[0].Answer != "planned for 2027 Q3" || answers[0].By != "Wu Min" {
				t.Errorf("answer signals %+v", answers)
			}
			otherPath := "/api/v1/tickets/" + other.Ticket.ID
			if resp := ts.postJSON(otherPath+"/return", TicketReturnRequest{Reason: "which API?", By: "Wu Min"}); resp.status != http.StatusAccepted {
				t.Fatalf("return: status %d; body %s", resp.status, resp.body)
			}
			returns := signalsOf[workflows.TicketReturn](t, other.WorkflowID, workflows.SignalTicketReturned)
			if len(returns) != 1 || returns[0].Reason != "which API?" {
				t.Errorf("return signals %+v", returns)
			}

			ts.postJSON(path+"/answer", TicketAnswerRequest{By: "Wu Min"}).expectError(t, http.StatusBadRequest, "invalid_argument", "answer is required")
			ts.postJSON(path+"/return", TicketReturnRequest{By: "Wu Min"}).expectError(t, http.StatusBadRequest, "invalid_argument", "reason is required")

			// The workflow records the answer; a ticket answered already
			// takes no second one.
			answeredAt := time.Now()
			if err := store.UpdateTicket(ctx, ts.store.DB, store.TicketChange{ID: ticket.ID, State: store.TicketAnswered, AnsweredAt: &answeredAt}); err != nil {
				t.Fatalf("record answer: %v", err)
			}
			ts.postJSON(path+"/return", TicketReturnRequest{Reason: "late"}).expectError(t, http.StatusConflict, "conflict", "answered already")

			var shown TicketView
			resp = ts.do(http.MethodGet, path+"?live=false", nil, nil)
			resp.decode(t, &shown)
			if resp.status != http.StatusOK || shown.Ticket.State != store.TicketAnswered || shown.Freeze != nil {
				t.Errorf("show: status %d view %+v", resp.status, shown)
			}
			ts.do(http.MethodGet, "/api/v1/tickets/42", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "TK- and ten hex digits")
			ts.do(http.MethodGet, "/api/v1/tickets/tk-00000000ff", nil, nil).expectError(t, http.StatusNotFound, "not_found", "TK-00000000FF")
		})
	}
}

func TestTicketRejected(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	seedAccount(t, ts, "Cancity")
	tests := []struct {
		name    string
		request TicketRequest
		status  int
		code    string
		words   []string
	}{
		{"no customer", TicketRequest{Title: "x", From: "a"}, http.StatusBadRequest, "invalid_argument", []string{"customer is required"}},
		{"no title", TicketRequest{Customer: "Cancity", From: "a"}, http.StatusBadRequest, "invalid_argument", []string{"title is required"}},
		{"no sender", TicketRequest{Customer: "Cancity", Title: "x"}, http.StatusBadRequest, "invalid_argument", []string{"from is required"}},
		{"long title", TicketRequest{Customer: "Cancity", Title: strings.Repeat("长", 201), From: "a"}, http.StatusBadRequest, "invalid_argument", []string{"201 characters", "at most 200"}},
		{"unknown customer", TicketRequest{Customer: "Nobody Inc", Title: "x", From: "a"}, http.StatusUnprocessableEntity, "unknown_customer", []string{"Nobody Inc", "not a known account"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts.postJSON("/api/v1/tickets", tc.request).expectError(t, tc.status, tc.code, tc.words...)
		})
	}
	tickets, err := store.ListTickets(context.Background(), ts.store.DB, store.TicketFilter{})
	if err != nil || len(tickets) != 0 {
		t.Errorf("rejected requests stored tickets %+v err %v", tickets, err)
	}
}

func TestTicketNotStartedYet(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	ticket := &store.Ticket{Customer: "Cancity", Title: "SAP export", From: "Lin Fang"}
	if err := store.InsertTicket(context.Background(), ts.store.DB, ticket); err != nil {
		t.Fatalf("store ticket: %v", err)
	}
	ts.postJSON("/api/v1/tickets/"+ticket.ID+"/answer", TicketAnswerRequest{Answer: "done"}).
		expectError(t, http.StatusConflict, "not_started", "retry in a few seconds")

	t.Cleanup(func() { terminateWorkflow(t, workflows.TicketWorkflowID(ticket.ID)) })
	started, err := ts.server.Tickets.StartPending(context.Background())
	if err != nil || started != 1 {
		t.Fatalf("start pending tickets: started %d err %v", started, err)
	}
	if status := workflowStatus(t, workflows.TicketWorkflowID(ticket.ID)); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("ticket workflow %s after the pending pass, expected running", status)
	}
	if again, err := ts.server.Tickets.StartPending(context.Background()); err != nil || again != 0 {
		t.Errorf("second pass started %d err %v, expected nothing", again, err)
	}
}

func TestCustomerRoutes(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	ctx := context.Background()
	seedAccount(t, ts, "Cancity")
	ticket := &store.Ticket{Customer: "Cancity", Title: "SAP export", From: "Lin Fang"}
	if err := store.InsertTicket(ctx, ts.store.DB, ticket); err != nil {
		t.Fatalf("store ticket: %v", err)
	}
	if _, err := store.FreezeRenewalApproval(ctx, ts.store.DB, &store.CustomerFreeze{Customer: "Cancity", Reason: "ticket unanswered", TicketID: ticket.ID}); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	if err := store.TagCustomer(ctx, ts.store.DB, &store.CustomerTag{Customer: "Cancity", Tag: store.TagRenewalDue, Color: store.ColorRed, Source: "contract:CT-1"}); err != nil {
		t.Fatalf("tag: %v", err)
	}

	var view CustomerView
	resp := ts.do(http.MethodGet, "/api/v1/customers/cancity", nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("show customer: status %d; body %s", resp.status, resp.body)
	}
	resp.decode(t, &view)
	if view.Account.Name != "Cancity" || len(view.Tags) != 1 || view.Tags[0].Color != store.ColorRed {
		t.Errorf("customer view %+v, expected Cancity with a red tag", view)
	}
	if !view.RenewalApprovalFrozen || !strings.HasPrefix(view.FrozenReason, "ticket ") || !strings.HasSuffix(view.FrozenReason, ": ticket unanswered") || len(view.Freezes) != 1 {
		t.Errorf("frozen %v reason %q freezes %+v", view.RenewalApprovalFrozen, view.FrozenReason, view.Freezes)
	}
	ts.do(http.MethodGet, "/api/v1/customers/Nobody%20Inc", nil, nil).expectError(t, http.StatusNotFound, "not_found", "Nobody Inc")

	resp = ts.postJSON("/api/v1/customers/Cancity/contact", ContactRequest{Name: "Wang Wei", Phone: "+86 138 0013 8000"})
	if resp.status != http.StatusOK {
		t.Fatalf("set contact: status %d; body %s", resp.status, resp.body)
	}
	var account store.Account
	resp.decode(t, &account)
	if account.ContactName != "Wang Wei" || account.ContactPhone != "+86 138 0013 8000" {
		t.Errorf("account after setting the contact %+v", account)
	}
	ts.postJSON("/api/v1/customers/Cancity/contact", ContactRequest{Phone: "call me"}).expectError(t, http.StatusBadRequest, "invalid_argument", "not a phone number")
	ts.postJSON("/api/v1/customers/Cancity/contact", ContactRequest{}).expectError(t, http.StatusBadRequest, "invalid_argument", "name or phone")
}
