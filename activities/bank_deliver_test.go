package activities

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// signalRecorder is a Temporal client that records payment signals.
type signalRecorder struct {
	client.Client
	workflowIDs []string
}

func (r *signalRecorder) SignalWorkflow(_ context.Context, workflowID, _, _ string, _ interface{}) error {
	r.workflowIDs = append(r.workflowIDs, workflowID)
	return nil
}

func TestDeliverSkipsUnassignedAllocation(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	ctx := context.Background()
	now := store.Now()
	contract := &store.Contract{
		ContractNo: "CT-DELIV1", AccountName: "Cancity", CustomerNo: "CUST-1", ProductName: "GTX Basic", ProductNo: "MAT-1",
		Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(100), Amount: decimal.NewFromInt(100), Currency: "USD",
		TaxRate: decimal.RequireFromString("0.13"), SignedOn: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Source: store.SourceCRMImport, State: store.ContractInvoiced, PaidAmount: decimal.Zero,
		WorkflowID: "contract-to-cash-CT-DELIV1", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := st.CreateContract(ctx, contract, nil); err != nil {
		t.Fatalf("create contract: %v", err)
	}
	lines := []store.BankLine{
		{LineID: "L-KEPT", BusinessDate: "2026-12-03", Amount: decimal.NewFromInt(30), AmountText: "30.00", Currency: "USD",
			PayerName: "Cancity", Status: store.LineUnmatched, AllocatedAmount: decimal.Zero, FetchedAt: now, UpdatedAt: now},
		{LineID: "L-TAKEN", BusinessDate: "2026-12-03", Amount: decimal.NewFromInt(70), AmountText: "70.00", Currency: "USD",
			PayerName: "Cancity", Status: store.LineUnmatched, AllocatedAmount: decimal.Zero, FetchedAt: now, UpdatedAt: now},
	}
	if _, err := store.InsertNewBankLines(ctx, st.DB, lines); err != nil {
		t.Fatalf("insert bank lines: %v", err)
	}
	var pending []store.Allocation
	for _, line := range lines {
		allocation, err := st.AssignLine(ctx, line.LineID, contract.ContractNo, "li.na")
		if err != nil {
			t.Fatalf("assign %s: %v", line.LineID, err)
		}
		pending = append(pending, *allocation)
	}
	// A person takes L-TAKEN back after the dispatcher read its batch.
	if _, err := st.UnassignLine(ctx, "L-TAKEN", "wang.fang", "wrong contract"); err != nil {
		t.Fatalf("unassign L-TAKEN: %v", err)
	}

	recorder := &signalRecorder{}
	acts := &BankActivities{Store: st, Temporal: recorder}
	outcomes := map[string]int{}
	for _, allocation := range pending {
		outcome, err := acts.deliver(ctx, allocation)
		if err != nil {
			t.Fatalf("deliver %s: %v", allocation.ID, err)
		}
		outcomes[allocation.LineID] = outcome
	}
	if outcomes["L-KEPT"] != deliveredOutcome {
		t.Errorf("outcome of L-KEPT = %d, expected delivered", outcomes["L-KEPT"])
	}
	if outcomes["L-TAKEN"] != unassignedOutcome {
		t.Errorf("outcome of L-TAKEN = %d, expected unassigned", outcomes["L-TAKEN"])
	}
	if len(recorder.workflowIDs) != 1 {
		t.Errorf("%d payment signals, expected 1 for L-KEPT only", len(recorder.workflowIDs))
	}
	if _, err := st.UnassignLine(ctx, "L-KEPT", "wang.fang", "too late"); err == nil {
		t.Error("unassigning the delivered L-KEPT succeeded, expected a rejection")
	}
}
