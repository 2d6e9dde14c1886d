package api

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/enums/v1"

	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

const contractSignedPath = "/api/v1/events/contract-signed"

// signedEvent returns a valid contract-signed event for contract no as a
// JSON object, so a case can change or delete one field.
func signedEvent(eventID, no string) map[string]any {
	return map[string]any{
		"event_id":    eventID,
		"contract_no": no,
		"account": map[string]any{
			"name": "Acme Corporation", "sector": "technology", "office_location": "United States",
		},
		"product":     "GTX Basic",
		"sales_agent": "Moses Frase",
		"quantity":    "2",
		"amount":      "1054.10",
		"currency":    "USD",
		"signed_on":   "2026-11-30",
	}
}

// TestContractSignedFlow follows one contract through its first event, a
// replay of that event and a second event about the same contract.
func TestContractSignedFlow(t *testing.T) {
	storetest.RequirePostgres(t)
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			ts := newTestServer(t, driver, nil)
			ctx := context.Background()
			no := uniqueNo(t)
			workflowID := numbering.ContractWorkflowID(no)
			t.Cleanup(func() { terminateWorkflow(t, workflowID) })
			first := mustJSON(t, signedEvent("evt-1-"+no, no))

			resp := ts.postSigned(contractSignedPath, first)
			if resp.status != http.StatusAccepted {
				t.Fatalf("first event: status %d, expected 202; body %s", resp.status, resp.body)
			}
			var answer ContractSignedAnswer
			resp.decode(t, &answer)
			if answer.Status != "accepted" || answer.ContractNo != no || answer.WorkflowID != workflowID {
				t.Errorf("response = %+v, expected accepted %s %s", answer, no, workflowID)
			}

			ts.waitChainStarted(no)
			contract, err := ts.store.GetContract(ctx, no)
			if err != nil {
				t.Fatalf("read recorded contract: %v", err)
			}
			if !contract.Amount.Equal(decimal.RequireFromString("1054.10")) {
				t.Errorf("amount = %s, expected 1054.10", contract.Amount)
			}
			if !contract.Quantity.Equal(decimal.NewFromInt(2)) {
				t.Errorf("quantity = %s, expected 2", contract.Quantity)
			}
			if contract.State != store.ContractSigned || contract.Source != store.SourceWebhook || contract.Currency != "USD" {
				t.Errorf("contract state %s, source %s, currency %s; expected signed, webhook, USD",
					contract.State, contract.Source, contract.Currency)
			}
			if got := contract.SignedOn.Format(time.DateOnly); got != "2026-11-30" {
				t.Errorf("signed_on = %s, expected 2026-11-30", got)
			}
			if contract.WorkflowStartedAt == nil {
				t.Errorf("workflow_started_at is empty, expected the time the chain started")
			}
			plan, err := ts.store.Instalments(ctx, no)
			if err != nil {
				t.Fatalf("read payment plan: %v", err)
			}
			if len(plan) != 2 {
				t.Fatalf("payment plan has %d instalments, expected 2", len(plan))
			}
			if sum := plan[0].Amount.Add(plan[1].Amount); !sum.Equal(contract.Amount) {
				t.Errorf("instalments %s + %s = %s, expected the contract amount %s", plan[0].Amount, plan[1].Amount, sum, contract.Amount)
			}
			accounts, err := ts.store.AccountsByName(ctx, []string{"Acme Corporation"})
			if err != nil {
				t.Fatalf("read account: %v", err)
			}
			if account := accounts["Acme Corporation"]; account == nil || account.Sector != "technology" {
				t.Errorf("account = %+v, expected Acme Corporation in sector technology", account)
			}
			if status := workflowStatus(t, workflowID); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				t.Errorf("workflow %s status = %s, expected running", workflowID, status)
			}
			afterFirst := rowCounts(t, ts.store)
			expectCounts(t, afterFirst, map[string]int{"contracts": 1, "payment_instalments": 2, "accounts": 1, "webhook_events": 1})

			// The same event again, however late the CRM resends it.
			ts.postSigned(contractSignedPath, first).expectError(t, http.StatusConflict, "replayed_event", "evt-1-"+no)
			expectCounts(t, rowCounts(t, ts.store), afterFirst)

			// The same contract under a new event id.
			resp = ts.postSigned(contractSignedPath, mustJSON(t, signedEvent("evt-2-"+no, no)))
			if resp.status != http.StatusOK {
				t.Fatalf("second event: status %d, expected 200; body %s", resp.status, resp.body)
			}
			resp.decode(t, &answer)
			if answer.Status != "already_recorded" || answer.ContractNo != no {
				t.Errorf("response = %+v, expected already_recorded %s", answer, no)
			}
			afterFirst["webhook_events"]++
			expectCounts(t, rowCounts(t, ts.store), afterFirst)
		})
	}
}

// TestContractSignedConflicts sends events that name a recorded contract
// with different terms. They must be rejected without a write, because
// replying "already recorded" would lose the CRM's change silently.
func TestContractSignedConflicts(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	no := uniqueNo(t)
	t.Cleanup(func() { terminateWorkflow(t, numbering.ContractWorkflowID(no)) })
	recorded := signedEvent("evt-"+no, no)
	recorded["opportunity_id"] = "OPP" + no[4:]
	if resp := ts.postSigned(contractSignedPath, mustJSON(t, recorded)); resp.status != http.StatusAccepted {
		t.Fatalf("first event: status %d, expected 202; body %s", resp.status, resp.body)
	}
	before := rowCounts(t, ts.store)

	cases := []struct {
		name   string
		change func(event map[string]any)
		words  []string
	}{
		{"other amount", func(e map[string]any) { e["amount"] = "2000.00" }, []string{"amount", "1054.1", "2000"}},
		{"other product", func(e map[string]any) { e["product"] = "GTX Pro" }, []string{"product", "GTX Pro"}},
		{"other signing date", func(e map[string]any) { e["signed_on"] = "2026-12-01" }, []string{"signed_on", "2026-12-01"}},
		{"other account", func(e map[string]any) {
			e["account"] = map[string]any{"name": "Bluth Company"}
		}, []string{"account", "Bluth Company"}},
		{"opportunity of another contract", func(e map[string]any) {
			e["contract_no"] = no + "X"
		}, []string{"opportunity_id", no}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			event := signedEvent("evt-conflict-"+strconv.Itoa(i)+"-"+no, no)
			event["opportunity_id"] = recorded["opportunity_id"]
			tc.change(event)
			ts.postSigned(contractSignedPath, mustJSON(t, event)).expectError(t, http.StatusConflict, "contract_conflict", tc.words...)
			expectCounts(t, rowCounts(t, ts.store), before)
		})
	}
}

// TestContractSignedAccountSpelling sends an account name that differs
// from a recorded account only in case. Both names give the same customer
// number, so the contract must use the recorded account.
func TestContractSignedAccountSpelling(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()
	first, second := uniqueNo(t), uniqueNo(t)
	t.Cleanup(func() {
		terminateWorkflow(t, numbering.ContractWorkflowID(first))
		terminateWorkflow(t, numbering.ContractWorkflowID(second))
	})
	if resp := ts.postSigned(contractSignedPath, mustJSON(t, signedEvent("evt-"+first, first))); resp.status != http.StatusAccepted {
		t.Fatalf("first event: status %d, expected 202; body %s", resp.status, resp.body)
	}

	event := signedEvent("evt-"+second, second)
	event["account"] = map[string]any{"name": "ACME corporation"}
	resp := ts.postSigned(contractSignedPath, mustJSON(t, event))
	if resp.status != http.StatusAccepted {
		t.Fatalf("event with other spelling: status %d, expected 202; body %s", resp.status, resp.body)
	}
	contract, err := ts.store.GetContract(ctx, second)
	if err != nil {
		t.Fatalf("read contract %s: %v", second, err)
	}
	if contract.AccountName != "Acme Corporation" {
		t.Errorf("account_name = %q, expected the recorded spelling %q", contract.AccountName, "Acme Corporation")
	}
	expectCounts(t, rowCounts(t, ts.store), map[string]int{"accounts": 1, "contracts": 2})
}

// TestContractSignedRejected sends events that must be rejected before
// anything is written.
func TestContractSignedRejected(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	no := uniqueNo(t)
	valid := func() map[string]any { return signedEvent("evt-"+no, no) }
	with := func(field string, value any) []byte {
		event := valid()
		event[field] = value
		return mustJSON(t, event)
	}
	without := func(field string) []byte {
		event := valid()
		delete(event, field)
		return mustJSON(t, event)
	}
	signedAt := func(at time.Time) func(body []byte) http.Header {
		return func(body []byte) http.Header {
			header := http.Header{}
			signing.SetHeaders(header, testSecret, at, body)
			return header
		}
	}
	signedNow := signedAt(testNow)
	validBody := mustJSON(t, valid())

	cases := []struct {
		name   string
		body   []byte
		header func(body []byte) http.Header
		status int
		code   string
		words  []string
	}{
		{name: "no headers", body: validBody, header: func([]byte) http.Header { return http.Header{} },
			status: http.StatusUnauthorized, code: "invalid_signature", words: []string{signing.HeaderSignature}},
		{name: "no signature header", body: validBody, header: func(body []byte) http.Header {
			header := signedNow(body)
			header.Del(signing.HeaderSignature)
			return header
		}, status: http.StatusUnauthorized, code: "invalid_signature", words: []string{signing.HeaderSignature}},
		{name: "timestamp not a number", body: validBody, header: func(body []byte) http.Header {
			header := signedNow(body)
			header.Set(signing.HeaderTimestamp, "yesterday")
			return header
		}, status: http.StatusUnauthorized, code: "invalid_signature", words: []string{signing.HeaderTimestamp}},
		{name: "wrong secret", body: validBody, header: func(body []byte) http.Header {
			header := http.Header{}
			signing.SetHeaders(header, []byte("another secret"), testNow, body)
			return header
		}, status: http.StatusUnauthorized, code: "invalid_signature", words: []string{"does not match"}},
		{name: "signature of another timestamp", body: validBody, header: func(body []byte) http.Header {
			header := signedNow(body)
			header.Set(signing.HeaderTimestamp, strconv.FormatInt(testNow.Unix()+1, 10))
			return header
		}, status: http.StatusUnauthorized, code: "invalid_signature", words: []string{"does not match"}},
		{name: "body changed after signing", body: with("amount", "9054.10"), header: func([]byte) http.Header {
			return signedNow(validBody)
		}, status: http.StatusUnauthorized, code: "invalid_signature", words: []string{"does not match"}},
		{name: "timestamp too old", body: validBody, header: signedAt(testNow.Add(-5*time.Minute - time.Second)),
			status: http.StatusUnauthorized, code: "invalid_signature", words: []string{"window"}},
		{name: "timestamp in the future", body: validBody, header: signedAt(testNow.Add(5*time.Minute + time.Second)),
			status: http.StatusUnauthorized, code: "invalid_signature", words: []string{"window"}},
		{name: "body over 1 MiB", body: append(append([]byte(`{"event_id":"`), strings.Repeat("x", maxBodyBytes)...), `"}`...),
			header: signedNow, status: http.StatusRequestEntityTooLarge, code: "too_large", words: []string{"1 MiB"}},

		{name: "invalid JSON", body: []byte(`{"event_id": "evt-1",`), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"invalid JSON"}},
		{name: "empty body", body: nil, header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"JSON"}},
		{name: "unknown field", body: with("discount", "10"), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"discount"}},
		{name: "two JSON objects", body: append(validBody, validBody...), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"one JSON object"}},
		{name: "missing event_id", body: without("event_id"), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"event_id"}},
		{name: "blank event_id", body: with("event_id", "  "), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"event_id"}},
		{name: "missing signed_on", body: without("signed_on"), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"signed_on"}},
		{name: "signed_on not a date", body: with("signed_on", "2026-13-01"), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"signed_on", "2026-13-01"}},
		{name: "signed_on before any VAT rate", body: with("signed_on", "1990-01-01"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"signed_on"}},
		{name: "amount not a number", body: with("amount", "ten"), header: signedNow,
			status: http.StatusBadRequest, code: "invalid_argument", words: []string{"amount"}},
		{name: "missing amount", body: without("amount"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"amount"}},
		{name: "zero amount", body: with("amount", "0"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"amount"}},
		{name: "negative amount", body: with("amount", -5), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"amount"}},
		{name: "amount with 3 decimals", body: with("amount", "1054.105"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"amount", "decimal"}},
		{name: "amount number with 3 decimals", body: with("amount", 1054.105), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"amount", "decimal"}},
		{name: "negative quantity", body: with("quantity", "-1"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"quantity"}},
		{name: "unknown currency", body: with("currency", "XYZ"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"currency", "XYZ"}},
		{name: "currency in lower case", body: with("currency", "usd"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"currency", "usd"}},
		{name: "currency too long", body: with("currency", "USDT"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"currency", "USDT"}},
		{name: "empty account name", body: with("account", map[string]any{"name": ""}), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"account"}},
		{name: "blank account name", body: with("account", map[string]any{"name": "   "}), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"account"}},
		{name: "missing account", body: without("account"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"account"}},
		{name: "empty product", body: with("product", ""), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"product"}},
		{name: "no contract_no and no opportunity_id", body: without("contract_no"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"opportunity_id"}},
		{name: "contract_no with a slash", body: with("contract_no", "CT/2026/1"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"contract_no", "CT/2026/1"}},
		{name: "contract_no with spaces", body: with("contract_no", "CT 1"), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"contract_no"}},
		{name: "contract_no too long", body: with("contract_no", "CT-"+strings.Repeat("9", 60)), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"contract_no", "48"}},
		{name: "opportunity_id with a slash", body: func() []byte {
			event := valid()
			delete(event, "contract_no")
			event["opportunity_id"] = "A/B"
			return mustJSON(t, event)
		}(), header: signedNow,
			status: http.StatusUnprocessableEntity, code: "invalid_contract", words: []string{"opportunity_id", "A/B"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header(tc.body)
			header.Set("Content-Type", "application/json")
			ts.do(http.MethodPost, contractSignedPath, tc.body, header).expectError(t, tc.status, tc.code, tc.words...)
			expectCounts(t, rowCounts(t, ts.store), map[string]int{
				"contracts": 0, "payment_instalments": 0, "accounts": 0, "webhook_events": 0,
			})
		})
	}
	if status := workflowStatus(t, numbering.ContractWorkflowID(no)); status != enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		t.Errorf("workflow of the rejected contract has status %s, expected none", status)
	}
}

func TestContractSignedCurrencies(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	cases := []struct {
		name     string
		currency any
		expected string
	}{
		{"CNY needs no exchange rate", "CNY", "CNY"},
		{"configured rate", "USD", "USD"},
		{"omitted", nil, ts.server.Config.Currency},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			no := uniqueNo(t)
			t.Cleanup(func() { terminateWorkflow(t, numbering.ContractWorkflowID(no)) })
			event := signedEvent("evt-"+no, no)
			delete(event, "currency")
			if tc.currency != nil {
				event["currency"] = tc.currency
			}
			expectStatus(t, ts.postSigned(contractSignedPath, mustJSON(t, event)), http.StatusAccepted, "accepted")
			contract, err := ts.store.GetContract(context.Background(), no)
			if err != nil {
				t.Fatalf("read contract: %v", err)
			}
			if contract.Currency != tc.expected {
				t.Errorf("currency = %s, expected %s", contract.Currency, tc.expected)
			}
		})
	}
}

func TestContractSignedWithoutSecret(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(s *Server) { s.WebhookSecret = nil })
	no := uniqueNo(t)
	ts.postSigned(contractSignedPath, mustJSON(t, signedEvent("evt-"+no, no))).
		expectError(t, http.StatusServiceUnavailable, "not_configured", "ORDO_WEBHOOK_SECRET")
	expectCounts(t, rowCounts(t, ts.store), map[string]int{"contracts": 0, "webhook_events": 0})
}

// TestContractSignedConcurrent sends events about one contract many times
// at once. Exactly one may record the contract: copies of its event are
// replays, and other events about it find it recorded.
func TestContractSignedConcurrent(t *testing.T) {
	storetest.RequirePostgres(t)
	const copies = 8
	cases := []struct {
		name     string
		eventID  func(no string, i int) string
		expected map[int]int
		events   int
	}{
		{"one event", func(no string, _ int) string { return "evt-" + no },
			map[int]int{http.StatusAccepted: 1, http.StatusConflict: copies - 1}, 1},
		{"new event ids", func(no string, i int) string { return "evt-" + strconv.Itoa(i) + "-" + no },
			map[int]int{http.StatusAccepted: 1, http.StatusOK: copies - 1}, copies},
	}
	for _, driver := range storetest.Drivers() {
		for _, tc := range cases {
			t.Run(driver+" "+tc.name, func(t *testing.T) {
				ts := newTestServer(t, driver, nil)
				no := uniqueNo(t)
				t.Cleanup(func() { terminateWorkflow(t, numbering.ContractWorkflowID(no)) })

				statuses := make([]int, copies)
				var wg sync.WaitGroup
				for i := range copies {
					wg.Add(1)
					go func() {
						defer wg.Done()
						statuses[i] = postConcurrently(ts.url, mustJSON(t, signedEvent(tc.eventID(no, i), no)))
					}()
				}
				wg.Wait()
				counts := map[int]int{}
				for _, status := range statuses {
					counts[status]++
				}
				if !maps.Equal(counts, tc.expected) {
					t.Errorf("status codes = %v, expected %v", counts, tc.expected)
				}
				expectCounts(t, rowCounts(t, ts.store), map[string]int{
					"contracts": 1, "payment_instalments": 2, "accounts": 1, "webhook_events": tc.events,
				})
			})
		}
	}
}

// postConcurrently posts a signed event from a goroutine other than the
// test's and returns the status code, or 0 when the request failed.
func postConcurrently(baseURL string, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, baseURL+contractSignedPath, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	signing.SetHeaders(req.Header, testSecret, testNow, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// failingStarter is a ContractStarter whose every start fails, as when
// Temporal cannot be reached.
type failingStarter struct {
	mu    sync.Mutex
	kicks int
}

func (f *failingStarter) Kick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kicks++
}

func (f *failingStarter) Start(context.Context, *store.Contract, *store.Account) error {
	return errors.New("Temporal is unavailable")
}

// TestContractSignedStartFails checks that an event is accepted and kept
// when its chain cannot start, and that the starter is asked to retry.
func TestContractSignedStartFails(t *testing.T) {
	starter := &failingStarter{}
	ts := newTestServer(t, "sqlite", func(s *Server) { s.Contracts = starter })
	no := uniqueNo(t)
	expectStatus(t, ts.postSigned(contractSignedPath, mustJSON(t, signedEvent("evt-"+no, no))), http.StatusAccepted, "accepted")
	contract, err := ts.store.GetContract(context.Background(), no)
	if err != nil {
		t.Fatalf("read contract: %v", err)
	}
	if contract.WorkflowStartedAt != nil {
		t.Errorf("workflow_started_at = %s, expected empty for a chain that did not start", contract.WorkflowStartedAt)
	}
	if starter.kicks != 1 {
		t.Errorf("starter kicked %d times, expected once", starter.kicks)
	}

	// The same contract under a new event id reminds the starter again.
	expectStatus(t, ts.postSigned(contractSignedPath, mustJSON(t, signedEvent("evt-2-"+no, no))), http.StatusOK, "already_recorded")
	if starter.kicks != 2 {
		t.Errorf("starter kicked %d times after the second event, expected twice", starter.kicks)
	}
}

func TestContractSignedUnknownProduct(t *testing.T) {
	ts := newTestServer(t, "sqlite", withIdleStarter)
	ctx := context.Background()
	now := time.Now().UTC()
	product := &store.Product{Name: "GTX Pro", ProductNo: "MAT-GTXPRO", CreatedAt: now, UpdatedAt: now}
	if _, err := ts.store.DB.NewInsert().Model(product).Exec(ctx); err != nil {
		t.Fatalf("seed product: %v", err)
	}
	no := uniqueNo(t)
	event := signedEvent("evt-"+no, no)
	event["product"] = "Nope"
	ts.postSigned(contractSignedPath, mustJSON(t, event)).expectError(t, http.StatusUnprocessableEntity, "invalid_contract",
		"product", "Nope", "not in the product catalogue")
	if _, err := ts.store.GetContract(ctx, no); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("contract %s stored after a rejected event (err %v)", no, err)
	}
}
