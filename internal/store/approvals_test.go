package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func sampleApproval(id string) *store.Approval {
	now := store.Now()
	return &store.Approval{
		ID: id, Kind: store.ApprovalPriceChange, Customer: "Cancity", CustomerNo: "CUST-1",
		Product: "GTX Basic", ProductNo: "MAT-1", RequestedBy: "Moses Frase",
		Amount: d("45000.50"), Currency: "CNY", Reason: "volume deal",
		NewUnitPrice: decimal.NullDecimal{Decimal: d("480.125"), Valid: true},
		State:        store.ApprovalPending, WorkflowID: "approval-" + id, CreatedAt: now, UpdatedAt: now,
	}
}

func TestApprovalRoundTrip(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inserted, err := store.InsertApproval(ctx, s.DB, sampleApproval("AP-1"))
		if err != nil || !inserted {
			t.Fatalf("insert: inserted=%v err=%v", inserted, err)
		}
		again, err := store.InsertApproval(ctx, s.DB, sampleApproval("AP-1"))
		if err != nil || again {
			t.Fatalf("second insert: inserted=%v err=%v, want false without error", again, err)
		}

		due := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		update := sampleApproval("AP-1")
		update.Reason = "changed by the workflow, must not stick"
		update.AmountInRuleCurrency = decimal.NullDecimal{Decimal: d("45000.50"), Valid: true}
		update.RuleCurrency = "CNY"
		update.Route = "above 30000 CNY: supervisor, sales_director"
		update.CurrentLevel, update.LevelCount = 2, 2
		update.Approver, update.EscalatedTo, update.DueAt = "Cara Losch", "Dustin Brinkmann", &due
		update.RulesVersion = 3
		if err := store.RecordApproval(ctx, s.DB, update); err != nil {
			t.Fatalf("record: %v", err)
		}
		for seq, decision := range []string{store.DecisionApprove, store.DecisionReject} {
			row := &store.ApprovalDecision{ApprovalID: "AP-1", Seq: seq + 1, Level: seq + 1, By: "Cara Losch",
				Decision: decision, Comment: "ok", DecidedAt: due.Add(time.Duration(seq) * time.Hour)}
			// Each decision is written twice, as a retried local activity does.
			for range 2 {
				if err := store.RecordApprovalDecision(ctx, s.DB, row); err != nil {
					t.Fatalf("record decision %d: %v", seq+1, err)
				}
			}
		}

		got, err := s.GetApproval(ctx, "AP-1")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if got.Reason != "volume deal" {
			t.Errorf("reason = %q, want the request's own reason kept", got.Reason)
		}
		if !got.NewUnitPrice.Decimal.Equal(d("480.125")) || !got.Amount.Equal(d("45000.50")) {
			t.Errorf("new unit price %s amount %s, want 480.125 and 45000.50 exactly", got.NewUnitPrice.Decimal, got.Amount)
		}
		if got.CurrentLevel != 2 || got.EscalatedTo != "Dustin Brinkmann" || got.DueAt == nil || !got.DueAt.Equal(due) || got.RulesVersion != 3 {
			t.Errorf("workflow fields = level %d, escalated to %q, due %v, rules %d", got.CurrentLevel, got.EscalatedTo, got.DueAt, got.RulesVersion)
		}
		if len(got.Decisions) != 2 || got.Decisions[1].Decision != store.DecisionReject {
			t.Errorf("decisions = %+v, want approve then reject, each once", got.Decisions)
		}
		if _, err := s.GetApproval(ctx, "AP-NONE"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing approval error = %v, want ErrNotFound", err)
		}

		if _, err := store.InsertApproval(ctx, s.DB, sampleApproval("AP-2")); err != nil {
			t.Fatalf("insert AP-2: %v", err)
		}
		pending, err := s.ListApprovals(ctx, store.ApprovalFilter{State: store.ApprovalPending})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(pending) != 2 || pending[0].ID != "AP-1" || len(pending[0].Decisions) != 2 || pending[1].Decisions == nil {
			t.Errorf("pending = %+v, want AP-1 with 2 decisions and AP-2 with none", pending)
		}
		after, err := s.ListApprovals(ctx, store.ApprovalFilter{After: "AP-1"})
		if err != nil || len(after) != 1 || after[0].ID != "AP-2" {
			t.Errorf("list after AP-1 = %+v, %v; want AP-2 only", after, err)
		}
	})
}

func TestRepsMarkedBetween(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		marks := []store.SignedMark{
			{ContractNo: "CT-1", Customer: "CUST-1", Rep: "Anna", Source: store.SourceWebhook, MarkedAt: base},
			{ContractNo: "CT-2", Customer: "CUST-1", Rep: "Ben", Source: store.SourceWebhook, MarkedAt: base.Add(2 * time.Hour)},
			{ContractNo: "CT-3", Customer: "CUST-1", Rep: "Anna", Source: store.SourceWebhook, MarkedAt: base.Add(3 * time.Hour)},
			{ContractNo: "CT-4", Customer: "CUST-1", Rep: "Chen", Source: store.SourceWebhook, MarkedAt: base.Add(25 * time.Hour)},
			{ContractNo: "CT-5", Customer: "CUST-2", Rep: "Dina", Source: store.SourceWebhook, MarkedAt: base.Add(time.Hour)},
			{ContractNo: "CT-6", Customer: "CUST-1", Rep: "", Source: store.SourceWebhook, MarkedAt: base.Add(time.Hour)},
		}
		if err := store.RecordSignedMarks(ctx, s.DB, marks); err != nil {
			t.Fatalf("record marks: %v", err)
		}
		// A replayed event must not move the first mark.
		replay := []store.SignedMark{{ContractNo: "CT-1", Customer: "CUST-1", Rep: "Zed", Source: store.SourceWebhook, MarkedAt: base.Add(time.Minute)}}
		if err := store.RecordSignedMarks(ctx, s.DB, replay); err != nil {
			t.Fatalf("record replayed mark: %v", err)
		}

		reps, err := store.RepsMarkedBetween(ctx, s.DB, "CUST-1", base.Add(-24*time.Hour), base.Add(24*time.Hour))
		if err != nil {
			t.Fatalf("reps: %v", err)
		}
		if want := []string{"Anna", "Ben"}; !slices.Equal(reps, want) {
			t.Errorf("reps within 24h of the first mark = %v, want %v", reps, want)
		}
		reps, err = store.RepsMarkedBetween(ctx, s.DB, "CUST-1", base, base.Add(48*time.Hour))
		if err != nil {
			t.Fatalf("reps: %v", err)
		}
		if want := []string{"Anna", "Ben", "Chen"}; !slices.Equal(reps, want) {
			t.Errorf("reps after the first mark = %v, want %v (the bounds are exclusive, CT-1 is at the lower one)", reps, want)
		}

		mark, err := store.SignedMarkOf(ctx, s.DB, "CT-1")
		if err != nil {
			t.Fatalf("mark of CT-1: %v", err)
		}
		if mark.Rep != "Anna" || !mark.MarkedAt.Equal(base) {
			t.Errorf("mark of CT-1 = %+v, want Anna's first mark", mark)
		}
		if _, err := store.SignedMarkOf(ctx, s.DB, "CT-6"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("mark without a rep: error %v, want ErrNotFound because it is not stored", err)
		}
	})
}
