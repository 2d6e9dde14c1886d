package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func testLead(id, rep string) *store.Lead {
	return &store.Lead{
		OpportunityID: id, SalesAgent: rep, AccountName: "Cancity", ProductName: "GTX Pro",
		Stage: store.StageProspecting, State: store.LeadOpen, AssignedAt: crmTestTime,
		ContentHash: "api", CreatedAt: crmTestTime, UpdatedAt: crmTestTime,
	}
}

func readLead(t *testing.T, s *store.Store, id string) *store.Lead {
	t.Helper()
	lead, err := s.GetLead(context.Background(), id)
	if err != nil {
		t.Fatalf("read lead %s: %v", id, err)
	}
	return lead
}

func TestInsertAndGetLead(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.InsertLead(ctx, testLead("L1", "Anna Snelling")); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
		err := s.InsertLead(ctx, testLead("L1", "Moses Frase"))
		if !errors.Is(err, store.ErrLeadExists) {
			t.Fatalf("second insert returned %v, expected ErrLeadExists", err)
		}
		if got := readLead(t, s, "L1"); got.SalesAgent != "Anna Snelling" {
			t.Errorf("rep %s after a rejected second insert, expected Anna Snelling", got.SalesAgent)
		}
		_, err = s.GetLead(ctx, "NOPE")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown lead returned %v, expected ErrNotFound", err)
		}
	})
}

func TestRecordLeadContact(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.InsertLead(ctx, testLead("L1", "Anna Snelling")); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
		second := crmTestTime.Add(5 * time.Hour)
		first := crmTestTime.Add(2 * time.Hour)
		if err := store.RecordLeadContact(ctx, s.DB, "L1", store.LeadContact{At: second, By: "Anna Snelling", Channel: "email"}); err != nil {
			t.Fatalf("record contact: %v", err)
		}
		got := readLead(t, s, "L1")
		if got.State != store.LeadContacted {
			t.Errorf("state %s, expected contacted", got.State)
		}
		if got.FirstContactAt == nil || !got.FirstContactAt.Equal(second) {
			t.Errorf("first contact %v, expected %s", got.FirstContactAt, second)
		}

		// An older contact recorded late becomes the first one and leaves
		// the last one alone.
		if err := store.RecordLeadContact(ctx, s.DB, "L1", store.LeadContact{At: first, By: "Moses Frase", Channel: "phone"}); err != nil {
			t.Fatalf("record older contact: %v", err)
		}
		got = readLead(t, s, "L1")
		if got.FirstContactAt == nil || !got.FirstContactAt.Equal(first) {
			t.Errorf("first contact %v, expected the older %s", got.FirstContactAt, first)
		}
		if got.LastContactAt == nil || !got.LastContactAt.Equal(second) {
			t.Errorf("last contact %v, expected %s kept", got.LastContactAt, second)
		}
		if got.LastContactBy != "Anna Snelling" || got.LastContactChannel != "email" {
			t.Errorf("last contact by %q on %q, expected Anna Snelling on email", got.LastContactBy, got.LastContactChannel)
		}

		// Recording the same contact again changes nothing.
		if err := store.RecordLeadContact(ctx, s.DB, "L1", store.LeadContact{At: second, By: "Anna Snelling", Channel: "email"}); err != nil {
			t.Fatalf("record contact again: %v", err)
		}
		if again := readLead(t, s, "L1"); !again.FirstContactAt.Equal(first) || !again.LastContactAt.Equal(second) {
			t.Errorf("first %s last %s after a repeat, expected %s and %s", again.FirstContactAt, again.LastContactAt, first, second)
		}

		err := store.RecordLeadContact(ctx, s.DB, "NOPE", store.LeadContact{At: first})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("contact with unknown lead returned %v, expected ErrNotFound", err)
		}
	})
}

func TestRecordLeadContactKeepsClosed(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		lead := testLead("L1", "Anna Snelling")
		lead.State = store.LeadClosed
		if err := s.InsertLead(ctx, lead); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
		if err := store.RecordLeadContact(ctx, s.DB, "L1", store.LeadContact{At: crmTestTime}); err != nil {
			t.Fatalf("record contact: %v", err)
		}
		if got := readLead(t, s, "L1"); got.State != store.LeadClosed {
			t.Errorf("state %s, expected closed kept", got.State)
		}
	})
}

func TestReassignLead(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.InsertLead(ctx, testLead("L1", "Anna Snelling")); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
		closed := testLead("L2", "Anna Snelling")
		closed.State = store.LeadClosed
		if err := s.InsertLead(ctx, closed); err != nil {
			t.Fatalf("insert closed lead: %v", err)
		}

		at := crmTestTime.Add(3 * time.Hour)
		if err := store.ReassignLead(ctx, s.DB, "L1", "Moses Frase", "Cara Losch", at); err != nil {
			t.Fatalf("reassign: %v", err)
		}
		got := readLead(t, s, "L1")
		if got.SalesAgent != "Moses Frase" || got.Supervisor != "Cara Losch" || !got.AssignedAt.Equal(at) {
			t.Errorf("rep %s supervisor %s assigned %s, expected Moses Frase, Cara Losch, %s", got.SalesAgent, got.Supervisor, got.AssignedAt, at)
		}

		if err := store.ReassignLead(ctx, s.DB, "L2", "Moses Frase", "Cara Losch", at); !errors.Is(err, store.ErrLeadClosed) {
			t.Errorf("reassigning a closed lead returned %v, expected ErrLeadClosed", err)
		}
		if err := store.ReassignLead(ctx, s.DB, "NOPE", "Moses Frase", "Cara Losch", at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reassigning an unknown lead returned %v, expected ErrNotFound", err)
		}
	})
}

func TestRecordLeadSLA(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.InsertLead(ctx, testLead("L1", "Anna Snelling")); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
		started := crmTestTime
		remind := crmTestTime.Add(24 * time.Hour)
		deadline := crmTestTime.Add(48 * time.Hour)
		reminded := remind.Add(time.Second)
		sla := store.LeadSLA{
			Kind: store.LeadSLAFirstContact, State: store.SLAReminded, Rep: "Anna Snelling", RulesVersion: 3,
			StartedAt: &started, RemindAt: &remind, Deadline: &deadline, RemindedAt: &reminded,
		}
		if err := store.RecordLeadSLA(ctx, s.DB, "L1", sla); err != nil {
			t.Fatalf("record SLA: %v", err)
		}
		got := readLead(t, s, "L1")
		if got.SLAKind != store.LeadSLAFirstContact || got.SLAState != store.SLAReminded || got.SLARep != "Anna Snelling" || got.SLARulesVersion != 3 {
			t.Errorf("SLA %s/%s rep %s version %d, expected first_contact/reminded, Anna Snelling, 3",
				got.SLAKind, got.SLAState, got.SLARep, got.SLARulesVersion)
		}
		if got.SLADeadline == nil || !got.SLADeadline.Equal(deadline) || got.SLARemindAt == nil || !got.SLARemindAt.Equal(remind) {
			t.Errorf("deadline %v remind at %v, expected %s and %s", got.SLADeadline, got.SLARemindAt, deadline, remind)
		}
		if got.RemindedAt == nil || !got.RemindedAt.Equal(reminded) || got.AlertedAt != nil {
			t.Errorf("reminded %v alerted %v, expected %s and none", got.RemindedAt, got.AlertedAt, reminded)
		}

		// A new clock replaces the old view whole.
		if err := store.RecordLeadSLA(ctx, s.DB, "L1", store.LeadSLA{Kind: store.LeadSLAFollowUp, State: store.SLAUntimed}); err != nil {
			t.Fatalf("record second SLA: %v", err)
		}
		got = readLead(t, s, "L1")
		if got.SLADeadline != nil || got.RemindedAt != nil || got.SLAKind != store.LeadSLAFollowUp {
			t.Errorf("deadline %v reminded %v kind %s, expected the new untimed follow-up clock", got.SLADeadline, got.RemindedAt, got.SLAKind)
		}
		if err := store.RecordLeadSLA(ctx, s.DB, "NOPE", sla); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("recording the SLA of an unknown lead returned %v, expected ErrNotFound", err)
		}
	})
}

func leadIDs(leads []store.Lead) []string {
	ids := make([]string, len(leads))
	for i, l := range leads {
		ids[i] = l.OpportunityID
	}
	return ids
}

func TestLeadWorkflowBookkeeping(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, lead := range []*store.Lead{
			testLead("L1", "Anna Snelling"), testLead("L2", "Moses Frase"), testLead("L3", ""), testLead("L4", "Anna Snelling"),
		} {
			if lead.OpportunityID == "L4" {
				lead.State = store.LeadClosed
			}
			if err := s.InsertLead(ctx, lead); err != nil {
				t.Fatalf("insert lead %s: %v", lead.OpportunityID, err)
			}
		}

		unstarted, err := s.UnstartedLeads(ctx, 10)
		if err != nil {
			t.Fatalf("unstarted leads: %v", err)
		}
		if got := leadIDs(unstarted); !slices.Equal(got, []string{"L1", "L2"}) {
			t.Fatalf("unstarted leads %v, expected L1 and L2: L3 has no rep and L4 is closed", got)
		}

		startedAt := crmTestTime.Add(time.Minute)
		starts := []store.LeadStart{{ID: "L1", WorkflowID: "lead-L1", Rep: "Anna Snelling"}, {ID: "L2", WorkflowID: "lead-L2", Rep: "Moses Frase"}}
		if err := s.MarkLeadWorkflowsStarted(ctx, starts, startedAt); err != nil {
			t.Fatalf("mark started: %v", err)
		}
		if err := s.MarkLeadWorkflowsStarted(ctx, starts[:1], startedAt.Add(time.Hour)); err != nil {
			t.Fatalf("mark started again: %v", err)
		}
		got := readLead(t, s, "L1")
		if got.WorkflowID != "lead-L1" || got.WorkflowStartedAt == nil || !got.WorkflowStartedAt.Equal(startedAt) || got.WorkflowRep != "Anna Snelling" {
			t.Errorf("workflow %s started %v rep %s, expected lead-L1 at the first mark %s for Anna Snelling",
				got.WorkflowID, got.WorkflowStartedAt, got.WorkflowRep, startedAt)
		}
		if unstarted, _ := s.UnstartedLeads(ctx, 10); len(unstarted) != 0 {
			t.Errorf("unstarted leads %v after marking, expected none", leadIDs(unstarted))
		}

		if err := store.ReassignLead(ctx, s.DB, "L2", "Anna Snelling", "Dustin Brinkmann", startedAt); err != nil {
			t.Fatalf("reassign L2: %v", err)
		}
		toReassign, err := s.LeadsToReassign(ctx, 10)
		if err != nil {
			t.Fatalf("leads to reassign: %v", err)
		}
		if got := leadIDs(toReassign); !slices.Equal(got, []string{"L2"}) {
			t.Fatalf("leads to reassign %v, expected L2", got)
		}
		// A signal for a rep the lead no longer has is not recorded.
		if err := store.SetWorkflowRep(ctx, s.DB, "L2", "Moses Frase"); err != nil {
			t.Fatalf("set stale workflow rep: %v", err)
		}
		if toReassign, _ := s.LeadsToReassign(ctx, 10); len(toReassign) != 1 {
			t.Errorf("leads to reassign %v after a stale signal, expected L2 still", leadIDs(toReassign))
		}
		if err := store.SetWorkflowRep(ctx, s.DB, "L2", "Anna Snelling"); err != nil {
			t.Fatalf("set workflow rep: %v", err)
		}
		if toReassign, _ := s.LeadsToReassign(ctx, 10); len(toReassign) != 0 {
			t.Errorf("leads to reassign %v after the signal, expected none", leadIDs(toReassign))
		}

		if _, err := store.CloseLeads(ctx, s.DB, []string{"L1"}, startedAt); err != nil {
			t.Fatalf("close L1: %v", err)
		}
		toClose, err := s.LeadsToCloseWorkflows(ctx, 10)
		if err != nil {
			t.Fatalf("leads to close: %v", err)
		}
		if got := leadIDs(toClose); !slices.Equal(got, []string{"L1"}) {
			t.Fatalf("leads whose workflow must learn the closing %v, expected L1 (L4 never started)", got)
		}
		if err := s.MarkCloseSignalled(ctx, []string{"L1"}, startedAt); err != nil {
			t.Fatalf("mark close signalled: %v", err)
		}
		if toClose, _ := s.LeadsToCloseWorkflows(ctx, 10); len(toClose) != 0 {
			t.Errorf("leads to close %v after marking, expected none", leadIDs(toClose))
		}
	})
}

func TestListLeadsFilters(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i, rep := range []string{"Anna Snelling", "Moses Frase", "Anna Snelling"} {
			id := []string{"L1", "L2", "L3"}[i]
			if err := s.InsertLead(ctx, testLead(id, rep)); err != nil {
				t.Fatalf("insert %s: %v", id, err)
			}
		}
		if err := store.RecordLeadSLA(ctx, s.DB, "L3", store.LeadSLA{Kind: store.LeadSLAFirstContact, State: store.SLAOverdue}); err != nil {
			t.Fatalf("record SLA: %v", err)
		}
		if err := store.RecordLeadContact(ctx, s.DB, "L1", store.LeadContact{At: crmTestTime}); err != nil {
			t.Fatalf("record contact: %v", err)
		}

		cases := []struct {
			name   string
			filter store.LeadFilter
			want   []string
		}{
			{"all", store.LeadFilter{}, []string{"L1", "L2", "L3"}},
			{"by rep", store.LeadFilter{Rep: "Anna Snelling"}, []string{"L1", "L3"}},
			{"by state", store.LeadFilter{State: store.LeadOpen}, []string{"L2", "L3"}},
			{"by SLA state", store.LeadFilter{SLAState: store.SLAOverdue}, []string{"L3"}},
			{"page", store.LeadFilter{After: "L1", Limit: 1}, []string{"L2"}},
		}
		for _, tc := range cases {
			leads, err := s.ListLeads(ctx, tc.filter)
			if err != nil {
				t.Fatalf("%s: list leads: %v", tc.name, err)
			}
			if got := leadIDs(leads); !slices.Equal(got, tc.want) {
				t.Errorf("%s: leads %v, expected %v", tc.name, got, tc.want)
			}
		}
	})
}

func TestSupervisors(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		agents := []store.SalesAgent{
			{Name: "Anna Snelling", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: crmTestTime, UpdatedAt: crmTestTime},
			{Name: "Moses Frase", Manager: "Cara Losch", ContentHash: "h", CreatedAt: crmTestTime, UpdatedAt: crmTestTime},
		}
		if err := store.UpsertSalesAgents(ctx, s.DB, agents); err != nil {
			t.Fatalf("insert agents: %v", err)
		}
		got, err := s.Supervisors(ctx, []string{"Anna Snelling", "Nobody"})
		if err != nil {
			t.Fatalf("supervisors: %v", err)
		}
		if len(got) != 1 || got["Anna Snelling"] != "Dustin Brinkmann" {
			t.Errorf("supervisors %v, expected only Anna Snelling: Dustin Brinkmann", got)
		}
		agent, err := s.GetSalesAgent(ctx, "Moses Frase")
		if err != nil || agent.Manager != "Cara Losch" {
			t.Errorf("sales agent Moses Frase: %+v, %v, expected manager Cara Losch", agent, err)
		}
		if _, err := s.GetSalesAgent(ctx, "Nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown sales agent returned %v, expected ErrNotFound", err)
		}
	})
}
