package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// listContracts gets one page of contracts with the query.
func listContracts(t *testing.T, ts *testServer, query url.Values) ContractList {
	t.Helper()
	resp := ts.do(http.MethodGet, "/api/v1/contracts?"+query.Encode(), nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("list contracts with %s: status %d, expected 200; body %s", query.Encode(), resp.status, resp.body)
	}
	var list ContractList
	resp.decode(t, &list)
	return list
}

func contractNumbers(contracts []store.Contract) []string {
	numbers := make([]string, len(contracts))
	for i, c := range contracts {
		numbers[i] = c.ContractNo
	}
	return numbers
}

func TestContractsList(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	states := []string{store.ContractSigned, store.ContractInProduction, store.ContractClosed,
		store.ContractNeedsAttention, store.ContractCancelled}
	prefix := uniqueNo(t)
	var all []string
	for i, state := range states {
		no := prefix + "-" + string(rune('A'+i))
		seedContract(t, ts, no, state, false)
		all = append(all, no)
	}

	t.Run("all", func(t *testing.T) {
		list := listContracts(t, ts, url.Values{})
		if got := strings.Join(contractNumbers(list.Contracts), ","); got != strings.Join(all, ",") {
			t.Errorf("contracts = %s, expected %s", got, strings.Join(all, ","))
		}
		if list.Next != "" {
			t.Errorf("next = %q on the only page, expected none", list.Next)
		}
	})

	t.Run("by state", func(t *testing.T) {
		list := listContracts(t, ts, url.Values{"state": {store.ContractNeedsAttention}})
		if got := contractNumbers(list.Contracts); len(got) != 1 || got[0] != all[3] {
			t.Errorf("needs_attention contracts = %v, expected [%s]", got, all[3])
		}
	})

	t.Run("state without contracts", func(t *testing.T) {
		resp := ts.do(http.MethodGet, "/api/v1/contracts?state=paid", nil, nil)
		if resp.status != http.StatusOK || !strings.Contains(string(resp.body), `"contracts": []`) {
			t.Errorf("status %d, body %s; expected 200 and an empty array", resp.status, resp.body)
		}
	})

	t.Run("pages", func(t *testing.T) {
		var seen []string
		query := url.Values{"limit": {"2"}}
		for page := 1; ; page++ {
			if page > len(all) {
				t.Fatalf("still paging after %d pages: %v", page, seen)
			}
			list := listContracts(t, ts, query)
			if len(list.Contracts) > 2 {
				t.Fatalf("page %d has %d contracts, expected at most 2", page, len(list.Contracts))
			}
			seen = append(seen, contractNumbers(list.Contracts)...)
			if list.Next == "" {
				break
			}
			if last := list.Contracts[len(list.Contracts)-1].ContractNo; list.Next != last {
				t.Errorf("page %d: next = %s, expected its last contract %s", page, list.Next, last)
			}
			query.Set("after", list.Next)
		}
		if got := strings.Join(seen, ","); got != strings.Join(all, ",") {
			t.Errorf("paged through %s, expected %s", got, strings.Join(all, ","))
		}
	})

	t.Run("after the last", func(t *testing.T) {
		list := listContracts(t, ts, url.Values{"after": {all[len(all)-1]}})
		if len(list.Contracts) != 0 || list.Next != "" {
			t.Errorf("page after the last contract = %v, next %q; expected empty", contractNumbers(list.Contracts), list.Next)
		}
	})

	invalid := []struct {
		name  string
		query string
		words []string
	}{
		{"unknown state", "state=lost", []string{`"lost"`, "needs_attention"}},
		{"state in upper case", "state=SIGNED", []string{`"SIGNED"`}},
		{"limit zero", "limit=0", []string{"limit"}},
		{"limit negative", "limit=-5", []string{"limit"}},
		{"limit too large", "limit=1001", []string{"limit", "1000"}},
		{"limit not a number", "limit=ten", []string{"limit"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			ts.do(http.MethodGet, "/api/v1/contracts?"+tc.query, nil, nil).
				expectError(t, http.StatusBadRequest, "invalid_argument", tc.words...)
		})
	}
}

func TestContractsShow(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()

	t.Run("unknown", func(t *testing.T) {
		ts.do(http.MethodGet, "/api/v1/contracts/CT-NOSUCH", nil, nil).expectError(t, http.StatusNotFound, "not_found", "CT-NOSUCH")
	})

	started := seedContract(t, ts, uniqueNo(t), store.ContractInProduction, true)
	paidAt := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if err := store.RecordInstalmentPayment(ctx, ts.store.DB, started.ContractNo, 1, decimal.RequireFromString("300.00"), &paidAt); err != nil {
		t.Fatalf("record payment: %v", err)
	}
	if err := ts.store.RecordStep(ctx, &store.ContractStep{ContractNo: started.ContractNo, Step: "sales_order", Seq: 2,
		State: store.StepDone, ExternalNo: "SO-" + started.ContractNo}); err != nil {
		t.Fatalf("record step: %v", err)
	}

	t.Run("without live status", func(t *testing.T) {
		begun := time.Now()
		resp := ts.do(http.MethodGet, "/api/v1/contracts/"+started.ContractNo+"?live=false", nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d, expected 200; body %s", resp.status, resp.body)
		}
		if elapsed := time.Since(begun); elapsed > 2*time.Second {
			t.Errorf("response took %s, expected no wait for the workflow", elapsed)
		}
		var view ContractView
		resp.decode(t, &view)
		if view.Contract == nil || view.Contract.ContractNo != started.ContractNo || view.Contract.State != store.ContractInProduction {
			t.Fatalf("contract = %+v, expected %s in_production", view.Contract, started.ContractNo)
		}
		if len(view.Instalments) != 2 || !view.Instalments[0].PaidAmount.Equal(decimal.RequireFromString("300")) {
			t.Errorf("instalments = %+v, expected 2 with the first paid 300", view.Instalments)
		}
		if len(view.Steps) != 1 || view.Steps[0].Step != "sales_order" {
			t.Errorf("steps = %+v, expected the sales_order step", view.Steps)
		}
		if view.Live != nil || view.LiveError != "" {
			t.Errorf("live = %+v, live_error %q; expected neither with live=false", view.Live, view.LiveError)
		}
		for _, field := range []string{`"allocations": []`, `"attention": []`} {
			if !strings.Contains(string(resp.body), field) {
				t.Errorf("response lacks %s: %s", field, resp.body)
			}
		}
	})

	t.Run("unstarted chain", func(t *testing.T) {
		unstarted := seedContract(t, ts, uniqueNo(t), store.ContractSigned, false)
		var view ContractView
		resp := ts.do(http.MethodGet, "/api/v1/contracts/"+unstarted.ContractNo, nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d, expected 200; body %s", resp.status, resp.body)
		}
		resp.decode(t, &view)
		if view.Live != nil || view.LiveError != "" {
			t.Errorf("live = %+v, live_error %q; expected no query of a chain that never started", view.Live, view.LiveError)
		}
	})

	// No worker polls the chain's task queue, so the status query fails
	// and the response explains why the live status is missing.
	t.Run("live status unavailable", func(t *testing.T) {
		var view ContractView
		resp := ts.do(http.MethodGet, "/api/v1/contracts/"+started.ContractNo, nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d, expected 200; body %s", resp.status, resp.body)
		}
		resp.decode(t, &view)
		if view.Live != nil || view.LiveError == "" {
			t.Errorf("live = %+v, live_error %q; expected an error and no live status", view.Live, view.LiveError)
		}
	})
}

func TestContractsCancelResume(t *testing.T) {
	ts := newTestServer(t, "sqlite", withIdleStarter)
	running := seedContract(t, ts, uniqueNo(t), store.ContractInProduction, true)
	parked := seedContract(t, ts, uniqueNo(t), store.ContractNeedsAttention, true)
	closed := seedContract(t, ts, uniqueNo(t), store.ContractClosed, false)
	cancelled := seedContract(t, ts, uniqueNo(t), store.ContractCancelled, false)
	unstarted := seedContract(t, ts, uniqueNo(t), store.ContractSigned, false)
	path := func(c *store.Contract, action string) string {
		return "/api/v1/contracts/" + c.ContractNo + "/" + action
	}
	reason := mustJSON(t, ActionRequest{Reason: "customer withdrew", By: "li.na"})
	jsonHeader := http.Header{"Content-Type": {"application/json"}}

	rejected := []struct {
		name   string
		path   string
		body   []byte
		status int
		code   string
		words  []string
	}{
		{"cancel without reason", path(running, "cancel"), []byte(`{"by":"li.na"}`), http.StatusBadRequest, "invalid_argument", []string{"reason"}},
		{"cancel with empty body", path(running, "cancel"), nil, http.StatusBadRequest, "invalid_argument", []string{"JSON"}},
		{"cancel with unknown field", path(running, "cancel"), []byte(`{"reason":"x","force":true}`), http.StatusBadRequest, "invalid_argument", []string{"force"}},
		{"cancel with body over 1 MiB", path(running, "cancel"), []byte(`{"reason":"` + strings.Repeat("x", maxBodyBytes) + `"}`),
			http.StatusRequestEntityTooLarge, "too_large", []string{"1 MiB"}},
		{"cancel unknown contract", "/api/v1/contracts/CT-NOSUCH/cancel", reason, http.StatusNotFound, "not_found", []string{"CT-NOSUCH"}},
		{"cancel closed contract", path(closed, "cancel"), reason, http.StatusConflict, "conflict", []string{closed.ContractNo, "closed"}},
		{"cancel cancelled contract", path(cancelled, "cancel"), reason, http.StatusConflict, "conflict", []string{"cancelled"}},
		{"cancel contract without chain", path(unstarted, "cancel"), reason, http.StatusConflict, "chain_starting", []string{"still starting"}},
		{"resume closed contract", path(closed, "resume"), []byte(`{}`), http.StatusConflict, "conflict", []string{"closed"}},
		{"resume cancelled contract", path(cancelled, "resume"), []byte(`{}`), http.StatusConflict, "conflict", []string{"cancelled"}},
		{"resume running contract", path(running, "resume"), []byte(`{}`), http.StatusConflict, "conflict", []string{"in_production", "needs_attention"}},
		{"resume unknown contract", "/api/v1/contracts/CT-NOSUCH/resume", []byte(`{}`), http.StatusNotFound, "not_found", []string{"CT-NOSUCH"}},
		{"resume with invalid JSON", path(parked, "resume"), []byte(`{"note":`), http.StatusBadRequest, "invalid_argument", []string{"JSON"}},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			ts.do(http.MethodPost, tc.path, tc.body, jsonHeader).expectError(t, tc.status, tc.code, tc.words...)
		})
	}
	if n := len(signalsOf[workflows.CancelSignal](t, running.WorkflowID, workflows.SignalCancel)); n != 0 {
		t.Errorf("%d cancel signals after rejected requests, expected none", n)
	}
	if n := len(signalsOf[workflows.ResumeSignal](t, parked.WorkflowID, workflows.SignalResume)); n != 0 {
		t.Errorf("%d resume signals after rejected requests, expected none", n)
	}

	t.Run("cancel", func(t *testing.T) {
		resp := ts.do(http.MethodPost, path(running, "cancel"), reason, jsonHeader)
		expectStatus(t, resp, http.StatusAccepted, "accepted")
		signals := signalsOf[workflows.CancelSignal](t, running.WorkflowID, workflows.SignalCancel)
		expected := workflows.CancelSignal{Reason: "customer withdrew", RequestedBy: "li.na"}
		if len(signals) != 1 || signals[0] != expected {
			t.Errorf("cancel signals = %+v, expected [%+v]", signals, expected)
		}
	})

	t.Run("resume without body", func(t *testing.T) {
		resp := ts.do(http.MethodPost, path(parked, "resume"), nil, nil)
		expectStatus(t, resp, http.StatusAccepted, "accepted")
		signals := signalsOf[workflows.ResumeSignal](t, parked.WorkflowID, workflows.SignalResume)
		expected := workflows.ResumeSignal{By: "api"}
		if len(signals) != 1 || signals[0] != expected {
			t.Errorf("resume signals = %+v, expected [%+v]", signals, expected)
		}
	})
}

func TestSummaryAndAttention(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()

	resp := ts.do(http.MethodGet, "/api/v1/summary", nil, nil)
	var empty Summary
	resp.decode(t, &empty)
	if resp.status != http.StatusOK || empty.Total != 0 || empty.Contracts == nil {
		t.Errorf("summary of an empty database: status %d, %+v; expected 200, total 0, no states", resp.status, empty)
	}

	parked := seedContract(t, ts, uniqueNo(t), store.ContractNeedsAttention, false)
	seedContract(t, ts, uniqueNo(t), store.ContractNeedsAttention, false)
	seedContract(t, ts, uniqueNo(t), store.ContractPaid, false)
	for i, item := range []store.AttentionItem{
		{Kind: store.AttentionChainParked, Reference: parked.ContractNo, ContractNo: parked.ContractNo, Message: "ERP rejected the sales order"},
		{Kind: store.AttentionUnmatchedLine, Reference: "LINE-1", Message: "no contract matches the receipt"},
	} {
		if _, err := store.AddAttention(ctx, ts.store.DB, &item); err != nil {
			t.Fatalf("add attention item %d: %v", i, err)
		}
	}
	if err := store.ResolveAttention(ctx, ts.store.DB, store.AttentionUnmatchedLine, "LINE-1", "li.na", "refunded"); err != nil {
		t.Fatalf("resolve attention item: %v", err)
	}

	var summary Summary
	ts.do(http.MethodGet, "/api/v1/summary", nil, nil).decode(t, &summary)
	if summary.Total != 3 || summary.OpenAttention != 1 {
		t.Errorf("summary total %d, open attention %d; expected 3 and 1", summary.Total, summary.OpenAttention)
	}
	counts := map[string]int{}
	for _, c := range summary.Contracts {
		counts[c.State] = c.Count
	}
	if counts[store.ContractNeedsAttention] != 2 || counts[store.ContractPaid] != 1 {
		t.Errorf("counts by state = %v, expected needs_attention 2 and paid 1", counts)
	}

	var open, all struct {
		Items []store.AttentionItem `json:"items"`
	}
	ts.do(http.MethodGet, "/api/v1/attention", nil, nil).decode(t, &open)
	if len(open.Items) != 1 || open.Items[0].Reference != parked.ContractNo {
		t.Errorf("open attention items = %+v, expected the parked chain", open.Items)
	}
	ts.do(http.MethodGet, "/api/v1/attention?all=true", nil, nil).decode(t, &all)
	if len(all.Items) != 2 {
		t.Errorf("%d attention items with all=true, expected 2", len(all.Items))
	}
}

// TestContractsShowLive runs a stand-in for the chain that handles the
// status query, so the view carries the workflow's own status.
func TestContractsShowLive(t *testing.T) {
	// The test starts a stand-in chain itself; the starter's loop would
	// start the real one on ordo's task queue, where no worker polls.
	ts := newTestServer(t, "sqlite", withIdleStarter)
	ctx := context.Background()
	taskQueue := "api-test-live-" + uniqueNo(t)
	w := worker.New(temporalClient, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.ContractToCashInput) error {
		status := workflows.ChainStatus{ContractNo: in.ContractNo, State: store.ContractInProduction,
			Total: decimal.RequireFromString("1000.00"), Paid: decimal.RequireFromString("300.00")}
		if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (workflows.ChainStatus, error) { return status, nil }); err != nil {
			return err
		}
		workflow.GetSignalChannel(ctx, "stop").Receive(ctx, nil)
		return nil
	}, workflow.RegisterOptions{Name: workflows.ContractToCashName})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)

	contract := seedContract(t, ts, uniqueNo(t), store.ContractInProduction, false)
	if err := ts.store.MarkWorkflowsStarted(ctx, []string{contract.ContractNo}, time.Now()); err != nil {
		t.Fatalf("mark chain started: %v", err)
	}
	_, err := temporalClient.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: contract.WorkflowID, TaskQueue: taskQueue, WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.ContractToCashName, workflows.ContractToCashInput{ContractNo: contract.ContractNo})
	if err != nil {
		t.Fatalf("start stand-in chain: %v", err)
	}
	t.Cleanup(func() { terminateWorkflow(t, contract.WorkflowID) })

	// A query waits for the chain's first workflow task, which a busy
	// machine may delay past the handler's 3 s query timeout. Waiting for
	// that task here leaves the loop below to retry only a slow query.
	waitFirstWorkflowTask(t, contract.WorkflowID, time.Minute)
	var view ContractView
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp := ts.do(http.MethodGet, "/api/v1/contracts/"+contract.ContractNo, nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d, expected 200; body %s", resp.status, resp.body)
		}
		view = ContractView{}
		resp.decode(t, &view)
		if view.LiveError == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if view.LiveError != "" {
		t.Fatalf("live_error = %q, expected the workflow's status", view.LiveError)
	}
	if view.Live == nil || view.Live.ContractNo != contract.ContractNo || view.Live.State != store.ContractInProduction {
		t.Fatalf("live = %+v, expected %s in_production", view.Live, contract.ContractNo)
	}
	if !view.Live.Paid.Equal(decimal.RequireFromString("300")) {
		t.Errorf("live paid = %s, expected 300", view.Live.Paid)
	}
}

func TestAttentionPages(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()
	const total = 7
	for i := 0; i < total; i++ {
		item := store.AttentionItem{Kind: store.AttentionUnmatchedLine, Reference: fmt.Sprintf("PAGE-%d", i), Message: "no contract matches the receipt"}
		if _, err := store.AddAttention(ctx, ts.store.DB, &item); err != nil {
			t.Fatalf("add attention item %d: %v", i, err)
		}
	}

	var seen []int64
	after := ""
	wantRemaining := []int64{4, 1, 0}
	for page := 0; ; page++ {
		path := "/api/v1/attention?limit=3"
		if after != "" {
			path += "&after=" + after
		}
		var list AttentionList
		resp := ts.do(http.MethodGet, path, nil, nil)
		resp.decode(t, &list)
		if resp.status != http.StatusOK {
			t.Fatalf("page %d: status %d, expected 200", page, resp.status)
		}
		if page >= len(wantRemaining) {
			t.Fatalf("page %d exists, expected %d pages", page, len(wantRemaining))
		}
		if list.Remaining != wantRemaining[page] {
			t.Errorf("page %d: remaining %d, expected %d", page, list.Remaining, wantRemaining[page])
		}
		for _, item := range list.Items {
			seen = append(seen, item.ID)
		}
		if list.Next == "" {
			break
		}
		after = list.Next
	}
	if len(seen) != total {
		t.Fatalf("paging returned %d items, expected %d: %v", len(seen), total, seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Errorf("item ids %v are not newest first without repeats", seen)
			break
		}
	}

	ts.do(http.MethodGet, "/api/v1/attention?limit=0", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "limit")
	ts.do(http.MethodGet, "/api/v1/attention?after=x", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "after", `"x"`)
}

func TestContractsShowVATRate(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()
	contract := seedContract(t, ts, uniqueNo(t), store.ContractDelivered, false)
	// Signed under the 17% rate, which was 13% on the API clock's date.
	contract.TaxRate = decimal.RequireFromString("0.17")
	if _, err := ts.store.DB.NewUpdate().Model(contract).Column("tax_rate").WherePK().Exec(ctx); err != nil {
		t.Fatalf("set signing rate: %v", err)
	}
	show := func(t *testing.T) VATRate {
		t.Helper()
		var view ContractView
		resp := ts.do(http.MethodGet, "/api/v1/contracts/"+contract.ContractNo+"?live=false", nil, nil)
		resp.decode(t, &view)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d, expected 200", resp.status)
		}
		return view.VATRate
	}

	before := show(t)
	if before.Source != VATRateExpected || !before.Rate.Equal(decimal.RequireFromString("0.13")) || before.InvoiceNo != "" {
		t.Errorf("rate before the invoice = %+v, expected today's 0.13 marked expected", before)
	}
	if before.SigningRate == nil || !before.SigningRate.Equal(contract.TaxRate) {
		t.Errorf("signing rate before the invoice = %v, expected %s", before.SigningRate, contract.TaxRate)
	}

	if err := store.SetInvoiceTaxRate(ctx, ts.store.DB, contract.ContractNo, decimal.RequireFromString("0.09")); err != nil {
		t.Fatalf("set invoice tax rate: %v", err)
	}
	if err := ts.store.RecordStep(ctx, &store.ContractStep{ContractNo: contract.ContractNo, Step: activities.StepInvoice,
		Seq: activities.StepSeq(activities.StepInvoice), State: store.StepDone, ExternalNo: "FP-0001"}); err != nil {
		t.Fatalf("record invoice step: %v", err)
	}
	after := show(t)
	if after.Source != VATRateInvoice || !after.Rate.Equal(decimal.RequireFromString("0.09")) {
		t.Errorf("rate after the invoice = %+v, expected the invoice's 0.09", after)
	}
	if after.InvoiceNo != "FP-0001" {
		t.Errorf("invoice number = %q, expected FP-0001", after.InvoiceNo)
	}
	if after.SigningRate == nil || !after.SigningRate.Equal(contract.TaxRate) {
		t.Errorf("signing rate = %v, expected %s beside the different invoice rate", after.SigningRate, contract.TaxRate)
	}
}
