package api

import (
	"context"
	"maps"
	"net/http"
	"testing"

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
