package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func sampleContract(no string) (*store.Contract, []store.PaymentInstalment) {
	now := store.Now()
	opp := "OPP-" + no
	c := &store.Contract{
		ContractNo: no, OpportunityID: &opp, AccountName: "Cancity", CustomerNo: "CUST-1",
		ProductName: "GTX Basic", ProductNo: "MAT-1", SalesAgent: "Moses Frase",
		Quantity: d("1"), UnitPrice: d("1054.10"), Amount: d("1054.10"), Currency: "USD",
		TaxRate: d("0.17"), TaxCode: "1090511990000000000",
		SignedOn: time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC), Source: store.SourceCRMImport,
		State: store.ContractSigned, PaidAmount: decimal.Zero, WorkflowID: "contract-to-cash-" + no,
		ContentHash: "h", CreatedAt: now, UpdatedAt: now,
	}
	plan := []store.PaymentInstalment{
		{ContractNo: no, Seq: 1, Label: "advance", TriggerOn: store.TriggerSigning, Ratio: d("0.3"), Amount: d("316.23"), PaidAmount: decimal.Zero},
		{ContractNo: no, Seq: 2, Label: "balance", TriggerOn: store.TriggerDelivery, Ratio: d("0.7"), Amount: d("737.87"), PaidAmount: decimal.Zero},
	}
	return c, plan
}

func TestContractRoundTrip(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, plan := sampleContract("CT-A1")
		created, err := s.CreateContract(ctx, c, plan)
		if err != nil || !created {
			t.Fatalf("create contract: created=%v err=%v", created, err)
		}
		again, err := s.CreateContract(ctx, c, plan)
		if err != nil || again {
			t.Fatalf("second create: created=%v err=%v, want false without error", again, err)
		}
		got, err := s.GetContract(ctx, "CT-A1")
		if err != nil {
			t.Fatalf("get contract: %v", err)
		}
		if !got.Amount.Equal(d("1054.10")) || !got.TaxRate.Equal(d("0.17")) {
			t.Errorf("amount %s rate %s, want 1054.10 and 0.17 exactly", got.Amount, got.TaxRate)
		}
		if !got.SignedOn.Equal(c.SignedOn) {
			t.Errorf("signed on %v, want %v", got.SignedOn, c.SignedOn)
		}
		if _, err := s.GetContract(ctx, "CT-NONE"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing contract error = %v, want ErrNotFound", err)
		}
		gotPlan, err := s.Instalments(ctx, "CT-A1")
		if err != nil || len(gotPlan) != 2 || !gotPlan[1].Amount.Equal(d("737.87")) {
			t.Fatalf("plan = %+v, err %v", gotPlan, err)
		}
	})
}

func TestRecordStepKeepsFirstTimes(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, plan := sampleContract("CT-A2")
		if _, err := s.CreateContract(ctx, c, plan); err != nil {
			t.Fatal(err)
		}
		first := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
		later := first.Add(time.Hour)
		if err := s.RecordStep(ctx, &store.ContractStep{
			ContractNo: "CT-A2", Step: "invoice", Seq: 7, State: store.StepRunning, ExternalID: "INV-CT-A2",
			Attempts: 2, StartedAt: &first, Amount: decimal.NullDecimal{Decimal: d("1054.10"), Valid: true},
		}); err != nil {
			t.Fatalf("record running step: %v", err)
		}
		if err := s.RecordStep(ctx, &store.ContractStep{
			ContractNo: "CT-A2", Step: "invoice", Seq: 7, State: store.StepDone, ExternalNo: "26310000000000000001",
			Attempts: 1, StartedAt: &later, FinishedAt: &later,
		}); err != nil {
			t.Fatalf("record done step: %v", err)
		}
		steps, err := s.ContractSteps(ctx, "CT-A2")
		if err != nil || len(steps) != 1 {
			t.Fatalf("steps = %+v, err %v", steps, err)
		}
		step := steps[0]
		if step.State != store.StepDone || step.ExternalNo != "26310000000000000001" || step.ExternalID != "INV-CT-A2" {
			t.Errorf("step = %+v, want done with both numbers kept", step)
		}
		if step.Attempts != 2 {
			t.Errorf("attempts = %d, want the higher count 2", step.Attempts)
		}
		if step.StartedAt == nil || !step.StartedAt.Equal(first) {
			t.Errorf("started at %v, want the first start %v", step.StartedAt, first)
		}
		if !step.Amount.Valid || !step.Amount.Decimal.Equal(d("1054.10")) {
			t.Errorf("amount = %v, want the recorded 1054.10", step.Amount)
		}
	})
}

func TestSetStateAndStart(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, no := range []string{"CT-B1", "CT-B2"} {
			c, plan := sampleContract(no)
			if _, err := s.CreateContract(ctx, c, plan); err != nil {
				t.Fatal(err)
			}
		}
		pending, err := s.UnstartedContracts(ctx, 10)
		if err != nil || len(pending) != 2 {
			t.Fatalf("unstarted = %d, err %v, want 2", len(pending), err)
		}
		if err := s.MarkWorkflowsStarted(ctx, []string{"CT-B1"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		pending, _ = s.UnstartedContracts(ctx, 10)
		if len(pending) != 1 || pending[0].ContractNo != "CT-B2" {
			t.Fatalf("unstarted after marking = %+v, want CT-B2", pending)
		}
		paid := d("1054.10")
		closedAt := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		if err := s.SetContractState(ctx, store.StateChange{ContractNo: "CT-B1", State: store.ContractClosed, PaidAmount: &paid, At: closedAt}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetContract(ctx, "CT-B1")
		if got.State != store.ContractClosed || got.ClosedAt == nil || !got.PaidAmount.Equal(paid) {
			t.Errorf("contract = state %s closed %v paid %s", got.State, got.ClosedAt, got.PaidAmount)
		}
		if err := s.SetContractState(ctx, store.StateChange{ContractNo: "CT-NONE", State: store.ContractClosed}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("state of missing contract: %v, want ErrNotFound", err)
		}
		counts, err := s.CountContractsByState(ctx)
		if err != nil || len(counts) != 2 {
			t.Fatalf("counts = %+v, err %v", counts, err)
		}
	})
}

func TestAttentionIsRecordedOnce(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		item := &store.AttentionItem{Kind: store.AttentionOverpayment, Reference: "CT-C1", Message: "refund 10"}
		if fresh, err := store.AddAttention(ctx, s.DB, item); err != nil || !fresh {
			t.Fatalf("first add: fresh=%v err=%v", fresh, err)
		}
		again := &store.AttentionItem{Kind: store.AttentionOverpayment, Reference: "CT-C1", Message: "refund 10"}
		if fresh, err := store.AddAttention(ctx, s.DB, again); err != nil || fresh {
			t.Fatalf("second add: fresh=%v err=%v, want false", fresh, err)
		}
		if n, _ := s.CountOpenAttention(ctx); n != 1 {
			t.Fatalf("open items = %d, want 1", n)
		}
		if err := store.ResolveAttention(ctx, s.DB, store.AttentionOverpayment, "CT-C1", "finance", "refunded"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountOpenAttention(ctx); n != 0 {
			t.Errorf("open items after resolving = %d, want 0", n)
		}
	})
}

func TestBankLinesAndAllocations(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, no := range []string{"CT-D1", "CT-D2"} {
			c, plan := sampleContract(no)
			if _, err := s.CreateContract(ctx, c, plan); err != nil {
				t.Fatal(err)
			}
		}
		now := store.Now()
		line := func(id, amount string) store.BankLine {
			return store.BankLine{LineID: id, BusinessDate: "20261204", Amount: d(amount), AmountText: amount,
				PayerName: "Cancity", Status: store.LineNew, AllocatedAmount: decimal.Zero, FetchedAt: now, UpdatedAt: now}
		}
		fresh, err := store.InsertNewBankLines(ctx, s.DB, []store.BankLine{line("L1", "316.23"), line("L2", "0.1"), line("L1", "316.23")})
		if err != nil || len(fresh) != 2 {
			t.Fatalf("first insert: %d fresh, err %v; want 2 (the repeat in the batch skipped)", len(fresh), err)
		}
		fresh, err = store.InsertNewBankLines(ctx, s.DB, []store.BankLine{line("L2", "0.1"), line("L3", "737.87")})
		if err != nil || len(fresh) != 1 || fresh[0].LineID != "L3" {
			t.Fatalf("second insert = %+v, err %v; want only L3", fresh, err)
		}
		allocations := []store.Allocation{
			{ID: "L1/CT-D1", LineID: "L1", ContractNo: "CT-D1", Amount: d("316.23"), Method: store.MatchByRemark, CreatedBy: "matcher", CreatedAt: now},
			{ID: "L2/CT-D1", LineID: "L2", ContractNo: "CT-D1", Amount: d("0.1"), Method: store.MatchByRemark, CreatedBy: "matcher", CreatedAt: now},
			{ID: "L3/CT-D1", LineID: "L3", ContractNo: "CT-D1", Amount: d("0.2"), Method: store.MatchByRemark, CreatedBy: "matcher", CreatedAt: now},
		}
		if err := store.InsertAllocations(ctx, s.DB, allocations); err != nil {
			t.Fatal(err)
		}
		balances, err := store.OpenBalances(ctx, s.DB, []string{" CANCITY"}, nil)
		if err != nil || len(balances) != 2 {
			t.Fatalf("balances = %+v, err %v", balances, err)
		}
		for _, b := range balances {
			if b.ContractNo != "CT-D1" {
				continue
			}
			// 316.23 + 0.1 + 0.2 added as binary floats would not be 316.53.
			if !b.Allocated.Equal(d("316.53")) {
				t.Errorf("allocated to CT-D1 = %s, want exactly 316.53", b.Allocated)
			}
			if len(b.Instalments) != 2 {
				t.Errorf("instalments = %v, want 2", b.Instalments)
			}
		}
		byNumber, err := store.OpenBalances(ctx, s.DB, []string{"Someone Else"}, []string{"CT-D2"})
		if err != nil || len(byNumber) != 1 || byNumber[0].ContractNo != "CT-D2" {
			t.Fatalf("balances by number = %+v, err %v; want only CT-D2", byNumber, err)
		}
		pending, err := s.UndeliveredAllocations(ctx, 10)
		if err != nil || len(pending) != 3 {
			t.Fatalf("undelivered = %d, err %v", len(pending), err)
		}
		if err := s.MarkAllocationDelivered(ctx, "L1/CT-D1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if pending, _ = s.UndeliveredAllocations(ctx, 10); len(pending) != 2 {
			t.Errorf("undelivered after one delivery = %d, want 2", len(pending))
		}
	})
}

func TestAssignLine(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, plan := sampleContract("CT-E1")
		if _, err := s.CreateContract(ctx, c, plan); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		if _, err := store.InsertNewBankLines(ctx, s.DB, []store.BankLine{{
			LineID: "U1", BusinessDate: "20261204", Amount: d("99"), AmountText: "99.00", PayerName: "Someone",
			Status: store.LineUnmatched, AllocatedAmount: decimal.Zero, FetchedAt: now, UpdatedAt: now,
		}}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddAttention(ctx, s.DB, &store.AttentionItem{Kind: store.AttentionUnmatchedLine, Reference: "U1", Message: "?"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignLine(ctx, "U1", "CT-NONE", "ops"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("assign to a missing contract: %v, want ErrNotFound", err)
		}
		allocation, err := s.AssignLine(ctx, "U1", "CT-E1", "ops")
		if err != nil {
			t.Fatalf("assign: %v", err)
		}
		if allocation.Method != store.MatchManual || !allocation.Amount.Equal(d("99")) {
			t.Errorf("allocation = %+v", allocation)
		}
		if _, err := s.AssignLine(ctx, "U1", "CT-E1", "ops"); !errors.Is(err, store.ErrLineNotAssignable) {
			t.Errorf("second assign: %v, want ErrLineNotAssignable", err)
		}
		if n, _ := s.CountOpenAttention(ctx); n != 0 {
			t.Errorf("open attention after assign = %d, want 0", n)
		}
	})
}

func TestCursorAndWebhookEvents(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if v, err := s.GetCursor(ctx, "bank:1"); err != nil || v != "" {
			t.Fatalf("empty cursor = %q, err %v", v, err)
		}
		for _, v := range []string{"10", "20"} {
			if err := store.SetCursor(ctx, s.DB, "bank:1", v); err != nil {
				t.Fatal(err)
			}
		}
		if v, _ := s.GetCursor(ctx, "bank:1"); v != "20" {
			t.Errorf("cursor = %q, want 20", v)
		}
		event := &store.WebhookEvent{EventID: "e1", Kind: "contract-signed", BodySHA256: "x", ReceivedAt: store.Now()}
		if fresh, err := store.RecordWebhookEvent(ctx, s.DB, event); err != nil || !fresh {
			t.Fatalf("first event: fresh=%v err=%v", fresh, err)
		}
		if fresh, err := store.RecordWebhookEvent(ctx, s.DB, event); err != nil || fresh {
			t.Fatalf("replayed event: fresh=%v err=%v, want false", fresh, err)
		}
	})
}
