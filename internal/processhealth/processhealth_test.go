package processhealth_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/processhealth"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

var (
	periodStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	periodEnd   = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	reportNow   = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
)

func TestComputeMeasures(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seed(t, s)
		report, err := processhealth.Compute(ctx, s.DB, processhealth.Options{
			From: periodStart, To: periodEnd, Now: reportNow, GroupBy: processhealth.ByTeam})
		if err != nil {
			t.Fatalf("compute: %v", err)
		}
		byKey := map[string]processhealth.Measure{}
		for _, m := range report.Measures {
			byKey[m.Key] = m
		}

		leads := byKey[processhealth.LeadResponse]
		expectFigure(t, "lead response", leads.Total, 2, 3, 1)
		if leads.MeetsTarget == nil || *leads.MeetsTarget {
			t.Errorf("lead response meets target = %v, expected false at 2 of 3", leads.MeetsTarget)
		}
		if len(leads.Groups) != 2 {
			t.Fatalf("lead response groups = %+v, expected Dustin Brinkmann and Melvin Marxen", leads.Groups)
		}
		expectFigure(t, "lead response, Dustin Brinkmann", leads.Groups[0], 2, 2, 0)
		expectFigure(t, "lead response, Melvin Marxen", leads.Groups[1], 0, 1, 1)

		expectFigure(t, "blocking rate", byKey[processhealth.BlockingRate].Total, 2, 4, 0)
		expectFigure(t, "high-risk intervention", byKey[processhealth.HighRiskIntervention].Total, 1, 2, 1)
	})
}

func TestComputeRejectsBadOptions(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	if _, err := processhealth.Compute(ctx, s.DB, processhealth.Options{From: periodEnd, To: periodStart}); err == nil {
		t.Errorf("reversed period accepted")
	}
	if _, err := processhealth.Compute(ctx, s.DB, processhealth.Options{From: periodStart, To: periodEnd, GroupBy: "product"}); err == nil {
		t.Errorf("grouping by product accepted")
	}
}

func expectFigure(t *testing.T, name string, f processhealth.Figure, numerator, denominator, pending int) {
	t.Helper()
	if f.Numerator != numerator || f.Denominator != denominator || f.Pending != pending {
		t.Errorf("%s = %d/%d, %d pending; expected %d/%d, %d pending", name,
			f.Numerator, f.Denominator, f.Pending, numerator, denominator, pending)
	}
}

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

func ptr(t time.Time) *time.Time { return &t }

// seed writes a month of records:
//   - leads: two of Dustin Brinkmann's team contacted in time, one of
//     Melvin Marxen's team contacted late, one still inside its 48 h,
//     and one assigned before the period;
//   - tickets: one answered, one returned, one escalated, one open;
//   - red customers: one called within 72 h, one met too late, one
//     turned red 12 hours before the report.
func seed(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	db := s.DB
	agents := []store.SalesAgent{
		{Name: "Anna Snelling", Manager: "Dustin Brinkmann", RegionalOffice: "Central"},
		{Name: "Moses Frase", Manager: "Dustin Brinkmann", RegionalOffice: "Central"},
		{Name: "Kami Bicknell", Manager: "Melvin Marxen", RegionalOffice: "Central"},
	}
	leads := []store.Lead{
		{OpportunityID: "L1", SalesAgent: "Anna Snelling", AssignedAt: at(2, 9), FirstContactAt: ptr(at(3, 9))},
		{OpportunityID: "L2", SalesAgent: "Moses Frase", AssignedAt: at(5, 9), FirstContactAt: ptr(at(7, 9))},
		{OpportunityID: "L3", SalesAgent: "Kami Bicknell", AssignedAt: at(10, 9), FirstContactAt: ptr(at(12, 10))},
		{OpportunityID: "L4", SalesAgent: "Kami Bicknell", AssignedAt: at(29, 18)},
		{OpportunityID: "L5", SalesAgent: "Anna Snelling", AssignedAt: time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC)},
	}
	tickets := []store.Ticket{
		{ID: "TK-1", Customer: "Cancity", CustomerNo: "C-1", Title: "a", From: "Anna Snelling", State: "answered", CreatedAt: at(3, 9), AnsweredAt: ptr(at(3, 15))},
		{ID: "TK-2", Customer: "Cancity", CustomerNo: "C-1", Title: "b", From: "Anna Snelling", State: "returned", CreatedAt: at(4, 9), ReturnedAt: ptr(at(4, 12))},
		{ID: "TK-3", Customer: "Isdom", CustomerNo: "C-2", Title: "c", From: "Kami Bicknell", State: "escalated", CreatedAt: at(6, 9), EscalatedAt: ptr(at(8, 9))},
		{ID: "TK-4", Customer: "Isdom", CustomerNo: "C-2", Title: "d", From: "Kami Bicknell", State: "open", CreatedAt: at(29, 9)},
	}
	tags := []store.CustomerTag{
		{Customer: "Cancity", CustomerNo: "C-1", Tag: store.TagRenewalDue, Color: store.ColorRed, Source: "contract:CT-1", TaggedAt: at(10, 9)},
		{Customer: "Isdom", CustomerNo: "C-2", Tag: store.TagRenewalDue, Color: store.ColorRed, Source: "contract:CT-2", TaggedAt: at(11, 9)},
		{Customer: "Zoomit", CustomerNo: "C-3", Tag: store.TagRenewalDue, Color: store.ColorRed, Source: "contract:CT-3", TaggedAt: at(30, 0)},
	}
	interactions := []store.Interaction{
		{Customer: "Cancity", CustomerNo: "C-1", Channel: store.ChannelCall, By: "Anna Snelling", At: at(12, 9)},
		{Customer: "Isdom", CustomerNo: "C-2", Channel: store.ChannelEmail, By: "Kami Bicknell", At: at(12, 9)},
		{Customer: "Isdom", CustomerNo: "C-2", Channel: store.ChannelMeeting, By: "Kami Bicknell", At: at(15, 9)},
	}
	for i := range leads {
		leads[i].State, leads[i].CreatedAt, leads[i].UpdatedAt = store.LeadOpen, leads[i].AssignedAt, leads[i].AssignedAt
	}
	for i := range tickets {
		tickets[i].UpdatedAt = tickets[i].CreatedAt
	}
	for _, rows := range []any{&agents, &leads, &tickets, &tags} {
		if _, err := db.NewInsert().Model(rows).Exec(ctx); err != nil {
			t.Fatalf("seed %T: %v", rows, err)
		}
	}
	for i := range interactions {
		if err := store.RecordInteraction(ctx, db, &interactions[i]); err != nil {
			t.Fatalf("seed interaction: %v", err)
		}
	}
}
