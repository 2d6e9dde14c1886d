package kingdee

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/kingdee"
)

const (
	testAccount  = "ordo-test"
	testUser     = "integration"
	testPassword = "s3cret-password"
	testAppID    = "ordo-app"
	testSecret   = "s3cret-app-secret"
)

// testEnv is a simulator on a temporary SQLite file behind a loopback
// HTTP server, and a connector client pointed at it.
type testEnv struct {
	t      *testing.T
	path   string
	sim    *sim.Simulator
	server *httptest.Server
	client *Client
	// queries counts ExecuteBillQuery requests that reached the server.
	queries atomic.Int64
	// armed, when set, is injected into the next Save request only.
	armed atomic.Pointer[simulators.Fault]
}

type envOptions struct {
	sim    func(*sim.Config)
	client func(*Config)
	// path reuses a database file, to restart a simulator on it.
	path string
}

func newEnv(t *testing.T, opts envOptions) *testEnv {
	t.Helper()
	env := &testEnv{t: t, path: opts.path}
	if env.path == "" {
		env.path = filepath.Join(t.TempDir(), "simulators.db")
	}
	cfg := sim.Config{
		Path:            env.path,
		AccountID:       testAccount,
		Username:        testUser,
		Password:        testPassword,
		AppID:           testAppID,
		AppSecret:       testSecret,
		CompletionDelay: time.Hour,
		PollInterval:    20 * time.Millisecond,
	}
	if opts.sim != nil {
		opts.sim(&cfg)
	}
	simulator, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	env.sim = simulator
	env.server = httptest.NewServer(http.HandlerFunc(env.serve))
	t.Cleanup(env.stop)
	env.client = env.newClient(opts.client)
	return env
}

// serve counts queries and arms the one-shot Save fault before passing the
// request to the simulator.
func (env *testEnv) serve(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, ".ExecuteBillQuery.") {
		env.queries.Add(1)
	}
	if strings.Contains(r.URL.Path, ".Save.") {
		if fault := env.armed.Swap(nil); fault != nil {
			env.sim.Faults().SetConfig(simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{*fault}, Hang: 2 * time.Second})
			defer env.sim.Faults().SetConfig(simulators.FaultConfig{})
		}
	}
	env.sim.Handler().ServeHTTP(w, r)
}

func (env *testEnv) stop() {
	env.server.Close()
	if err := env.sim.Close(); err != nil {
		env.t.Errorf("close simulator: %v", err)
	}
}

func (env *testEnv) baseURL() string { return env.server.URL + "/k3cloud/" }

func (env *testEnv) newClient(change func(*Config)) *Client {
	env.t.Helper()
	cfg := Config{
		BaseURL:   env.baseURL(),
		AccountID: testAccount,
		Username:  testUser,
		Password:  testPassword,
		OrgNumber: "100",
		Timeout:   5 * time.Second,
	}
	if change != nil {
		change(&cfg)
	}
	client, err := New(cfg)
	if err != nil {
		env.t.Fatalf("New client: %v", err)
	}
	return client
}

// ledger returns the simulator's ledger entries of a contract.
func (env *testEnv) ledger(contractNo string) []simulators.LedgerEntry {
	env.t.Helper()
	resp, err := http.Get(env.server.URL + "/sim/ledger?contract_no=" + contractNo)
	if err != nil {
		env.t.Fatalf("GET /sim/ledger: %v", err)
	}
	defer resp.Body.Close()
	var entries []simulators.LedgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
		env.t.Fatalf("decode ledger: %v", err)
	}
	return entries
}

// ledgerKinds counts a contract's ledger entries per kind.
func (env *testEnv) ledgerKinds(contractNo string) map[string]int {
	counts := map[string]int{}
	for _, e := range env.ledger(contractNo) {
		counts[e.Kind]++
	}
	return counts
}

// summary returns the ledger summary over all contracts.
func (env *testEnv) summary() []simulators.KindCount {
	env.t.Helper()
	resp, err := http.Get(env.server.URL + "/sim/ledger")
	if err != nil {
		env.t.Fatalf("GET /sim/ledger: %v", err)
	}
	defer resp.Body.Close()
	var counts []simulators.KindCount
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		env.t.Fatalf("decode ledger summary: %v", err)
	}
	return counts
}

// status reads a document's FDocumentStatus, or "" when it does not exist.
func (env *testEnv) status(kind connectors.DocumentKind, number string) string {
	env.t.Helper()
	state, found, err := env.client.lookup(context.Background(), formsByKind[kind], number)
	if err != nil {
		env.t.Fatalf("look up %s %s: %v", kind, number, err)
	}
	if !found {
		return ""
	}
	return state.Status
}

func mustCustomer(t *testing.T, client *Client, number string) {
	t.Helper()
	if _, err := client.UpsertCustomer(context.Background(), connectors.Customer{Number: number, Name: "Customer " + number}); err != nil {
		t.Fatalf("UpsertCustomer %s: %v", number, err)
	}
}

func dec(text string) decimal.Decimal { return decimal.RequireFromString(text) }

var testDate = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func salesOrder(number, contractNo, customer string) connectors.SalesOrder {
	return connectors.SalesOrder{
		Number:         number,
		ContractNo:     contractNo,
		CustomerNumber: customer,
		Date:           testDate,
		Currency:       "CNY",
		Lines: []connectors.OrderLine{
			{ProductNumber: "P-1", Quantity: dec("2"), UnitPrice: dec("565"), TaxRate: dec("0.13"), Amount: dec("1130")},
			{ProductNumber: "P-2", Quantity: dec("1"), UnitPrice: dec("100.5"), TaxRate: dec("0.13"), Amount: dec("100.5")},
		},
		Total: dec("1230.5"),
	}
}

func productionOrder(number, contractNo string) connectors.ProductionOrder {
	return connectors.ProductionOrder{Number: number, SalesOrderNo: "SO-" + contractNo, ContractNo: contractNo, ProductNumber: "P-1", Quantity: dec("2"), Date: testDate}
}

func delivery(number, contractNo, customer string) connectors.Delivery {
	return connectors.Delivery{
		Number: number, SalesOrderNo: "SO-" + contractNo, ContractNo: contractNo, CustomerNumber: customer, Date: testDate,
		Lines: []connectors.OrderLine{{ProductNumber: "P-1", Quantity: dec("2"), UnitPrice: dec("565"), TaxRate: dec("0.13"), Amount: dec("1130")}},
	}
}

func receivable(number, contractNo, customer string) connectors.Receivable {
	return connectors.Receivable{Number: number, SalesOrderNo: "SO-" + contractNo, ContractNo: contractNo, CustomerNumber: customer, Date: testDate, Currency: "CNY", Total: dec("1230.5")}
}

func writeOff(number, receivableNo, contractNo, customer string) connectors.WriteOff {
	return connectors.WriteOff{Number: number, ReceivableNo: receivableNo, ContractNo: contractNo, CustomerNumber: customer, Date: testDate, Currency: "CNY", Amount: dec("1230.5"), ReceiptIDs: []string{"BANK-1"}}
}

// connectorError unwraps err into a *connectors.Error or stops the test.
func connectorError(t *testing.T, err error) *connectors.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a *connectors.Error")
	}
	ce, ok := err.(*connectors.Error)
	if !ok {
		t.Fatalf("error %T (%v) is not a *connectors.Error", err, err)
	}
	if ce.Connector != ConnectorName || ce.Operation == "" {
		t.Errorf("error %q lacks connector or operation", err)
	}
	return ce
}
