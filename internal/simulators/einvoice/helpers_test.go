package einvoice_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/connectors"
	einvoiceconn "github.com/ordo-project/ordo/connectors/einvoice"
	"github.com/ordo-project/ordo/internal/invoicing"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/einvoice"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

const (
	testAppKey    = "ordo-test"
	testAppSecret = "test-secret-not-real"
	// testTaxCode is a 19-digit tax classification code of the form the
	// platform requires.
	testTaxCode = "1090511030000000000"
)

func openDB(t *testing.T, path string) *bun.DB {
	t.Helper()
	db, err := sqlitedb.Open(path, 4)
	if err != nil {
		t.Fatalf("open SQLite %s: %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func tempDBPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sim.db")
}

// startSimulator starts a simulator with short delays on db. configure may
// change the configuration before New.
func startSimulator(t *testing.T, db *bun.DB, configure func(*sim.Config)) *sim.Simulator {
	t.Helper()
	cfg := sim.Config{
		DB:              db,
		AppKey:          testAppKey,
		AppSecret:       testAppSecret,
		IssueDelay:      100 * time.Millisecond,
		PollInterval:    20 * time.Millisecond,
		CallbackBackoff: 20 * time.Millisecond,
	}
	if configure != nil {
		configure(&cfg)
	}
	ctx := context.Background()
	simulator, err := sim.New(ctx, cfg)
	if err != nil {
		t.Fatalf("create e-invoice simulator: %v", err)
	}
	if err := simulator.Start(ctx); err != nil {
		t.Fatalf("start e-invoice simulator: %v", err)
	}
	t.Cleanup(func() { _ = simulator.Close() })
	return simulator
}

func newClient(t *testing.T, baseURL string, configure func(*einvoiceconn.Config)) *einvoiceconn.Client {
	t.Helper()
	cfg := einvoiceconn.Config{
		BaseURL:   baseURL,
		AppKey:    testAppKey,
		AppSecret: testAppSecret,
		Timeout:   2 * time.Second,
		Retries:   -1,
	}
	if configure != nil {
		configure(&cfg)
	}
	client, err := einvoiceconn.New(cfg)
	if err != nil {
		t.Fatalf("create e-invoice client: %v", err)
	}
	return client
}

func dec(t *testing.T, text string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(text)
	if err != nil {
		t.Fatalf("bad test decimal %q: %v", text, err)
	}
	return d
}

// validRequest returns a two-line invoice of 12,360.00 including VAT, built
// the way ordo builds it from a contract.
func validRequest(t *testing.T, serialNo, contractNo string) connectors.InvoiceRequest {
	t.Helper()
	request, err := invoicing.BuildRequest(invoicing.InvoiceSpec{
		SerialNo:   serialNo,
		ContractNo: contractNo,
		Kind:       connectors.InvoiceKindOrdinary,
		BuyerName:  "上海启明机械有限公司",
		Total:      dec(t, "12360.00"),
		Lines: []connectors.OrderLine{
			{ProductNumber: "P-100", ProductName: "数控机床", Quantity: dec(t, "2"), TaxRate: dec(t, "0.13"), Amount: dec(t, "11300.00")},
			{ProductNumber: "S-200", ProductName: "安装服务", Quantity: dec(t, "1"), TaxRate: dec(t, "0.06"), Amount: dec(t, "1060.00")},
		},
		DefaultTaxCode: testTaxCode,
	})
	if err != nil {
		t.Fatalf("build valid invoice request: %v", err)
	}
	return request
}

// recomputeTotals sets the header totals to the sums over the lines.
func recomputeTotals(request *connectors.InvoiceRequest) {
	request.TotalAmount, request.TotalTax = decimal.Zero, decimal.Zero
	for _, line := range request.Lines {
		request.TotalAmount = request.TotalAmount.Add(line.Amount)
		request.TotalTax = request.TotalTax.Add(line.Tax)
	}
	request.TotalInclusive = request.TotalAmount.Add(request.TotalTax)
}

// waitForStatus polls Get until the request reaches status or the timeout
// passes.
func waitForStatus(t *testing.T, client *einvoiceconn.Client, serialNo, status string, timeout time.Duration) connectors.Invoice {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last connectors.Invoice
	for time.Now().Before(deadline) {
		invoice, err := client.Get(context.Background(), serialNo)
		if err != nil {
			t.Fatalf("get invoice %s: %v", serialNo, err)
		}
		if invoice.Status == status {
			return invoice
		}
		last = invoice
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("invoice %s is %q after %s, want %q", serialNo, last.Status, timeout, status)
	return last
}

// ledgerNumbers returns the numbers of the ledger entries of one kind for a
// contract.
func ledgerNumbers(t *testing.T, db bun.IDB, kind, contractNo string) []string {
	t.Helper()
	entries, err := simulators.NewLedger(db).Entries(context.Background(), contractNo)
	if err != nil {
		t.Fatalf("read ledger of %s: %v", contractNo, err)
	}
	var numbers []string
	for _, entry := range entries {
		if entry.System == "einvoice" && entry.Kind == kind {
			numbers = append(numbers, entry.Number)
		}
	}
	return numbers
}

func connectorError(t *testing.T, err error) *connectors.Error {
	t.Helper()
	var connectorErr *connectors.Error
	if !errors.As(err, &connectorErr) {
		t.Fatalf("error %v (%T) is not a *connectors.Error", err, err)
	}
	return connectorErr
}

// recordingWorld stores the events it receives and can fail the first
// calls.
type recordingWorld struct {
	mu       sync.Mutex
	invoices []simulators.InvoiceIssued
	failures int
}

func (w *recordingWorld) SalesOrderAudited(context.Context, simulators.SalesOrderAudited) error {
	return nil
}

func (w *recordingWorld) InvoiceIssued(_ context.Context, event simulators.InvoiceIssued) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failures > 0 {
		w.failures--
		return errors.New("world unavailable")
	}
	w.invoices = append(w.invoices, event)
	return nil
}

func (w *recordingWorld) events() []simulators.InvoiceIssued {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]simulators.InvoiceIssued(nil), w.invoices...)
}
