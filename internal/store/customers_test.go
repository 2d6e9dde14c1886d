package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func insertAccount(t *testing.T, s *store.Store, name string) {
	t.Helper()
	now := store.Now()
	account := []store.Account{{Name: name, CustomerNo: numbering.CustomerNo(name), ContentHash: "h", CreatedAt: now, UpdatedAt: now}}
	if err := store.UpsertAccounts(context.Background(), s.DB, account); err != nil {
		t.Fatalf("insert account %s: %v", name, err)
	}
}

func TestCustomerTags(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2027, 5, 31, 1, 0, 0, 0, time.UTC)
		tag := func(source, note string, at time.Time) {
			t.Helper()
			err := store.TagCustomer(ctx, s.DB, &store.CustomerTag{
				Customer: "Cancity", Tag: store.TagRenewalDue, Color: store.ColorRed, Source: source, Note: note, TaggedAt: at,
			})
			if err != nil {
				t.Fatalf("tag from %s: %v", source, err)
			}
		}
		tag("contract:CT-1", "ends 2027-06-30", at)
		tag("contract:CT-1", "ends 2027-06-30 (retry)", at.Add(time.Hour))
		tag("contract:CT-2", "ends 2027-07-31", at)

		// Case and space do not matter: the customer number is the key.
		tags, err := store.CustomerTags(ctx, s.DB, " CANCITY ", false)
		if err != nil {
			t.Fatalf("read tags: %v", err)
		}
		if len(tags) != 2 {
			t.Fatalf("%d open tags, expected one per contract: %+v", len(tags), tags)
		}
		if !tags[0].TaggedAt.Equal(at) || tags[0].Note != "ends 2027-06-30 (retry)" {
			t.Errorf("retagged tag at %s note %q, expected the first time and the new note", tags[0].TaggedAt, tags[0].Note)
		}

		cleared, err := store.ClearCustomerTag(ctx, s.DB, "Cancity", store.TagRenewalDue, "contract:CT-1", "contract renewed", at.Add(48*time.Hour))
		if err != nil || !cleared {
			t.Fatalf("clear tag: cleared=%v err=%v", cleared, err)
		}
		again, err := store.ClearCustomerTag(ctx, s.DB, "Cancity", store.TagRenewalDue, "contract:CT-1", "again", at.Add(72*time.Hour))
		if err != nil || again {
			t.Errorf("second clear: cleared=%v err=%v, expected false", again, err)
		}
		open, err := store.CustomerTags(ctx, s.DB, "Cancity", false)
		if err != nil || len(open) != 1 || open[0].Source != "contract:CT-2" {
			t.Fatalf("open tags after clearing %+v err %v, expected only CT-2's", open, err)
		}
		all, err := store.CustomerTags(ctx, s.DB, "Cancity", true)
		if err != nil || len(all) != 2 {
			t.Fatalf("all tags %+v err %v, expected 2", all, err)
		}
		if all[0].ClearedAt == nil || all[0].ClearedReason != "contract renewed" {
			t.Errorf("cleared tag %+v", all[0])
		}

		// Tagging a cleared tag opens it again from the new moment.
		reopened := at.Add(365 * 24 * time.Hour)
		tag("contract:CT-1", "ends 2028-06-30", reopened)
		open, err = store.CustomerTags(ctx, s.DB, "Cancity", false)
		if err != nil || len(open) != 2 {
			t.Fatalf("open tags after retagging %+v err %v", open, err)
		}
		for _, tag := range open {
			if tag.Source == "contract:CT-1" && (!tag.TaggedAt.Equal(reopened) || tag.ClearedReason != "") {
				t.Errorf("reopened tag %+v, expected tagged at %s and no clear reason", tag, reopened)
			}
		}
	})
}

func TestRenewalApprovalFreezes(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := &store.Ticket{Customer: "Cancity", Title: "SAP export", From: "Lin Fang"}
		second := &store.Ticket{Customer: "Cancity", Title: "Dark mode", From: "Lin Fang"}
		other := &store.Ticket{Customer: "Betasoloin", Title: "API limits", From: "Lin Fang"}
		for _, ticket := range []*store.Ticket{first, second, other} {
			if err := store.InsertTicket(ctx, s.DB, ticket); err != nil {
				t.Fatalf("insert ticket: %v", err)
			}
		}

		frozen, reason, err := store.IsRenewalApprovalFrozen(ctx, s.DB, "Cancity")
		if err != nil || frozen || reason != "" {
			t.Fatalf("before any freeze: frozen=%v reason=%q err=%v", frozen, reason, err)
		}
		at := time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC)
		freeze := func(ticket *store.Ticket, reason string) bool {
			t.Helper()
			created, err := store.FreezeRenewalApproval(ctx, s.DB, &store.CustomerFreeze{
				Customer: ticket.Customer, Reason: reason, TicketID: ticket.ID, FrozenAt: at,
			})
			if err != nil {
				t.Fatalf("freeze for ticket %s: %v", ticket.ID, err)
			}
			return created
		}
		if !freeze(first, "SAP export unanswered") {
			t.Fatal("the first freeze was not recorded")
		}
		if freeze(first, "SAP export unanswered (retry)") {
			t.Error("a ticket froze twice")
		}
		freeze(second, "dark mode unanswered")

		frozen, reason, err = store.IsRenewalApprovalFrozen(ctx, s.DB, "cancity")
		if err != nil || !frozen {
			t.Fatalf("frozen=%v err=%v, expected frozen", frozen, err)
		}
		if reason != "ticket "+first.ID+": SAP export unanswered (and 1 more unanswered tickets)" {
			t.Errorf("reason %q", reason)
		}
		if frozen, _, _ := store.IsRenewalApprovalFrozen(ctx, s.DB, "Betasoloin"); frozen {
			t.Error("another customer's renewal approval is frozen")
		}

		// A ticket lifts only its own freeze.
		lifted, err := store.LiftTicketFreeze(ctx, s.DB, other.ID, "Wu Min", "returned", at)
		if err != nil || lifted {
			t.Errorf("lifting a freeze the ticket never set: lifted=%v err=%v", lifted, err)
		}
		lifted, err = store.LiftTicketFreeze(ctx, s.DB, first.ID, "Wu Min", "ticket answered", at.Add(time.Hour))
		if err != nil || !lifted {
			t.Fatalf("lift the first freeze: lifted=%v err=%v", lifted, err)
		}
		frozen, reason, err = store.IsRenewalApprovalFrozen(ctx, s.DB, "Cancity")
		if err != nil || !frozen || reason != "ticket "+second.ID+": dark mode unanswered" {
			t.Errorf("after one lift: frozen=%v reason=%q err=%v, expected the second ticket's freeze", frozen, reason, err)
		}
		if _, err := store.LiftTicketFreeze(ctx, s.DB, second.ID, "Wu Min", "ticket answered", at.Add(2*time.Hour)); err != nil {
			t.Fatalf("lift the second freeze: %v", err)
		}
		if frozen, _, _ := store.IsRenewalApprovalFrozen(ctx, s.DB, "Cancity"); frozen {
			t.Error("still frozen after both tickets lifted their freezes")
		}
		all, err := store.CustomerFreezes(ctx, s.DB, "Cancity", true)
		if err != nil || len(all) != 2 || all[0].LiftedBy != "Wu Min" || all[0].LiftedAt == nil {
			t.Errorf("freeze history %+v err %v", all, err)
		}
	})
}

func TestTicketRecords(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		created := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
		ticket := &store.Ticket{Customer: "Cancity", Title: "SAP export", Body: "monthly", From: "Lin Fang", CreatedAt: created}
		if err := store.InsertTicket(ctx, s.DB, ticket); err != nil {
			t.Fatalf("insert ticket: %v", err)
		}
		if !strings.HasPrefix(ticket.ID, "TK-") || len(ticket.ID) != 13 || ticket.State != store.TicketOpen {
			t.Fatalf("inserted ticket id %q state %q", ticket.ID, ticket.State)
		}
		unstarted, err := store.UnstartedTickets(ctx, s.DB, 10)
		if err != nil || len(unstarted) != 1 {
			t.Fatalf("unstarted tickets %+v err %v", unstarted, err)
		}
		if err := store.MarkTicketStarted(ctx, s.DB, ticket.ID, created); err != nil {
			t.Fatalf("mark started: %v", err)
		}
		if unstarted, _ = store.UnstartedTickets(ctx, s.DB, 10); len(unstarted) != 0 {
			t.Errorf("a started ticket is listed as unstarted")
		}

		respondBy := created.Add(48 * time.Hour)
		escalated := respondBy
		steps := []store.TicketChange{
			{ID: ticket.ID, RoutedTo: "Wu Min", RulesVersion: 3, RespondBy: &respondBy},
			{ID: ticket.ID, State: store.TicketEscalated, EscalatedAt: &escalated},
		}
		later := escalated.Add(time.Hour)
		// A retried escalation keeps the first time.
		steps = append(steps, store.TicketChange{ID: ticket.ID, State: store.TicketEscalated, EscalatedAt: &later})
		answered := created.Add(72 * time.Hour)
		steps = append(steps, store.TicketChange{ID: ticket.ID, State: store.TicketAnswered, Answer: "next release", AnsweredBy: "Wu Min", AnsweredAt: &answered})
		for _, step := range steps {
			if err := store.UpdateTicket(ctx, s.DB, step); err != nil {
				t.Fatalf("update ticket: %v", err)
			}
		}
		got, err := store.GetTicket(ctx, s.DB, ticket.ID)
		if err != nil {
			t.Fatalf("get ticket: %v", err)
		}
		if got.State != store.TicketAnswered || got.RoutedTo != "Wu Min" || got.RulesVersion != 3 || got.Answer != "next release" {
			t.Errorf("ticket %+v", got)
		}
		if got.EscalatedAt == nil || !got.EscalatedAt.Equal(escalated) || got.AnsweredAt == nil || !got.AnsweredAt.Equal(answered) {
			t.Errorf("escalated at %v answered at %v, expected %s and %s", got.EscalatedAt, got.AnsweredAt, escalated, answered)
		}
		if got.CustomerNo != numbering.CustomerNo("Cancity") || got.From != "Lin Fang" {
			t.Errorf("customer no %q from %q", got.CustomerNo, got.From)
		}

		if err := store.UpdateTicket(ctx, s.DB, store.TicketChange{ID: "TK-0000000000", State: store.TicketAnswered}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update of a missing ticket: %v, expected ErrNotFound", err)
		}
		if _, err := store.GetTicket(ctx, s.DB, "TK-0000000000"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get of a missing ticket: %v, expected ErrNotFound", err)
		}

		returned := &store.Ticket{Customer: "cancity", Title: "Dark mode", From: "Lin Fang", CreatedAt: created.Add(time.Hour)}
		if err := store.InsertTicket(ctx, s.DB, returned); err != nil {
			t.Fatalf("insert second ticket: %v", err)
		}
		returnedAt := created.Add(2 * time.Hour)
		if err := store.UpdateTicket(ctx, s.DB, store.TicketChange{ID: returned.ID, State: store.TicketReturned, ReturnReason: "unclear", ReturnedBy: "Wu Min", ReturnedAt: &returnedAt}); err != nil {
			t.Fatalf("return ticket: %v", err)
		}
		open := &store.Ticket{Customer: "Betasoloin", Title: "API limits", From: "Lin Fang", CreatedAt: created.Add(3 * time.Hour)}
		if err := store.InsertTicket(ctx, s.DB, open); err != nil {
			t.Fatalf("insert third ticket: %v", err)
		}

		list, err := store.ListTickets(ctx, s.DB, store.TicketFilter{Customer: "CANCITY"})
		if err != nil || len(list) != 2 || list[0].ID != returned.ID {
			t.Errorf("Cancity's tickets %+v err %v, expected 2 newest first", list, err)
		}
		list, err = store.ListTickets(ctx, s.DB, store.TicketFilter{State: store.TicketOpen})
		if err != nil || len(list) != 1 || list[0].ID != open.ID {
			t.Errorf("open tickets %+v err %v", list, err)
		}

		counts, err := store.CountTickets(ctx, s.DB, created, created.Add(24*time.Hour))
		if err != nil {
			t.Fatalf("count tickets: %v", err)
		}
		if counts.Routed != 3 || counts.Blocked != 2 {
			t.Errorf("counts %+v, expected 3 routed and 2 blocked (one escalated, one returned)", counts)
		}
	})
}

func TestRenewalStates(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, plan := sampleContract("CT-R1")
		c.RenewalState = store.RenewalPending
		if _, err := s.CreateContract(ctx, c, plan); err != nil {
			t.Fatalf("create contract: %v", err)
		}
		pending, err := s.PendingRenewals(ctx, 10)
		if err != nil || len(pending) != 1 || pending[0].ContractNo != "CT-R1" {
			t.Fatalf("pending renewals %+v err %v", pending, err)
		}

		end := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
		remind := time.Date(2027, 5, 31, 1, 0, 0, 0, time.UTC)
		changed, err := store.RecordRenewal(ctx, s.DB, store.RenewalChange{
			ContractNo: "CT-R1", State: store.RenewalScheduled, EndDate: &end, RemindAt: &remind, OnlyFrom: []string{store.RenewalPending},
		})
		if err != nil || !changed {
			t.Fatalf("schedule: changed=%v err=%v", changed, err)
		}
		// The planner does not overwrite what a workflow recorded.
		changed, err = store.RecordRenewal(ctx, s.DB, store.RenewalChange{
			ContractNo: "CT-R1", State: store.RenewalExpired, OnlyFrom: []string{store.RenewalPending},
		})
		if err != nil || changed {
			t.Errorf("guarded change of a scheduled contract: changed=%v err=%v", changed, err)
		}
		got, err := s.GetContract(ctx, "CT-R1")
		if err != nil {
			t.Fatalf("get contract: %v", err)
		}
		if got.RenewalState != store.RenewalScheduled || got.EndDate == nil || !got.EndDate.Equal(end) ||
			got.RenewalRemindAt == nil || !got.RenewalRemindAt.Equal(remind) {
			t.Errorf("renewal %q end %v remind %v", got.RenewalState, got.EndDate, got.RenewalRemindAt)
		}
		if pending, _ := s.PendingRenewals(ctx, 10); len(pending) != 0 {
			t.Errorf("a scheduled contract is still pending")
		}

		moved := time.Date(2027, 9, 30, 15, 0, 0, 0, time.UTC)
		if err := store.SetContractEndDate(ctx, s.DB, "CT-R1", moved); err != nil {
			t.Fatalf("set end date: %v", err)
		}
		if got, _ := s.GetContract(ctx, "CT-R1"); got.EndDate == nil || !got.EndDate.Equal(time.Date(2027, 9, 30, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("end date %v, expected the date only", got.EndDate)
		}
		if _, err := store.RecordRenewal(ctx, s.DB, store.RenewalChange{ContractNo: "CT-NONE", State: store.RenewalLapsed}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("record for a missing contract: %v, expected ErrNotFound", err)
		}
		if err := store.SetContractEndDate(ctx, s.DB, "CT-NONE", end); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("end date of a missing contract: %v, expected ErrNotFound", err)
		}
	})
}

func TestCustomerContact(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		insertAccount(t, s, "Cancity")
		if err := store.SetCustomerContact(ctx, s.DB, "cancity", "Wang Wei", "13800138000"); err != nil {
			t.Fatalf("set contact: %v", err)
		}
		if err := store.SetCustomerContact(ctx, s.DB, "Cancity", "", "+86 138 0013 8001"); err != nil {
			t.Fatalf("set phone only: %v", err)
		}
		account, err := store.FindAccount(ctx, s.DB, " CANCITY")
		if err != nil {
			t.Fatalf("find account: %v", err)
		}
		if account.Name != "Cancity" || account.ContactName != "Wang Wei" || account.ContactPhone != "+86 138 0013 8001" {
			t.Errorf("account %+v", account)
		}
		// The importer's upsert leaves the contact alone.
		insertAccount(t, s, "Cancity")
		if again, _ := store.FindAccount(ctx, s.DB, "Cancity"); again.ContactName != "Wang Wei" {
			t.Errorf("the import overwrote the contact: %+v", again)
		}
		if _, err := store.FindAccount(ctx, s.DB, "Nobody Inc"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown account: %v, expected ErrNotFound", err)
		}
		if err := store.SetCustomerContact(ctx, s.DB, "Nobody Inc", "A", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("contact of an unknown account: %v, expected ErrNotFound", err)
		}

		now := store.Now()
		agents := []store.SalesAgent{{Name: "Moses Frase", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: now, UpdatedAt: now}}
		if err := store.UpsertSalesAgents(ctx, s.DB, agents); err != nil {
			t.Fatalf("insert agent: %v", err)
		}
		if manager, err := store.SalesAgentManager(ctx, s.DB, "Moses Frase"); err != nil || manager != "Dustin Brinkmann" {
			t.Errorf("manager %q err %v", manager, err)
		}
		if manager, err := store.SalesAgentManager(ctx, s.DB, "Nobody"); err != nil || manager != "" {
			t.Errorf("manager of an unknown agent %q err %v, expected empty", manager, err)
		}
	})
}
