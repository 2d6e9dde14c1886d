package bank_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/connectors/bank"
	"github.com/ordo-project/ordo/internal/simulators"
	banksim "github.com/ordo-project/ordo/internal/simulators/bank"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

const (
	testClientID     = "ordo-test"
	testClientSecret = "test-secret-not-real"
)

// startBank starts a bank simulator whose customers pay at once, with no
// variation, reports one audited order per contract and returns once the
// advance of each is on the statement.
func startBank(t *testing.T, contracts int) *banksim.Simulator {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "bank.db"), 4)
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	behaviour := banksim.Behaviour{AdvanceRatio: decimal.RequireFromString("0.30")}
	ctx := context.Background()
	simulator, err := banksim.New(ctx, banksim.Config{
		DB:           db,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		PollInterval: 10 * time.Millisecond,
		Behaviour:    &behaviour,
	})
	if err != nil {
		t.Fatalf("create bank simulator: %v", err)
	}
	if err := simulator.Start(ctx); err != nil {
		t.Fatalf("start bank simulator: %v", err)
	}
	t.Cleanup(func() { _ = simulator.Close() })

	for i := range contracts {
		contractNo := fmt.Sprintf("CT-P%04d", i)
		total := decimal.NewFromInt(int64(35000 + i))
		if err := simulator.SalesOrderAudited(ctx, simulators.SalesOrderAudited{
			Number: "SO-" + contractNo, ContractNo: contractNo, CustomerName: "客户" + contractNo, Total: total,
		}); err != nil {
			t.Fatalf("report audited order: %v", err)
		}
	}
	waitForLines(t, simulator, contracts)
	return simulator
}

func newClient(t *testing.T, baseURL, accountNo string, configure func(*bank.Config)) *bank.Client {
	t.Helper()
	cfg := bank.Config{
		BaseURL:      baseURL,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		AccountNo:    accountNo,
		Timeout:      300 * time.Millisecond,
		Retries:      -1,
		RetryWait:    10 * time.Millisecond,
		RetryMaxWait: 50 * time.Millisecond,
	}
	if configure != nil {
		configure(&cfg)
	}
	client, err := bank.New(cfg)
	if err != nil {
		t.Fatalf("create bank client: %v", err)
	}
	return client
}

func waitForLines(t *testing.T, simulator *banksim.Simulator, want int) {
	t.Helper()
	client := newClient(t, simulator.URL(), simulator.AccountNo(), nil)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		lines, _, err := client.ListLines(context.Background(), "", 200)
		if err != nil {
			t.Fatalf("list lines: %v", err)
		}
		if len(lines) >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("statement has fewer than %d lines after 5s", want)
}

func TestPagingWithCursor(t *testing.T) {
	simulator := startBank(t, 7)
	client := newClient(t, simulator.URL(), simulator.AccountNo(), nil)
	ctx := context.Background()

	var all []connectors.BankLine
	cursor := ""
	pages := 0
	for {
		lines, next, err := client.ListLines(ctx, cursor, 3)
		if err != nil {
			t.Fatalf("list lines after %q: %v", cursor, err)
		}
		if len(lines) > 3 {
			t.Fatalf("page has %d lines, want at most 3", len(lines))
		}
		if len(lines) == 0 {
			if next != cursor {
				t.Errorf("empty page returned cursor %q, want the one passed in %q", next, cursor)
			}
			break
		}
		pages++
		all = append(all, lines...)
		cursor = next
	}
	if pages != 3 || len(all) != 7 {
		t.Fatalf("read %d lines in %d pages, want 7 in 3", len(all), pages)
	}
	for i := 1; i < len(all); i++ {
		if all[i].LineID <= all[i-1].LineID {
			t.Errorf("line %d serial %s is not after %s, want oldest first", i+1, all[i].LineID, all[i-1].LineID)
		}
	}
	first := all[0]
	if !first.Amount.Equal(decimal.RequireFromString("10500")) || first.AmountText != "10,500.00" {
		t.Errorf("first line amount = %s from %q, want 10500 from \"10,500.00\"", first.Amount, first.AmountText)
	}
	if first.PayerName != "客户CT-P0000" || first.PayerAccount != banksim.PayerAccount("客户CT-P0000") {
		t.Errorf("first line payer = %q %q, want the customer of CT-P0000", first.PayerName, first.PayerAccount)
	}

	// New lines appear after the saved cursor.
	if err := simulator.SalesOrderAudited(ctx, simulators.SalesOrderAudited{
		Number: "SO-NEW", ContractNo: "CT-NEW", CustomerName: "新客户", Total: decimal.NewFromInt(1000),
	}); err != nil {
		t.Fatalf("report audited order: %v", err)
	}
	waitForLines(t, simulator, 8)
	lines, _, err := client.ListLines(ctx, cursor, 3)
	if err != nil {
		t.Fatalf("list lines after the last cursor: %v", err)
	}
	if len(lines) != 1 || lines[0].PayerName != "新客户" {
		t.Errorf("lines after the last cursor = %+v, want the one new line", lines)
	}
}

func TestDuplicateLineAcrossPages(t *testing.T) {
	simulator := startBank(t, 6)
	client := newClient(t, simulator.URL(), simulator.AccountNo(), nil)
	ctx := context.Background()

	firstPage, cursor, err := client.ListLines(ctx, "", 3)
	if err != nil {
		t.Fatalf("list first page: %v", err)
	}
	simulator.Injector().SetConfig(simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{banksim.FaultDuplicateLine}})
	secondPage, cursor, err := client.ListLines(ctx, cursor, 3)
	if err != nil {
		t.Fatalf("list second page: %v", err)
	}
	if len(secondPage) == 0 || secondPage[0].LineID != firstPage[len(firstPage)-1].LineID {
		t.Fatalf("second page starts with %+v, want the resent line %s", secondPage, firstPage[len(firstPage)-1].LineID)
	}

	seen := map[string]bool{}
	for _, line := range append(firstPage, secondPage...) {
		seen[line.LineID] = true
	}
	for {
		page, next, err := client.ListLines(ctx, cursor, 3)
		if err != nil {
			t.Fatalf("list lines after %q: %v", cursor, err)
		}
		if len(page) == 0 || next == cursor {
			break
		}
		for _, line := range page {
			seen[line.LineID] = true
		}
		cursor = next
	}
	if len(seen) != 6 {
		t.Errorf("distinct lines = %d, want 6 after deduplicating on LineID", len(seen))
	}
}

func TestErrorClassification(t *testing.T) {
	simulator := startBank(t, 1)
	cases := []struct {
		name       string
		faults     simulators.FaultConfig
		configure  func(*bank.Config)
		cursor     string
		wantKind   connectors.ErrorKind
		wantStatus int
	}{
		{name: "server error", faults: simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultServerError}},
			wantKind: connectors.KindTransient, wantStatus: http.StatusInternalServerError},
		{name: "throttle", faults: simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultThrottle}},
			wantKind: connectors.KindThrottled, wantStatus: http.StatusTooManyRequests},
		{name: "timeout", faults: simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultTimeout}, Hang: time.Second},
			wantKind: connectors.KindTransient},
		{name: "wrong secret", configure: func(c *bank.Config) { c.ClientSecret = "wrong" },
			wantKind: connectors.KindAuth, wantStatus: http.StatusUnauthorized},
		{name: "unknown account", configure: func(c *bank.Config) { c.AccountNo = "000" },
			wantKind: connectors.KindNotFound, wantStatus: http.StatusNotFound},
		{name: "invalid cursor", cursor: "not-a-cursor",
			wantKind: connectors.KindValidation, wantStatus: http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			simulator.Injector().SetConfig(tc.faults)
			t.Cleanup(func() { simulator.Injector().SetConfig(simulators.FaultConfig{}) })
			client := newClient(t, simulator.URL(), simulator.AccountNo(), tc.configure)

			_, _, err := client.ListLines(context.Background(), tc.cursor, 10)
			var connectorErr *connectors.Error
			if !errors.As(err, &connectorErr) {
				t.Fatalf("error %v is not a *connectors.Error", err)
			}
			if connectorErr.Kind != tc.wantKind || connectorErr.StatusCode != tc.wantStatus {
				t.Errorf("error = %v, want kind %s with HTTP status %d", err, tc.wantKind, tc.wantStatus)
			}
			if connectorErr.Connector != bank.ConnectorName {
				t.Errorf("error names connector %q, want %q", connectorErr.Connector, bank.ConnectorName)
			}
		})
	}
}

func TestRetriesRecoverFromFaults(t *testing.T) {
	simulator := startBank(t, 2)
	simulator.Injector().SetConfig(simulators.FaultConfig{
		Rate:  0.5,
		Kinds: []simulators.Fault{simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultLostReply},
		Seed:  3,
	})
	client := newClient(t, simulator.URL(), simulator.AccountNo(), func(c *bank.Config) { c.Retries = 10 })
	for i := range 5 {
		lines, _, err := client.ListLines(context.Background(), "", 10)
		if err != nil {
			t.Fatalf("read %d failed after retries: %v", i+1, err)
		}
		if len(lines) != 2 {
			t.Errorf("read %d returned %d lines, want 2", i+1, len(lines))
		}
	}
}

// fakeBank replies to every query with the given page data.
func fakeBank(t *testing.T, status int, body string) string {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(server.Close)
	return server.URL
}

func TestLineParsing(t *testing.T) {
	page := func(line string) string {
		return `{"ret_code":"000000","ret_msg":"success","data":{"lines":[` + line + `],"next_cursor":"9","has_more":false}}`
	}
	cases := []struct {
		name       string
		line       string
		wantKind   connectors.ErrorKind
		wantAmount string
	}{
		{"debit with separators", `{"serial_no":"A1","business_date":"20211031","amount":"-35,000.00","currency":"CNY"}`, "", "-35000"},
		{"credit with plus sign", `{"serial_no":"A2","business_date":"20211031","amount":"+1,200.50","currency":"CNY"}`, "", "1200.5"},
		{"amount not a number", `{"serial_no":"A3","business_date":"20211031","amount":"12a","currency":"CNY"}`, connectors.KindProtocol, ""},
		{"date with dashes", `{"serial_no":"A4","business_date":"2021-10-31","amount":"1.00","currency":"CNY"}`, connectors.KindProtocol, ""},
		{"impossible date", `{"serial_no":"A5","business_date":"20211341","amount":"1.00","currency":"CNY"}`, connectors.KindProtocol, ""},
		{"missing serial", `{"business_date":"20211031","amount":"1.00","currency":"CNY"}`, connectors.KindProtocol, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, fakeBank(t, http.StatusOK, page(tc.line)), "ACC", nil)
			lines, next, err := client.ListLines(context.Background(), "", 10)
			if tc.wantKind != "" {
				if connectors.KindOf(err) != tc.wantKind || err == nil {
					t.Fatalf("error = %v, want kind %s", err, tc.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("list lines: %v", err)
			}
			if len(lines) != 1 || next != "9" {
				t.Fatalf("got %d lines and cursor %q, want 1 line and cursor 9", len(lines), next)
			}
			if !lines[0].Amount.Equal(decimal.RequireFromString(tc.wantAmount)) {
				t.Errorf("amount = %s, want %s", lines[0].Amount, tc.wantAmount)
			}
		})
	}
}

func TestUndecodableReply(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		body     string
		wantKind connectors.ErrorKind
	}{
		{"HTML with 200", http.StatusOK, "<html>ok</html>", connectors.KindProtocol},
		{"HTML with 503", http.StatusServiceUnavailable, "<html>busy</html>", connectors.KindTransient},
		{"auth code with 200", http.StatusOK, `{"ret_code":"E4001","ret_msg":"signature invalid"}`, connectors.KindAuth},
		{"unknown code with 200", http.StatusOK, `{"ret_code":"X9999","ret_msg":"?"}`, connectors.KindProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, fakeBank(t, tc.status, tc.body), "ACC", nil)
			_, _, err := client.ListLines(context.Background(), "", 10)
			if err == nil || connectors.KindOf(err) != tc.wantKind {
				t.Errorf("error = %v, want kind %s", err, tc.wantKind)
			}
		})
	}
}

func TestHTTPRetryOnServerError(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"ret_code":"000000","ret_msg":"success","data":{"lines":[],"next_cursor":"","has_more":false}}`))
	}))
	t.Cleanup(server.Close)
	client := newClient(t, server.URL, "ACC", func(c *bank.Config) { c.Retries = 2 })
	if _, _, err := client.ListLines(context.Background(), "", 10); err != nil {
		t.Fatalf("list lines after one 502: %v", err)
	}
	if got := attempts.Load(); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
}
