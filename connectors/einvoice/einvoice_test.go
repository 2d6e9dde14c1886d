package einvoice_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/connectors/einvoice"
	"github.com/ordo-project/ordo/internal/invoicing"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/einvoice"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

const (
	testAppKey    = "ordo-test"
	testAppSecret = "test-secret-not-real"
	testTaxCode   = "1090511030000000000"
)

func dec(t *testing.T, text string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(text)
	if err != nil {
		t.Fatalf("bad test decimal %q: %v", text, err)
	}
	return d
}

// startSimulator starts an e-invoice simulator with short delays on a
// fresh SQLite file and returns it with its database.
func startSimulator(t *testing.T, faults simulators.FaultConfig) (*sim.Simulator, *bun.DB) {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sim.db"), 4)
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	simulator, err := sim.New(ctx, sim.Config{
		DB:           db,
		AppKey:       testAppKey,
		AppSecret:    testAppSecret,
		IssueDelay:   100 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
		Faults:       faults,
	})
	if err != nil {
		t.Fatalf("create simulator: %v", err)
	}
	if err := simulator.Start(ctx); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = simulator.Close() })
	return simulator, db
}

func newClient(t *testing.T, baseURL string, configure func(*einvoice.Config)) *einvoice.Client {
	t.Helper()
	cfg := einvoice.Config{
		BaseURL:      baseURL,
		AppKey:       testAppKey,
		AppSecret:    testAppSecret,
		Timeout:      300 * time.Millisecond,
		Retries:      -1,
		RetryWait:    10 * time.Millisecond,
		RetryMaxWait: 50 * time.Millisecond,
	}
	if configure != nil {
		configure(&cfg)
	}
	client, err := einvoice.New(cfg)
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return client
}

func invoiceRequest(t *testing.T, contractNo string) connectors.InvoiceRequest {
	t.Helper()
	request, err := invoicing.BuildRequest(invoicing.InvoiceSpec{
		SerialNo:   contractNo + "-INV-1",
		ContractNo: contractNo,
		BuyerName:  "杭州东信精密制造有限公司",
		Total:      dec(t, "56500.00"),
		Lines: []connectors.OrderLine{
			{ProductNumber: "P-1", ProductName: "伺服电机", Quantity: dec(t, "5"), TaxRate: dec(t, "0.13"), Amount: dec(t, "56500.00")},
		},
		DefaultTaxCode: testTaxCode,
	})
	if err != nil {
		t.Fatalf("build invoice request: %v", err)
	}
	return request
}

func waitIssued(t *testing.T, client *einvoice.Client, serialNo string) connectors.Invoice {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		invoice, err := client.Get(context.Background(), serialNo)
		if err == nil && invoice.Status == connectors.InvoiceIssued {
			return invoice
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("invoice %s not issued within 3s", serialNo)
	return connectors.Invoice{}
}

func countInvoices(t *testing.T, db bun.IDB, contractNo string) int {
	t.Helper()
	entries, err := simulators.NewLedger(db).Entries(context.Background(), contractNo)
	if err != nil {
		t.Fatalf("read ledger: %v", err)
	}
	count := 0
	for _, entry := range entries {
		if entry.System == "einvoice" && entry.Kind == "invoice" {
			count++
		}
	}
	return count
}

func TestFaultClassification(t *testing.T) {
	cases := []struct {
		fault      simulators.Fault
		wantKind   connectors.ErrorKind
		wantStatus int
	}{
		{simulators.FaultServerError, connectors.KindTransient, http.StatusInternalServerError},
		{simulators.FaultThrottle, connectors.KindThrottled, http.StatusTooManyRequests},
		{simulators.FaultTimeout, connectors.KindTransient, 0},
		{simulators.FaultLostReply, connectors.KindTransient, 0},
	}
	for _, tc := range cases {
		t.Run(string(tc.fault), func(t *testing.T) {
			simulator, _ := startSimulator(t, simulators.FaultConfig{
				Rate: 1, Kinds: []simulators.Fault{tc.fault}, Hang: time.Second,
			})
			client := newClient(t, simulator.URL(), nil)

			_, err := client.Get(context.Background(), "ANY-SERIAL")
			if err == nil {
				t.Fatalf("get succeeded under fault %s, want an error", tc.fault)
			}
			var connectorErr *connectors.Error
			if !errors.As(err, &connectorErr) {
				t.Fatalf("error %v is not a *connectors.Error", err)
			}
			if connectorErr.Kind != tc.wantKind || connectorErr.StatusCode != tc.wantStatus {
				t.Errorf("error = %v, want kind %s with HTTP status %d", err, tc.wantKind, tc.wantStatus)
			}
			if connectorErr.Connector != einvoice.ConnectorName || connectorErr.Operation != "Get" {
				t.Errorf("error names %s %s, want %s Get", connectorErr.Connector, connectorErr.Operation, einvoice.ConnectorName)
			}
			if !connectors.IsRetryable(err) {
				t.Errorf("error %v is not retryable, want retryable", err)
			}
		})
	}
}

func TestLatencyDelaysReplies(t *testing.T) {
	simulator, _ := startSimulator(t, simulators.FaultConfig{Latency: 150 * time.Millisecond})
	client := newClient(t, simulator.URL(), nil)
	started := time.Now()
	_, err := client.Get(context.Background(), "NO-SUCH-SERIAL")
	if elapsed := time.Since(started); elapsed < 150*time.Millisecond {
		t.Errorf("reply after %s, want at least the configured latency of 150ms", elapsed)
	}
	if !connectors.IsNotFound(err) {
		t.Errorf("error = %v, want not found once the latency passed", err)
	}

	slow := newClient(t, simulator.URL(), func(cfg *einvoice.Config) { cfg.Timeout = 50 * time.Millisecond })
	_, err = slow.Get(context.Background(), "NO-SUCH-SERIAL")
	if connectors.KindOf(err) != connectors.KindTransient || err == nil {
		t.Errorf("error with a timeout below the latency = %v, want transient", err)
	}
}

func TestNotFoundClassified(t *testing.T) {
	simulator, _ := startSimulator(t, simulators.FaultConfig{})
	client := newClient(t, simulator.URL(), nil)
	_, err := client.Get(context.Background(), "NO-SUCH-SERIAL")
	if !connectors.IsNotFound(err) {
		t.Errorf("get of an unknown serial: error %v, want not found", err)
	}
}

func TestLostReplyOnIssueIsSafe(t *testing.T) {
	simulator, db := startSimulator(t, simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultLostReply}})
	client := newClient(t, simulator.URL(), nil)
	ctx := context.Background()
	request := invoiceRequest(t, "CT-L1")

	_, err := client.Issue(ctx, request)
	if connectors.KindOf(err) != connectors.KindTransient {
		t.Fatalf("issue with a lost reply: error %v, want a transient error", err)
	}
	simulator.Injector().SetConfig(simulators.FaultConfig{})

	repeat, err := client.Issue(ctx, request)
	if err != nil {
		t.Fatalf("repeat issue: %v", err)
	}
	if repeat.SerialNo != request.SerialNo {
		t.Errorf("repeat returned serial %s, want %s", repeat.SerialNo, request.SerialNo)
	}
	waitIssued(t, client, request.SerialNo)
	if got := countInvoices(t, db, "CT-L1"); got != 1 {
		t.Errorf("ledger has %d invoices for CT-L1, want 1", got)
	}
}

func TestRetriesUnderFaultsIssueOnce(t *testing.T) {
	simulator, db := startSimulator(t, simulators.FaultConfig{
		Rate: 0.5,
		Kinds: []simulators.Fault{
			simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultTimeout, simulators.FaultLostReply,
		},
		Hang: time.Second,
		Seed: 7,
	})
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.WarnLevel)
	client := newClient(t, simulator.URL(), func(cfg *einvoice.Config) {
		cfg.Retries = 10
		cfg.Logger = logger
	})
	ctx := context.Background()

	contracts := []string{"CT-M1", "CT-M2", "CT-M3", "CT-M4"}
	for _, contractNo := range contracts {
		if _, err := client.Issue(ctx, invoiceRequest(t, contractNo)); err != nil {
			t.Fatalf("issue for %s failed after retries: %v", contractNo, err)
		}
	}
	// Seed 7 draws every fault kind within these four calls. If the
	// injector's random sequence changes, pick another seed that does.
	seen := map[string]bool{}
	for _, entry := range hook.AllEntries() {
		if status, ok := entry.Data[logging.KeyStatusCode].(int); ok {
			seen[strconv.Itoa(status)] = true
			continue
		}
		err, _ := entry.Data[logging.KeyError].(error)
		var netErr net.Error
		switch {
		case errors.As(err, &netErr) && netErr.Timeout():
			seen["timeout"] = true
		case err != nil:
			seen["dropped connection"] = true
		}
	}
	for _, want := range []string{"500", "429", "timeout", "dropped connection"} {
		if !seen[want] {
			t.Errorf("no retry after %s was logged, so that fault was not exercised (seen: %v)", want, seen)
		}
	}

	simulator.Injector().SetConfig(simulators.FaultConfig{})
	for _, contractNo := range contracts {
		waitIssued(t, client, contractNo+"-INV-1")
		if got := countInvoices(t, db, contractNo); got != 1 {
			t.Errorf("ledger has %d invoices for %s, want 1", got, contractNo)
		}
	}
}

func TestUndecodableReplies(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		body     string
		wantKind connectors.ErrorKind
	}{
		{"HTML with 200", http.StatusOK, "<html>maintenance</html>", connectors.KindProtocol},
		{"unknown status in data", http.StatusOK, `{"code":"0000","message":"ok","data":{"serial_no":"S","status":"printing","total_inclusive":"1"}}`, connectors.KindProtocol},
		{"total not a number", http.StatusOK, `{"code":"0000","message":"ok","data":{"serial_no":"S","status":"issued","total_inclusive":"abc"}}`, connectors.KindProtocol},
		{"error code with 200", http.StatusOK, `{"code":"1003","message":"state forbids it"}`, connectors.KindConflict},
		{"HTML with 502", http.StatusBadGateway, "<html>bad gateway</html>", connectors.KindTransient},
		{"validation with 400", http.StatusBadRequest, `{"code":"1001","message":"validation failed","data":{"errors":[{"field":"tax","index":2,"message":"off"}]}}`, connectors.KindValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(server.Close)
			client := newClient(t, server.URL, nil)

			_, err := client.Get(context.Background(), "S")
			if connectors.KindOf(err) != tc.wantKind {
				t.Fatalf("error = %v, want kind %s", err, tc.wantKind)
			}
			if tc.wantKind == connectors.KindValidation {
				var connectorErr *connectors.Error
				if !errors.As(err, &connectorErr) || len(connectorErr.Fields) != 1 {
					t.Fatalf("validation error %v, want one field error", err)
				}
				if f := connectorErr.Fields[0]; f.Field != "tax" || f.Index != 2 {
					t.Errorf("field error = %+v, want tax on line index 2", f)
				}
			}
		})
	}
}

func TestHTTPRetryRecoversFromServerErrors(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"code":"0000","message":"ok","data":{"serial_no":"S","status":"processing","total_inclusive":"10.00"}}`))
	}))
	t.Cleanup(server.Close)
	client := newClient(t, server.URL, func(cfg *einvoice.Config) { cfg.Retries = 3 })

	invoice, err := client.Get(context.Background(), "S")
	if err != nil {
		t.Fatalf("get after two 503 replies: %v", err)
	}
	if invoice.Status != connectors.InvoiceProcessing || attempts.Load() != 3 {
		t.Errorf("status %q after %d attempts, want processing after 3", invoice.Status, attempts.Load())
	}
}

// TestReusedNonceIsSignedAgain replies to the first request with the
// platform's "nonce already used", as after a GET the transport sent twice.
func TestReusedNonceIsSignedAgain(t *testing.T) {
	var attempts atomic.Int32
	nonces := make(chan string, 2)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonces <- r.Header.Get("X-Nonce")
		if attempts.Add(1) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":"2003","message":"nonce already used"}`))
			return
		}
		_, _ = w.Write([]byte(`{"code":"0000","message":"ok","data":{"serial_no":"S","status":"processing","total_inclusive":"10.00"}}`))
	}))
	t.Cleanup(server.Close)
	client := newClient(t, server.URL, func(cfg *einvoice.Config) { cfg.Retries = 1 })

	if _, err := client.Get(context.Background(), "S"); err != nil {
		t.Fatalf("get after a reused-nonce reply: %v", err)
	}
	if first, second := <-nonces, <-nonces; first == second {
		t.Errorf("the retry sent nonce %s again, expected a fresh one", first)
	}
}

// TestReusedNonceIsTransient checks that a reused nonce the HTTP retries
// did not get past is left for the activity to retry.
func TestReusedNonceIsTransient(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"2003","message":"nonce already used"}`))
	}))
	t.Cleanup(server.Close)
	client := newClient(t, server.URL, func(cfg *einvoice.Config) { cfg.Retries = -1 })

	_, err := client.Get(context.Background(), "S")
	if kind := connectors.KindOf(err); kind != connectors.KindTransient {
		t.Errorf("got %v (%s), expected a transient error", err, kind)
	}
}

func TestRedLetterRequiresFields(t *testing.T) {
	client := newClient(t, "http://127.0.0.1:1", nil)
	_, err := client.RedLetter(context.Background(), connectors.RedLetterRequest{})
	var connectorErr *connectors.Error
	if !errors.As(err, &connectorErr) || connectorErr.Kind != connectors.KindValidation {
		t.Fatalf("error = %v, want a validation error", err)
	}
	fields := map[string]bool{}
	for _, f := range connectorErr.Fields {
		fields[f.Field] = true
	}
	for _, want := range []string{"serial_no", "original_invoice_no", "reason"} {
		if !fields[want] {
			t.Errorf("field %s not reported in %v", want, err)
		}
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  einvoice.Config
	}{
		{"missing base URL", einvoice.Config{AppKey: "k", AppSecret: "s"}},
		{"relative base URL", einvoice.Config{BaseURL: "einvoice.local", AppKey: "k", AppSecret: "s"}},
		{"missing secret", einvoice.Config{BaseURL: "http://127.0.0.1:1", AppKey: "k"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := einvoice.New(tc.cfg); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
