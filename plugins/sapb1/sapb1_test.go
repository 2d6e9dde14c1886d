package sapb1

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/connectors/erptest"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/sapb1"
)

// TestContractThroughHost runs the ERP contract suite against the plugin
// binary, started by the plugin host as ordo starts it.
func TestContractThroughHost(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.plugin(t)
	erptest.Run(t, "B1H", func(*testing.T) erptest.ERP { return erp })

	described, err := erp.Describe(context.Background())
	if err != nil || described.Connector != ConnectorName || described.Version != Version {
		t.Errorf("Describe = %+v, %v; expected connector %s version %s", described, err, ConnectorName, Version)
	}
}

// TestContractInProcess runs the suite against the connector without the
// plugin boundary, so a failure here points at the connector and not at
// the transport.
func TestContractInProcess(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	erptest.Run(t, "B1P", func(*testing.T) erptest.ERP { return erp })
}

func mustCustomer(t *testing.T, erp erptest.ERP, number string) {
	t.Helper()
	if _, err := erp.UpsertCustomer(context.Background(), connectors.Customer{Number: number, Name: "Customer " + number}); err != nil {
		t.Fatalf("UpsertCustomer %s: %v", number, err)
	}
}

func order(contractNo string) connectors.SalesOrder {
	quantity := decimal.NewFromInt(1)
	return connectors.SalesOrder{
		Number: "SO-" + contractNo, ContractNo: contractNo, CustomerNumber: "CU-" + contractNo, Currency: "CNY",
		Lines: []connectors.OrderLine{{ProductNumber: "P-1", Quantity: quantity, UnitPrice: decimal.NewFromInt(100), Amount: decimal.NewFromInt(100)}},
		Total: decimal.NewFromInt(100),
	}
}

func TestExpiredSessionLogsInAgainOnce(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	mustCustomer(t, erp, "CU-S1")
	if n := env.sim.ExpireSessions(); n != 1 {
		t.Fatalf("expired %d sessions, expected the client's one", n)
	}
	mustCustomer(t, erp, "CU-S2")
	if got := erp.Client().Logins(); got != 2 {
		t.Errorf("client logged in %d times, expected 2 (once more after the session expired)", got)
	}
}

func TestSessionTimeoutLogsInAgain(t *testing.T) {
	env := newEnv(t, func(c *sim.Config) { c.SessionTimeout = 200 * time.Millisecond })
	erp := env.inProcess()
	mustCustomer(t, erp, "CU-T1")
	time.Sleep(300 * time.Millisecond)
	mustCustomer(t, erp, "CU-T2")
	if got := erp.Client().Logins(); got != 2 {
		t.Errorf("client logged in %d times, expected 2", got)
	}
}

func TestSessionLostOnEveryCallIsTransient(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	mustCustomer(t, erp, "CU-L1")
	env.sim.Faults().SetConfig(simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{sim.FaultSessionLost}})
	_, err := erp.UpsertCustomer(context.Background(), connectors.Customer{Number: "CU-L2", Name: "x"})
	if kind := connectors.KindOf(err); kind != connectors.KindTransient || err == nil {
		t.Fatalf("got %v (%s), expected a transient error after one new login", err, kind)
	}
	if got := erp.Client().Logins(); got != 2 {
		t.Errorf("client logged in %d times, expected exactly one new login per call", got)
	}
}

// TestLostSessionEndsOnlyItsCall loses the session of one of eight calls
// in flight at once. Only that call is rejected; it logs in again and
// succeeds, and the other seven never notice.
func TestLostSessionEndsOnlyItsCall(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	env.sim.Faults().SetConfig(simulators.FaultConfig{Latency: 200 * time.Millisecond})
	env.arm(sim.FaultSessionLost, "GET BusinessPartners")
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := erp.UpsertCustomer(context.Background(), connectors.Customer{Number: fmt.Sprintf("CU-P%d", i), Name: "x"})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("UpsertCustomer: %v", err)
		}
	}
	if got := env.sim.Stats().Rejected; got != 1 {
		t.Errorf("the Service Layer rejected %d calls for an invalid session, expected only the one whose session was lost", got)
	}
}

func TestWrongPasswordIsAuthError(t *testing.T) {
	env := newEnv(t, nil)
	cfg := env.config()
	cfg.Password = "wrong"
	erp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = erp.UpsertCustomer(context.Background(), connectors.Customer{Number: "CU-A", Name: "x"})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.KindAuth {
		t.Fatalf("got %v, expected an auth error", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestServerErrorsAndThrottlingAreRetryable(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	mustCustomer(t, erp, "CU-E1")
	for fault, kind := range map[simulators.Fault]connectors.ErrorKind{
		simulators.FaultServerError: connectors.KindTransient,
		simulators.FaultThrottle:    connectors.KindThrottled,
	} {
		env.arm(fault, "GET BusinessPartners")
		_, err := erp.UpsertCustomer(context.Background(), connectors.Customer{Number: "CU-E1", Name: "Customer CU-E1"})
		if connectors.KindOf(err) != kind || err == nil {
			t.Errorf("%s: got %v, expected a %s error", fault, err, kind)
		}
	}
}

// TestFaultMidCreateLeavesOneDocument makes the create of a sales order
// fail in each way that leaves the caller unsure whether it took effect,
// retries as ordo does, and checks the ledger holds one order.
func TestFaultMidCreateLeavesOneDocument(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	for i, fault := range []simulators.Fault{simulators.FaultLostReply, simulators.FaultTimeout, sim.FaultSilentDrop, simulators.FaultServerError} {
		contractNo := fmt.Sprintf("CT-F%d", i)
		mustCustomer(t, erp, "CU-"+contractNo)
		env.arm(fault, "POST Orders")
		_, err := erp.EnsureSalesOrder(context.Background(), order(contractNo))
		if !connectors.IsRetryable(err) {
			t.Fatalf("%s: first EnsureSalesOrder returned %v, expected a retryable error", fault, err)
		}
		doc, err := erp.EnsureSalesOrder(context.Background(), order(contractNo))
		if err != nil {
			t.Fatalf("%s: retry of EnsureSalesOrder: %v", fault, err)
		}
		if fault == simulators.FaultLostReply && doc.Created {
			t.Errorf("%s: the retry created the order, expected it to find the first one", fault)
		}
		if n := env.ledgerCount("sales_order", contractNo); n != 1 {
			t.Errorf("%s: ledger has %d sales orders for %s, expected 1", fault, n, contractNo)
		}
	}
}

// TestLostReplyThroughHost checks the same through the plugin process.
func TestLostReplyThroughHost(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.plugin(t)
	mustCustomer(t, erp, "CU-CT-H")
	env.arm(simulators.FaultLostReply, "POST Orders")
	if _, err := erp.EnsureSalesOrder(context.Background(), order("CT-H")); !connectors.IsRetryable(err) {
		t.Fatalf("first EnsureSalesOrder returned %v, expected a retryable error", err)
	}
	env.arm(simulators.FaultTimeout, "GET Orders")
	if _, err := erp.EnsureSalesOrder(context.Background(), order("CT-H")); !connectors.IsRetryable(err) {
		t.Fatalf("second EnsureSalesOrder returned %v, expected a retryable timeout", err)
	}
	doc, err := erp.EnsureSalesOrder(context.Background(), order("CT-H"))
	if err != nil || doc.Created {
		t.Fatalf("third EnsureSalesOrder = %+v, %v; expected the order the first call created", doc, err)
	}
	if n := env.ledgerCount("sales_order", "CT-H"); n != 1 {
		t.Errorf("ledger has %d sales orders, expected 1", n)
	}
}

func TestListFollowsNextLink(t *testing.T) {
	env := newEnv(t, func(c *sim.Config) { c.PageSize = 2 })
	erp := env.inProcess()
	for i := range 5 {
		mustCustomer(t, erp, fmt.Sprintf("CU-P%d", i))
	}
	mustCustomer(t, erp, "OTHER-1")
	cfg := env.config()
	cfg.PageSize = 2
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	query := url.Values{}
	query.Set("$filter", "CardType eq 'cCustomer' and CardCode ge 'CU-P1' and CardCode lt 'CU-Q'")
	query.Set("$select", "CardCode,CardName")
	rows, err := client.list(context.Background(), "BusinessPartners", query)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range rows {
		codes = append(codes, str(r, "CardCode"))
	}
	if got := strings.Join(codes, ","); got != "CU-P1,CU-P2,CU-P3,CU-P4" {
		t.Errorf("listed %s, expected CU-P1 to CU-P4 over two pages", got)
	}
	if len(rows) > 0 && rows[0]["Valid"] != nil {
		t.Errorf("$select was ignored: %v", rows[0])
	}
}

func TestProductionOrderCompletes(t *testing.T) {
	env := newEnv(t, func(c *sim.Config) { c.CompletionDelay = 100 * time.Millisecond })
	erp := env.inProcess()
	ctx := context.Background()
	mustCustomer(t, erp, "CU-CT-P")
	if _, err := erp.EnsureSalesOrder(ctx, order("CT-P")); err != nil {
		t.Fatal(err)
	}
	po := connectors.ProductionOrder{Number: "MO-CT-P", SalesOrderNo: "SO-CT-P", ContractNo: "CT-P", ProductNumber: "P-1", Quantity: decimal.NewFromInt(1)}
	if _, err := erp.EnsureProductionOrder(ctx, po); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	status, err := erp.GetProductionStatus(ctx, "MO-CT-P")
	if err != nil || !status.Completed || status.CompletedAt.IsZero() {
		t.Fatalf("GetProductionStatus = %+v, %v; expected completed", status, err)
	}
	if err := erp.CancelDocument(ctx, connectors.KindProductionOrder, "MO-CT-P"); connectors.KindOf(err) != connectors.KindConflict {
		t.Errorf("cancelling a completed production order returned %v, expected a conflict", err)
	}
}

func TestMissingBaseDocumentIsValidationError(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	mustCustomer(t, erp, "CU-CT-V")
	_, err := erp.EnsureDelivery(context.Background(), connectors.Delivery{Number: "DN-CT-V", SalesOrderNo: "SO-MISSING", ContractNo: "CT-V", CustomerNumber: "CU-CT-V",
		Lines: []connectors.OrderLine{{ProductNumber: "P-1", Quantity: decimal.NewFromInt(1)}}})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.KindValidation || len(ce.Fields) != 1 || ce.Fields[0].Field != "sales_order_no" {
		t.Errorf("got %v, expected a validation error on sales_order_no", err)
	}
}

func TestConfigFromEnvNamesMissingVariable(t *testing.T) {
	_, err := ConfigFromEnv(func(name string) string {
		if name == EnvServiceLayerURL {
			return "http://127.0.0.1:1/b1s/v1/"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "SAPB1_") {
		t.Errorf("got %v, expected an error naming the missing variable", err)
	}
}

func TestConcurrentEnsureCreatesOneDocument(t *testing.T) {
	env := newEnv(t, nil)
	erp := env.inProcess()
	mustCustomer(t, erp, "CU-CT-C")
	results := make(chan connectors.Document, 8)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			doc, err := erp.EnsureSalesOrder(context.Background(), order("CT-C"))
			results <- doc
			errs <- err
		}()
	}
	created := 0
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent EnsureSalesOrder: %v", err)
		}
		if (<-results).Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d of 8 concurrent calls created the order, expected 1", created)
	}
	if n := env.ledgerCount("sales_order", "CT-C"); n != 1 {
		t.Errorf("ledger has %d sales orders, expected 1", n)
	}
}
