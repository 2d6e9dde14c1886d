package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/store"
)

// TestRenewalAndTicketOnStack drives a renewal and a ticket through
// `ordo dev`: the contract-signed event with an end date inside the notice
// period, the reminder with its red tag, an action, a renewal that starts
// the next term, and a ticket that is answered.
//
// It expects the default rules to give a notice period of more than ten
// days and a customer success manager, a product role and a COO.
func TestRenewalAndTicketOnStack(t *testing.T) {
	s := startStack(t, stackOptions{LocalActivities: true})
	ctx := context.Background()
	no := "CT-RENEWSTACK"
	endDate := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	event := sampleEvent(no, 2)
	event.EndDate = endDate
	event.Account.ContactPhone = "13800138000"
	postSignedEvent(t, s.APIURL, s.Secret, event)

	renewal := waitRenewal(t, s, no, store.RenewalReminded)
	if renewal.EndDate == nil || renewal.EndDate.Format(time.DateOnly) != endDate {
		t.Errorf("end date %v, expected %s", renewal.EndDate, endDate)
	}
	var customer api.CustomerView
	if err := s.API.Get(ctx, "/api/v1/customers/"+event.Account.Name, nil, &customer); err != nil {
		t.Fatalf("show customer: %v", err)
	}
	if len(customer.Tags) != 1 || customer.Tags[0].Color != store.ColorRed {
		t.Errorf("customer tags %+v, expected one red tag", customer.Tags)
	}

	acted := api.RenewalRequest{Action: api.RenewalActionActed, Note: "called the buyer", By: "stack test"}
	if err := s.API.Post(ctx, "/api/v1/contracts/"+no+"/renewal", acted, nil); err != nil {
		t.Fatalf("report action: %v", err)
	}
	waitRenewal(t, s, no, store.RenewalActed)

	next := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	renewed := api.RenewalRequest{Action: api.RenewalActionRenewed, NewEndDate: next, By: "stack test"}
	if err := s.API.Post(ctx, "/api/v1/contracts/"+no+"/renewal", renewed, nil); err != nil {
		t.Fatalf("report renewal: %v", err)
	}
	renewal = waitRenewal(t, s, no, store.RenewalScheduled)
	if renewal.EndDate == nil || renewal.EndDate.Format(time.DateOnly) != next {
		t.Errorf("end date after the renewal %v, expected %s", renewal.EndDate, next)
	}
	if err := s.API.Get(ctx, "/api/v1/customers/"+event.Account.Name, nil, &customer); err != nil {
		t.Fatalf("show customer: %v", err)
	}
	if len(customer.Tags) != 0 {
		t.Errorf("tags after the renewal %+v, expected the red tag cleared", customer.Tags)
	}

	var opened api.TicketView
	request := api.TicketRequest{Customer: event.Account.Name, Title: "Export invoices to SAP", From: "stack test"}
	if err := s.API.Post(ctx, "/api/v1/tickets", request, &opened); err != nil {
		t.Fatalf("open ticket: %v", err)
	}
	waitFor(t, "ticket routed", func() bool {
		var view api.TicketView
		return s.API.Get(ctx, "/api/v1/tickets/"+opened.Ticket.ID, nil, &view) == nil && view.Ticket.RoutedTo != ""
	})
	answer := api.TicketAnswerRequest{Answer: "planned for the next release", By: "stack test"}
	if err := s.API.Post(ctx, "/api/v1/tickets/"+opened.Ticket.ID+"/answer", answer, nil); err != nil {
		t.Fatalf("answer ticket: %v", err)
	}
	waitFor(t, "ticket answered", func() bool {
		var view api.TicketView
		return s.API.Get(ctx, "/api/v1/tickets/"+opened.Ticket.ID, nil, &view) == nil && view.Ticket.State == store.TicketAnswered
	})
}

// waitRenewal waits until the stored renewal state of a contract is want.
func waitRenewal(t *testing.T, s *stack, no, want string) api.RenewalView {
	t.Helper()
	var view api.RenewalView
	waitFor(t, "renewal of "+no+" in state "+want, func() bool {
		return s.API.Get(context.Background(), "/api/v1/contracts/"+no+"/renewal?live=false", nil, &view) == nil && view.State == want
	})
	return view
}
