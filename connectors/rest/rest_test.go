package rest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/connectors/erptest"
	"github.com/ordo-project/ordo/connectors/rest"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/simulators/resterp"
)

func TestContract(t *testing.T) {
	e := newEnv(t)
	client := e.client(t, nil)
	erptest.Run(t, "REST", func(*testing.T) erptest.ERP { return client })
}

// headerMode switches a configuration to idempotency keys. The ERP
// replies 200 to a repeated key.
func headerMode(c *rest.Config) {
	c.Idempotency.Mode = rest.ModeHeader
	for name, endpoint := range c.Endpoints {
		if strings.HasPrefix(name, "create_") {
			endpoint.Success = append(endpoint.Success, http.StatusOK)
			c.Endpoints[name] = endpoint
		}
	}
}

func TestContractHeaderMode(t *testing.T) {
	e := newEnv(t)
	client := e.client(t, headerMode)
	erptest.Run(t, "HDR", func(*testing.T) erptest.ERP { return client })
}

var day = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// operation is one creating call of the ERP capability.
type operation struct {
	kind   connectors.DocumentKind
	number string
	call   func(ctx context.Context, c *rest.Client, number string) (connectors.Document, error)
}

var operations = []operation{
	{connectors.KindCustomer, "CU-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.UpsertCustomer(ctx, connectors.Customer{Number: n, Name: "Acme " + n})
	}},
	{connectors.KindSalesOrder, "SO-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.EnsureSalesOrder(ctx, connectors.SalesOrder{Number: n, ContractNo: "C" + n, CustomerNumber: "CU-1", Date: day, Currency: "CNY",
			Lines: []connectors.OrderLine{{ProductNumber: "P-1", Quantity: dec("2"), UnitPrice: dec("50"), TaxRate: dec("0.13"), Amount: dec("100")}}, Total: dec("100")})
	}},
	{connectors.KindProductionOrder, "MO-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.EnsureProductionOrder(ctx, connectors.ProductionOrder{Number: n, SalesOrderNo: "SO-1", ContractNo: "C" + n, ProductNumber: "P-1", Quantity: dec("2"), Date: day})
	}},
	{connectors.KindDelivery, "DN-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.EnsureDelivery(ctx, connectors.Delivery{Number: n, SalesOrderNo: "SO-1", ContractNo: "C" + n, CustomerNumber: "CU-1", Date: day,
			Lines: []connectors.OrderLine{{ProductNumber: "P-1", Quantity: dec("2")}}})
	}},
	{connectors.KindReceivable, "AR-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.EnsureReceivable(ctx, connectors.Receivable{Number: n, SalesOrderNo: "SO-1", ContractNo: "C" + n, CustomerNumber: "CU-1", Date: day, Currency: "CNY", Total: dec("100")})
	}},
	{connectors.KindWriteOff, "WO-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.EnsureWriteOff(ctx, connectors.WriteOff{Number: n, ReceivableNo: "AR-1", ContractNo: "C" + n, CustomerNumber: "CU-1", Date: day, Currency: "CNY", Amount: dec("100"), ReceiptIDs: []string{"B1"}})
	}},
	{connectors.KindPriceList, "PL-", func(ctx context.Context, c *rest.Client, n string) (connectors.Document, error) {
		return c.EnsurePriceChange(ctx, connectors.PriceChange{Number: n, ApprovalID: "A1", CustomerNumber: "CU-1", ProductNumber: "P-1", Currency: "CNY", UnitPrice: dec("45"), EffectiveFrom: day})
	}},
}

// TestFaultsLeaveOneDocument injects each failure mode into the create
// request of each operation, then repeats the call as the activity retry
// does, and checks that exactly one document exists.
func TestFaultsLeaveOneDocument(t *testing.T) {
	faults := []struct {
		name string
		// inject prepares the fault. The first call must fail when failing
		// is set.
		inject  func(sim *resterp.Simulator)
		failing bool
		kind    connectors.ErrorKind
	}{
		{"latency", func(sim *resterp.Simulator) {
			sim.Faults().SetConfig(simulators.FaultConfig{Latency: 100 * time.Millisecond, Hang: 2 * time.Second})
		}, false, ""},
		{"server error", func(sim *resterp.Simulator) { sim.InjectNext(http.MethodPost, simulators.FaultServerError) }, true, connectors.KindTransient},
		{"throttle", func(sim *resterp.Simulator) { sim.InjectNext(http.MethodPost, simulators.FaultThrottle) }, true, connectors.KindThrottled},
		{"timeout", func(sim *resterp.Simulator) { sim.InjectNext(http.MethodPost, simulators.FaultTimeout) }, true, connectors.KindTransient},
		{"lost reply", func(sim *resterp.Simulator) { sim.InjectNext(http.MethodPost, simulators.FaultLostReply) }, true, connectors.KindTransient},
		{"silent drop", func(sim *resterp.Simulator) { sim.InjectNext(http.MethodPost, resterp.FaultSilentDrop) }, true, connectors.KindTransient},
	}
	e := newEnv(t)
	client := e.client(t, nil)
	ctx := context.Background()
	for fi, fault := range faults {
		for _, op := range operations {
			number := op.number + strings.ReplaceAll(fault.name, " ", "-")
			t.Run(fault.name+"/"+string(op.kind), func(t *testing.T) {
				fault.inject(e.sim)
				defer e.sim.Faults().SetConfig(simulators.FaultConfig{Hang: 2 * time.Second})
				started := time.Now()
				_, err := op.call(ctx, client, number)
				if fault.failing {
					if err == nil {
						t.Fatalf("first call succeeded, expected the %s to fail it", fault.name)
					}
					if got := connectors.KindOf(err); got != fault.kind {
						t.Errorf("first call failed with kind %s (%v), expected %s", got, err, fault.kind)
					}
					if !connectors.IsRetryable(err) {
						t.Errorf("first call failed with %v, expected a retryable error", err)
					}
				} else if err != nil {
					t.Fatalf("first call: %v", err)
				} else if fi == 0 && time.Since(started) < 100*time.Millisecond {
					t.Errorf("first call took %s, expected the injected latency", time.Since(started))
				}
				doc, err := op.call(ctx, client, number)
				if err != nil {
					t.Fatalf("repeated call: %v", err)
				}
				if doc.Number != number || doc.ID == "" {
					t.Errorf("repeated call returned %+v, expected number %s with an ID", doc, number)
				}
				if n := e.documents(t, string(op.kind), number); n != 1 {
					t.Errorf("the ERP holds %d documents %s, expected 1", n, number)
				}
			})
		}
	}
}

// TestReadsAreRetried checks that the HTTP client repeats idempotent
// requests within one call.
func TestReadsAreRetried(t *testing.T) {
	e := newEnv(t)
	client := e.client(t, nil)
	ctx := context.Background()
	if _, err := operations[2].call(ctx, client, "MO-R1"); err != nil {
		t.Fatalf("create production order: %v", err)
	}
	for _, fault := range []simulators.Fault{simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultTimeout, simulators.FaultLostReply} {
		e.sim.InjectNext(http.MethodGet, fault)
		status, err := client.GetProductionStatus(ctx, "MO-R1")
		if err != nil {
			t.Errorf("GetProductionStatus after a %s: %v, expected the retry to succeed", fault, err)
		} else if status.Number != "MO-R1" || status.Completed {
			t.Errorf("GetProductionStatus after a %s = %+v, expected MO-R1 in progress", fault, status)
		}
	}
	e.sim.InjectNext(http.MethodDelete, simulators.FaultServerError)
	if err := client.CancelDocument(ctx, connectors.KindProductionOrder, "MO-R1"); err != nil {
		t.Errorf("CancelDocument after a server error: %v, expected the retry to succeed", err)
	}
}

// TestPlainCreateIsNotRetried checks that a POST without an idempotency
// key is not repeated by the HTTP client, and that in header mode it is.
func TestPlainCreateIsNotRetried(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lookup := e.client(t, nil)
	e.sim.InjectNext(http.MethodPost, simulators.FaultServerError)
	if _, err := operations[1].call(ctx, lookup, "SO-P1"); err == nil {
		t.Error("create after a server error succeeded in lookup mode, expected the POST not to be repeated")
	}
	header := e.client(t, headerMode)
	e.sim.InjectNext(http.MethodPost, simulators.FaultServerError)
	e.sim.InjectNext(http.MethodPost, simulators.FaultLostReply)
	doc, err := operations[1].call(ctx, header, "SO-P2")
	if err != nil {
		t.Fatalf("create in header mode after a server error and a lost reply: %v", err)
	}
	if doc.Number != "SO-P2" {
		t.Errorf("create in header mode returned %+v, expected SO-P2", doc)
	}
	if n := e.documents(t, string(connectors.KindSalesOrder), "SO-P2"); n != 1 {
		t.Errorf("the ERP holds %d sales orders SO-P2, expected 1", n)
	}
}

func TestProductionStatusCompletes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sim, err := resterp.New(ctx, resterp.Config{DB: e.db, Token: testToken, CompletionDelay: time.Nanosecond})
	if err != nil {
		t.Fatalf("create simulator: %v", err)
	}
	server := httptest.NewServer(sim.Handler())
	defer server.Close()
	e.url = server.URL + "/api"
	client := e.client(t, nil)
	if _, err := operations[2].call(ctx, client, "MO-C1"); err != nil {
		t.Fatalf("create production order: %v", err)
	}
	status, err := client.GetProductionStatus(ctx, "MO-C1")
	if err != nil {
		t.Fatalf("GetProductionStatus: %v", err)
	}
	if !status.Completed || status.Status != "finished" || status.CompletedAt.IsZero() {
		t.Errorf("GetProductionStatus = %+v, expected a finished order with its time", status)
	}
}

func TestRequestFollowsMapping(t *testing.T) {
	var body []byte
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.NotFound(w, r)
			return
		}
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"data": {"id": "7", "no": "SO-M1", "state": "new"}}`))
	}))
	defer server.Close()
	t.Setenv("ORDO_RESTERP_TOKEN", testToken)
	client := (&env{url: server.URL}).client(t, func(c *rest.Config) { c.Idempotency.Verify = false })
	doc, err := operations[1].call(context.Background(), client, "SO-M1")
	if err != nil {
		t.Fatalf("EnsureSalesOrder: %v", err)
	}
	if doc.ID != "7" || doc.Status != "new" || !doc.Created {
		t.Errorf("EnsureSalesOrder = %+v, expected ID 7, status new, created", doc)
	}
	checks := map[string]string{
		"header.doc_no": "SO-M1", "header.contract_ref": "CSO-M1", "header.customer": "CU-1",
		"header.amount": "100", "items.0.sku": "P-1", "items.0.qty": "2", "items.0.price": "50",
	}
	for path, expected := range checks {
		if got := gjson.GetBytes(body, path).String(); got != expected {
			t.Errorf("request %s = %q, expected %q (body %s)", path, got, expected, body)
		}
	}
	if gjson.GetBytes(body, "number").Exists() {
		t.Errorf("request carries ordo's own field number: %s", body)
	}
}

func TestAuthHeaders(t *testing.T) {
	var got http.Header
	var gotBody []byte
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		gotBody, _ = io.ReadAll(r.Body)
		_, _ = w.Write([]byte(`{"data": {"no": "MO-A1", "state": "open"}}`))
	}))
	defer server.Close()
	t.Setenv("ORDO_RESTERP_TOKEN", testToken)
	t.Setenv("REST_TEST_PASSWORD", "pa55")
	t.Setenv("REST_TEST_SECRET", "s3cret")
	e := &env{url: server.URL}
	ctx := context.Background()

	basic := e.client(t, func(c *rest.Config) {
		c.Auth = rest.Auth{Kind: "basic", Username: "ordo", Password: config.Credential{Env: "REST_TEST_PASSWORD"}}
	})
	if _, err := basic.GetProductionStatus(ctx, "MO-A1"); err != nil {
		t.Fatalf("GetProductionStatus with basic auth: %v", err)
	}
	if user, pass, ok := (&http.Request{Header: got}).BasicAuth(); !ok || user != "ordo" || pass != "pa55" {
		t.Errorf("basic auth sent %q/%q, expected ordo/pa55", user, pass)
	}

	signed := e.client(t, func(c *rest.Config) {
		c.Auth = rest.Auth{Kind: "hmac", Secret: config.Credential{Env: "REST_TEST_SECRET"}, Header: "X-Signature", TimestampHeader: "X-Timestamp", KeyID: "k1", KeyIDHeader: "X-Key-Id"}
	})
	if _, err := signed.GetProductionStatus(ctx, "MO-A1"); err != nil {
		t.Fatalf("GetProductionStatus with HMAC: %v", err)
	}
	expected := rest.RequestSignature("s3cret", got.Get("X-Timestamp"), http.MethodGet, "/production-orders/MO-A1/progress", gotBody)
	if got.Get("X-Signature") != expected || got.Get("X-Key-Id") != "k1" {
		t.Errorf("HMAC headers %v, expected signature %s and key id k1", got, expected)
	}

	bearer := e.client(t, nil)
	if _, err := bearer.GetProductionStatus(ctx, "MO-A1"); err != nil {
		t.Fatalf("GetProductionStatus with bearer auth: %v", err)
	}
	if got.Get("Authorization") != "Bearer "+testToken {
		t.Errorf("Authorization = %q, expected the bearer token", got.Get("Authorization"))
	}
}

func TestWrongTokenIsAuthError(t *testing.T) {
	e := newEnv(t)
	t.Setenv("ORDO_RESTERP_TOKEN", "wrong")
	_, err := operations[0].call(context.Background(), e.client(t, nil), "CU-X")
	if connectors.KindOf(err) != connectors.KindAuth || connectors.IsRetryable(err) {
		t.Errorf("call with a wrong token: %v, expected a non-retryable auth error", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the token", err)
	}
}

func TestMissingCancelEndpointIsRejected(t *testing.T) {
	e := newEnv(t)
	client := e.client(t, func(c *rest.Config) { delete(c.Endpoints, "cancel_delivery") })
	err := client.CancelDocument(context.Background(), connectors.KindDelivery, "DN-1")
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Retryable() || !strings.Contains(err.Error(), "erp.rest.endpoints.cancel_delivery") {
		t.Errorf("cancel without endpoint: %v, expected a rejection naming erp.rest.endpoints.cancel_delivery", err)
	}
}

func TestSectionProblemsNameTheKey(t *testing.T) {
	cases := []struct {
		name string
		edit string
		path string
	}{
		{"unknown key", "endpoints:\n  create_sales_order: {method: POST, pth: /x}", "erp.rest.endpoints.create_sales_order.pth"},
		{"bad path", "endpoints:\n  create_sales_order: {method: POST, path: sales}", "erp.rest.endpoints.create_sales_order.path"},
		{"bad placeholder", "endpoints:\n  find_sales_order: {path: \"/so/{contract_no}\"}", "erp.rest.endpoints.find_sales_order.path"},
		{"unknown endpoint", "endpoints:\n  create_invoice: {path: /i}", "erp.rest.endpoints.create_invoice"},
		{"unknown field", "mapping:\n  sales_order:\n    request: {totl: amount}", "erp.rest.mapping.sales_order.request.totl"},
		{"bad method", "endpoints:\n  create_delivery: {method: FETCH, path: /d}", "erp.rest.endpoints.create_delivery.method"},
		{"bad auth", "auth: {kind: oauth}", "erp.rest.auth.kind"},
		{"bad mode", "idempotency: {mode: hope}", "erp.rest.idempotency.mode"},
		{"wrong type", "timeout: soon", "erp.rest.timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			section := exampleSection(t)
			var override yaml.Node
			if err := yaml.Unmarshal([]byte(c.edit), &override); err != nil {
				t.Fatalf("parse edit: %v", err)
			}
			merge(section, override.Content[0])
			_, problems := rest.DecodeSection(config.Section{Node: section}, "erp.rest")
			found := false
			for _, p := range problems {
				found = found || p.Path == c.path
			}
			if !found {
				t.Errorf("problems %v, expected one at %s", problems, c.path)
			}
		})
	}
	if _, problems := rest.DecodeSection(config.Section{}, "erp.rest"); len(problems) != 1 || problems[0].Path != "erp.rest" {
		t.Errorf("missing section: problems %v, expected one at erp.rest", problems)
	}
}

// merge sets the keys of override into the mapping node target, one
// level deep per nested mapping.
func merge(target, override *yaml.Node) {
	for i := 0; i+1 < len(override.Content); i += 2 {
		key, value := override.Content[i], override.Content[i+1]
		replaced := false
		for j := 0; j+1 < len(target.Content); j += 2 {
			if target.Content[j].Value == key.Value {
				if value.Kind == yaml.MappingNode && target.Content[j+1].Kind == yaml.MappingNode {
					merge(target.Content[j+1], value)
				} else {
					target.Content[j+1] = value
				}
				replaced = true
			}
		}
		if !replaced {
			target.Content = append(target.Content, key, value)
		}
	}
}
