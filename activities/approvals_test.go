package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/connectors"
	kingdeeconnector "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	kingdeesim "github.com/ordo-project/ordo/internal/simulators/kingdee"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func TestPrepareApproval(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	seedTeam(t, s)
	invoice := config.Default().Invoice
	invoice.ExchangeRates = append(invoice.ExchangeRates,
		config.ExchangeRate{Currency: "EUR", Rate: decimal.RequireFromString("7.8"), From: config.Date{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}})
	acts := &ApprovalActivities{Store: s, CNYRate: invoice.RateFor, Now: func() time.Time { return time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC) }}
	ctx := context.Background()

	cases := []struct {
		name       string
		amount     string
		currency   string
		rule       string
		wantAmount string
		wantRate   string
	}{
		{"same currency", "45000.10", "CNY", "CNY", "45000.10", "1"},
		{"USD into CNY", "5000", "USD", "CNY", "35500", "7.1"},
		{"CNY into USD", "71000", "CNY", "USD", "10000", "0.1408450704"},
		{"EUR into USD", "1000", "EUR", "USD", "1098.59", "1.0985915493"},
		{"rules without a currency", "12.34", "USD", "", "12.34", "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			result, err := acts.PrepareApproval(ctx, PrepareApprovalInput{
				ApprovalID: "AP-1", Amount: decimal.RequireFromString(tc.amount), Currency: tc.currency,
				RuleCurrency: tc.rule, RequestedBy: "Moses Frase",
			})
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if !result.AmountInRuleCurrency.Equal(decimal.RequireFromString(tc.wantAmount)) || !result.ExchangeRate.Equal(decimal.RequireFromString(tc.wantRate)) {
				t.Errorf("amount %s at %s, want %s at %s", result.AmountInRuleCurrency, result.ExchangeRate, tc.wantAmount, tc.wantRate)
			}
			if result.Supervisor != "Dustin Brinkmann" {
				t.Errorf("supervisor = %q, want the rep's manager", result.Supervisor)
			}
		})
	}

	_, err := acts.PrepareApproval(ctx, PrepareApprovalInput{ApprovalID: "AP-2", Amount: decimal.NewFromInt(1), Currency: "JPY", RuleCurrency: "CNY", RequestedBy: "Moses Frase"})
	assertInputError(t, err, "no JPY exchange rate in force on 2026-12-04")
	_, err = acts.PrepareApproval(ctx, PrepareApprovalInput{ApprovalID: "AP-3", Amount: decimal.NewFromInt(1), Currency: "CNY", RuleCurrency: "CNY", RequestedBy: "Nobody Known"})
	assertInputError(t, err, `requested_by "Nobody Known" is not a sales rep`)
}

func assertInputError(t *testing.T, err error, fragment string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInput || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a non-retryable input error", err)
	}
	if !strings.Contains(appErr.Error(), fragment) {
		t.Errorf("error %q lacks %q", appErr.Error(), fragment)
	}
}

func TestRecordApprovalTwice(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	acts := &ApprovalActivities{Store: s}
	ctx := context.Background()
	at := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	row := store.Approval{
		ID: "AP-1", Kind: store.ApprovalDiscount, Customer: "Cancity", RequestedBy: "Moses Frase",
		Amount: decimal.NewFromInt(20000), Currency: "CNY", State: store.ApprovalApproved, CurrentLevel: 1,
		WorkflowID: "approval-AP-1", CreatedAt: at, UpdatedAt: at,
		Decisions: []store.ApprovalDecision{{Seq: 1, Level: 1, By: "Dustin Brinkmann", Decision: store.DecisionApprove, DecidedAt: at}},
	}
	for range 2 {
		if err := acts.RecordApproval(ctx, row); err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	got, err := s.GetApproval(ctx, "AP-1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.State != store.ApprovalApproved || len(got.Decisions) != 1 || got.Decisions[0].By != "Dustin Brinkmann" {
		t.Errorf("stored %+v, want approved with one decision", got)
	}
}

func TestCheckRenewalFreeze(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	ticket := &store.Ticket{ID: "T-9", Customer: "Cancity", CustomerNo: "C-CANCITY", Title: "export to XLSX", From: "Anna Snelling", State: "open", CreatedAt: time.Now().UTC()}
	if _, err := s.DB.NewInsert().Model(ticket).Exec(ctx); err != nil {
		t.Fatalf("insert ticket: %v", err)
	}
	freeze := &store.CustomerFreeze{Customer: "Cancity", Reason: "feature request unanswered", TicketID: "T-9", FrozenAt: time.Now().UTC()}
	if _, err := store.FreezeRenewalApproval(ctx, s.DB, freeze); err != nil {
		t.Fatalf("insert freeze: %v", err)
	}
	acts := &ApprovalActivities{Store: s}
	result, err := acts.CheckRenewalFreeze(ctx, FreezeCheck{ApprovalID: "AP-1", Customer: "Cancity"})
	if err != nil || !result.Frozen || !strings.Contains(result.Reason, "unanswered") {
		t.Errorf("frozen customer = %+v, %v; want frozen with the reason", result, err)
	}
	result, err = acts.CheckRenewalFreeze(ctx, FreezeCheck{ApprovalID: "AP-2", Customer: "Betasoloin"})
	if err != nil || result.Frozen {
		t.Errorf("other customer = %+v, %v; want not frozen", result, err)
	}
}

func TestWritePriceChangeOnce(t *testing.T) {
	sim, err := kingdeesim.New(kingdeesim.Config{
		Path: filepath.Join(t.TempDir(), "simulators.db"), AccountID: "ordo-test", Username: "integration",
		Password: "s3cret-password", CompletionDelay: time.Hour, PollInterval: time.Second,
	})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	server := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		server.Close()
		_ = sim.Close()
	})
	client, err := kingdeeconnector.New(kingdeeconnector.Config{
		BaseURL: server.URL + "/k3cloud/", AccountID: "ordo-test", Username: "integration",
		Password: "s3cret-password", OrgNumber: "100", Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("connector: %v", err)
	}
	acts := &ApprovalActivities{ERP: client, PriceLists: client}
	in := PriceChangeInput{
		Customer: connectors.Customer{Number: "CUST-1", Name: "Cancity"},
		Change: connectors.PriceChange{
			Number: "PL-AP-1", ApprovalID: "AP-1", CustomerNumber: "CUST-1", ProductNumber: "MAT-1",
			Currency: "CNY", UnitPrice: decimal.RequireFromString("480.50"), EffectiveFrom: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
		},
	}
	ctx := context.Background()

	// A second run of the activity, as after a worker crash that lost the
	// first run's completion, finds the price list the first run wrote.
	first, err := acts.WritePriceChange(ctx, in)
	if err != nil {
		t.Fatalf("first write: %v", err)
	}
	again, err := acts.WritePriceChange(ctx, in)
	if err != nil {
		t.Fatalf("retried write: %v", err)
	}
	if !first.Created || again.ID != first.ID || again.Created || again.Number != "PL-AP-1" || again.Status != "C" {
		t.Errorf("first %+v then %+v, want one audited price list PL-AP-1", first, again)
	}
	if n := ledgerCount(t, server.URL, "PL-AP-1"); n != 1 {
		t.Errorf("ledger has %d entries for PL-AP-1, want 1", n)
	}

	in.Change.Number = "PL-AP-2"
	in.Change.UnitPrice = decimal.Zero
	_, err = acts.WritePriceChange(ctx, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeValidation || !appErr.NonRetryable() {
		t.Errorf("zero price: error %v, want a non-retryable validation error", err)
	}
}

// ledgerCount returns the number of Kingdee ledger entries of a number.
func ledgerCount(t *testing.T, baseURL, number string) int {
	t.Helper()
	resp, err := http.Get(baseURL + "/sim/ledger?contract_no=" + number)
	if err != nil {
		t.Fatalf("GET /sim/ledger: %v", err)
	}
	defer resp.Body.Close()
	var entries []simulators.LedgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
		t.Fatalf("decode ledger: %v", err)
	}
	return len(entries)
}
