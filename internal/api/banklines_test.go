package api

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// seedBankLine stores a bank line in status and, for an unmatched line,
// its attention item.
func seedBankLine(t *testing.T, st *store.Store, lineID, status, amount string) {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	line := store.BankLine{
		LineID: lineID, BusinessDate: "2026-12-03", Amount: decimal.RequireFromString(amount), AmountText: amount,
		Currency: "USD", PayerName: "Acme Corp.", PayerAccount: "6222020000000000001", Remark: "payment",
		Status: status, AllocatedAmount: decimal.Zero, FetchedAt: now, UpdatedAt: now,
	}
	if _, err := store.InsertNewBankLines(ctx, st.DB, []store.BankLine{line}); err != nil {
		t.Fatalf("insert bank line %s: %v", lineID, err)
	}
	if status == store.LineUnmatched {
		item := &store.AttentionItem{Kind: store.AttentionUnmatchedLine, Reference: lineID, Message: "no contract matches the receipt"}
		if _, err := store.AddAttention(ctx, st.DB, item); err != nil {
			t.Fatalf("add attention item of %s: %v", lineID, err)
		}
	}
}

func TestBankLinesAssign(t *testing.T) {
	storetest.RequirePostgres(t)
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			testBankLinesAssign(t, newTestServer(t, driver, nil))
		})
	}
}

func testBankLinesAssign(t *testing.T, ts *testServer) {
	ctx := context.Background()
	contract := seedContract(t, ts, uniqueNo(t), store.ContractInvoiced, false)
	seedBankLine(t, ts.store, "L-UNMATCHED", store.LineUnmatched, "300.05")
	seedBankLine(t, ts.store, "L-MATCHED", store.LineMatched, "700.00")
	seedBankLine(t, ts.store, "L-NEW", store.LineNew, "12.00")
	assignPath := func(lineID string) string { return "/api/v1/bank-lines/" + lineID + "/assign" }
	assign := mustJSON(t, AssignRequest{ContractNo: contract.ContractNo, By: "li.na"})
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	before := rowCounts(t, ts.store)

	rejected := []struct {
		name   string
		path   string
		body   []byte
		status int
		code   string
		words  []string
	}{
		{"missing contract_no", assignPath("L-UNMATCHED"), []byte(`{"by":"li.na"}`), http.StatusBadRequest, "invalid_argument", []string{"contract_no"}},
		{"empty body", assignPath("L-UNMATCHED"), nil, http.StatusBadRequest, "invalid_argument", []string{"JSON"}},
		{"unknown field", assignPath("L-UNMATCHED"), []byte(`{"contract":"CT-1"}`), http.StatusBadRequest, "invalid_argument", []string{"contract"}},
		{"unknown contract", assignPath("L-UNMATCHED"), mustJSON(t, AssignRequest{ContractNo: "CT-NOSUCH"}),
			http.StatusNotFound, "not_found", []string{"CT-NOSUCH"}},
		{"unknown line", assignPath("L-NOSUCH"), assign, http.StatusNotFound, "not_found", []string{"L-NOSUCH"}},
		{"matched line", assignPath("L-MATCHED"), assign, http.StatusConflict, "conflict", []string{"L-MATCHED", "matched"}},
		{"line not yet matched", assignPath("L-NEW"), assign, http.StatusConflict, "conflict", []string{"L-NEW", "new"}},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			ts.do(http.MethodPost, tc.path, tc.body, jsonHeader).expectError(t, tc.status, tc.code, tc.words...)
			expectCounts(t, rowCounts(t, ts.store), before)
		})
	}

	t.Run("unmatched line", func(t *testing.T) {
		resp := ts.do(http.MethodPost, assignPath("L-UNMATCHED"), assign, jsonHeader)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d, expected 200; body %s", resp.status, resp.body)
		}
		var allocation store.Allocation
		resp.decode(t, &allocation)
		if allocation.LineID != "L-UNMATCHED" || allocation.ContractNo != contract.ContractNo ||
			allocation.Method != store.MatchManual || allocation.CreatedBy != "li.na" {
			t.Errorf("allocation = %+v, expected L-UNMATCHED to %s, manual, by li.na", allocation, contract.ContractNo)
		}
		if !allocation.Amount.Equal(decimal.RequireFromString("300.05")) {
			t.Errorf("allocated amount = %s, expected the line's 300.05", allocation.Amount)
		}
		line, err := store.GetBankLine(ctx, ts.store.DB, "L-UNMATCHED")
		if err != nil {
			t.Fatalf("read line: %v", err)
		}
		if line.Status != store.LineMatched || !line.AllocatedAmount.Equal(decimal.RequireFromString("300.05")) {
			t.Errorf("line status %s, allocated %s; expected matched 300.05", line.Status, line.AllocatedAmount)
		}
		open, err := ts.store.CountOpenAttention(ctx)
		if err != nil {
			t.Fatalf("count open attention items: %v", err)
		}
		if open != 0 {
			t.Errorf("%d open attention items, expected the unmatched line's item resolved", open)
		}
		after := maps.Clone(before)
		after["allocations"]++
		expectCounts(t, rowCounts(t, ts.store), after)

		// Assigning again finds the line matched.
		ts.do(http.MethodPost, assignPath("L-UNMATCHED"), assign, jsonHeader).expectError(t, http.StatusConflict, "conflict", "matched")
	})

	t.Run("list by status", func(t *testing.T) {
		var body struct {
			Lines []store.BankLine `json:"lines"`
		}
		ts.do(http.MethodGet, "/api/v1/bank-lines?status=matched", nil, nil).decode(t, &body)
		if len(body.Lines) != 2 {
			t.Errorf("%d matched lines, expected 2", len(body.Lines))
		}
		ts.do(http.MethodGet, "/api/v1/bank-lines", nil, nil).decode(t, &body)
		if len(body.Lines) != 3 {
			t.Errorf("%d lines, expected 3", len(body.Lines))
		}
	})
}

func TestBankLinesAssignRejects(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()
	closed := seedContract(t, ts, uniqueNo(t), store.ContractClosed, false)
	cancelled := seedContract(t, ts, uniqueNo(t), store.ContractCancelled, false)
	open := seedContract(t, ts, uniqueNo(t), store.ContractInvoiced, false)
	seedBankLine(t, ts.store, "L-USD", store.LineUnmatched, "300.00")
	seedBankLine(t, ts.store, "L-CNY", store.LineUnmatched, "2130.00")
	if _, err := ts.store.DB.NewUpdate().Model((*store.BankLine)(nil)).Set("currency = 'CNY'").Where("line_id = 'L-CNY'").Exec(ctx); err != nil {
		t.Fatalf("set currency of L-CNY: %v", err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	before := rowCounts(t, ts.store)

	cases := []struct {
		name, lineID, contractNo string
		words                    []string
	}{
		{"closed contract", "L-USD", closed.ContractNo, []string{closed.ContractNo, "closed", "state", "open contract"}},
		{"cancelled contract", "L-USD", cancelled.ContractNo, []string{cancelled.ContractNo, "cancelled", "state"}},
		{"currency mismatch", "L-CNY", open.ContractNo, []string{"L-CNY", "CNY", "currency", open.ContractNo, "USD"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := mustJSON(t, AssignRequest{ContractNo: tc.contractNo, By: "li.na"})
			ts.do(http.MethodPost, "/api/v1/bank-lines/"+tc.lineID+"/assign", body, jsonHeader).
				expectError(t, http.StatusConflict, "conflict", tc.words...)
			expectCounts(t, rowCounts(t, ts.store), before)
		})
	}
}

func TestBankLinesUnassign(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()
	contract := seedContract(t, ts, uniqueNo(t), store.ContractInvoiced, false)
	seedBankLine(t, ts.store, "L-WRONG", store.LineUnmatched, "300.00")
	seedBankLine(t, ts.store, "L-DELIVERED", store.LineUnmatched, "700.00")
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	assign := mustJSON(t, AssignRequest{ContractNo: contract.ContractNo, By: "li.na"})
	for _, lineID := range []string{"L-WRONG", "L-DELIVERED"} {
		if resp := ts.do(http.MethodPost, "/api/v1/bank-lines/"+lineID+"/assign", assign, jsonHeader); resp.status != http.StatusOK {
			t.Fatalf("assign %s: status %d, body %s", lineID, resp.status, resp.body)
		}
	}
	if err := ts.store.MarkAllocationDelivered(ctx, "L-DELIVERED/"+contract.ContractNo, time.Now()); err != nil {
		t.Fatalf("mark L-DELIVERED delivered: %v", err)
	}
	unassignPath := func(lineID string) string { return "/api/v1/bank-lines/" + lineID + "/unassign" }
	unassign := mustJSON(t, UnassignRequest{By: "wang.fang", Reason: "the payer is another customer"})

	ts.do(http.MethodPost, unassignPath("L-WRONG"), []byte(`{"by":"wang.fang"}`), jsonHeader).
		expectError(t, http.StatusBadRequest, "invalid_argument", "reason")
	ts.do(http.MethodPost, unassignPath("L-WRONG"), []byte(`{"reason":"wrong"}`), jsonHeader).
		expectError(t, http.StatusBadRequest, "invalid_argument", "by")
	ts.do(http.MethodPost, unassignPath("L-NOSUCH"), unassign, jsonHeader).expectError(t, http.StatusNotFound, "not_found", "L-NOSUCH")
	ts.do(http.MethodPost, unassignPath("L-DELIVERED"), unassign, jsonHeader).
		expectError(t, http.StatusConflict, "conflict", "L-DELIVERED", contract.ContractNo, "counted it as paid")

	resp := ts.do(http.MethodPost, unassignPath("L-WRONG"), unassign, jsonHeader)
	if resp.status != http.StatusOK {
		t.Fatalf("unassign L-WRONG: status %d, expected 200; body %s", resp.status, resp.body)
	}
	var result UnassignResponse
	resp.decode(t, &result)
	if len(result.Allocations) != 1 || result.Allocations[0].ContractNo != contract.ContractNo {
		t.Errorf("taken back allocations = %+v, expected the one to %s", result.Allocations, contract.ContractNo)
	}
	if result.Line.Status != store.LineUnmatched || !result.Line.AllocatedAmount.IsZero() {
		t.Errorf("line after unassign: status %s, allocated %s; expected unmatched, 0", result.Line.Status, result.Line.AllocatedAmount)
	}

	balances, err := store.OpenBalances(ctx, ts.store.DB, nil, []string{contract.ContractNo})
	if err != nil || len(balances) != 1 {
		t.Fatalf("open balance of %s: %+v, err %v", contract.ContractNo, balances, err)
	}
	if !balances[0].Allocated.Equal(decimal.RequireFromString("700.00")) {
		t.Errorf("allocated to %s = %s, expected only the delivered 700.00", contract.ContractNo, balances[0].Allocated)
	}
	if exists, err := store.AllocationExists(ctx, ts.store.DB, "L-WRONG/"+contract.ContractNo); err != nil || exists {
		t.Errorf("allocation of L-WRONG exists = %v (err %v), expected it deleted so the chain never receives it", exists, err)
	}

	items, err := ts.store.ListAttention(ctx, store.AttentionFilter{OpenOnly: true, Kind: store.AttentionUnmatchedLine})
	if err != nil {
		t.Fatalf("list attention: %v", err)
	}
	if len(items) != 1 || items[0].Reference != "L-WRONG" {
		t.Errorf("open unmatched-receipt items = %+v, expected L-WRONG reopened", items)
	}

	audit, err := store.AllocationAuditOf(ctx, ts.store.DB, "L-WRONG")
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	if len(audit) != 2 || audit[0].Action != store.AllocationAssigned || audit[0].By != "li.na" ||
		audit[1].Action != store.AllocationUnassigned || audit[1].By != "wang.fang" || audit[1].Reason != "the payer is another customer" {
		t.Errorf("audit of L-WRONG = %+v, expected assign by li.na then unassign by wang.fang with the reason", audit)
	}

	// The line is unmatched again, so it can be assigned, and unassigning
	// it twice finds nothing to take back.
	ts.do(http.MethodPost, unassignPath("L-WRONG"), unassign, jsonHeader).expectError(t, http.StatusConflict, "conflict", "unmatched")
	if resp := ts.do(http.MethodPost, "/api/v1/bank-lines/L-WRONG/assign", assign, jsonHeader); resp.status != http.StatusOK {
		t.Errorf("assign L-WRONG again: status %d, body %s", resp.status, resp.body)
	}
}
