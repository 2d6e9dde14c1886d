package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/connectors/registry"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/validation"
)

// fakeERP returns err from every call.
type fakeERP struct {
	err    error
	closed bool
}

func (f *fakeERP) UpsertCustomer(context.Context, connectors.Customer) (connectors.Document, error) {
	return connectors.Document{}, f.err
}
func (f *fakeERP) EnsureSalesOrder(context.Context, connectors.SalesOrder) (connectors.Document, error) {
	return connectors.Document{Number: "SO-1"}, f.err
}
func (f *fakeERP) EnsureProductionOrder(context.Context, connectors.ProductionOrder) (connectors.Document, error) {
	return connectors.Document{}, f.err
}
func (f *fakeERP) GetProductionStatus(context.Context, string) (connectors.ProductionStatus, error) {
	return connectors.ProductionStatus{}, f.err
}
func (f *fakeERP) EnsureDelivery(context.Context, connectors.Delivery) (connectors.Document, error) {
	return connectors.Document{}, f.err
}
func (f *fakeERP) EnsureReceivable(context.Context, connectors.Receivable) (connectors.Document, error) {
	return connectors.Document{}, f.err
}
func (f *fakeERP) EnsureWriteOff(context.Context, connectors.WriteOff) (connectors.Document, error) {
	return connectors.Document{}, f.err
}
func (f *fakeERP) CancelDocument(context.Context, connectors.DocumentKind, string) error {
	return f.err
}
func (f *fakeERP) Close() { f.closed = true }

// syncERP also lists changes, as Kingdee does.
type syncERP struct{ fakeERP }

func (s *syncERP) CustomersChangedSince(context.Context, kingdee.Watermark, int) ([]kingdee.CustomerRecord, error) {
	return nil, nil
}
func (s *syncERP) DocumentStatesChangedSince(context.Context, string, kingdee.Watermark, int) ([]kingdee.DocumentStateRecord, error) {
	return nil, nil
}

type fakeBank struct{}

func (fakeBank) ListLines(context.Context, string, int) ([]connectors.BankLine, string, error) {
	return nil, "", nil
}

type fakeChannel struct{ err error }

func (fakeChannel) Name() string { return "pager" }
func (c fakeChannel) Send(context.Context, notify.Message) (notify.Receipt, error) {
	return notify.Receipt{}, c.err
}

// registerFakes replaces the registrations with test connectors for the
// duration of the test.
func registerFakes(t *testing.T) {
	t.Helper()
	t.Cleanup(registry.Reset())
	registry.Register(registry.Connector{ID: "erp/alpha", Aliases: []string{"old-alpha"}, New: func(registry.Env) (any, error) { return &fakeERP{}, nil }})
	registry.Register(registry.Connector{
		ID:  "erp/beta",
		New: func(env registry.Env) (any, error) { return &syncERP{}, nil },
		Validate: func(env registry.Env) validation.Problems {
			var problems validation.Problems
			problems.Add("erp.beta.url", "%q is not a URL", env.Argument)
			return problems
		},
	})
	registry.Register(registry.Connector{ID: "einvoice/platform", New: func(registry.Env) (any, error) { return nil, errors.New("unused") }})
	registry.Register(registry.Connector{ID: "bank/statement", New: func(registry.Env) (any, error) { return fakeBank{}, nil }})
}

func TestResolve(t *testing.T) {
	registerFakes(t)
	cases := []struct {
		value, id, argument string
	}{
		{"erp/alpha", "erp/alpha", ""},
		{"alpha", "erp/alpha", ""},
		{"old-alpha", "erp/alpha", ""},
		{"beta:x", "erp/beta", "x"},
		{"erp/beta:x", "erp/beta", "x"},
	}
	for _, c := range cases {
		connector, argument, err := registry.Resolve(registry.ERP, c.value)
		if err != nil {
			t.Errorf("Resolve(%q): %v", c.value, err)
			continue
		}
		if connector.ID != c.id || argument != c.argument {
			t.Errorf("Resolve(%q) = %s, %q; expected %s, %q", c.value, connector.ID, argument, c.id, c.argument)
		}
	}
	for _, value := range []string{"gamma", "", "bank/statement", "erp/"} {
		_, _, err := registry.Resolve(registry.ERP, value)
		if err == nil || !strings.Contains(err.Error(), "erp/alpha, erp/beta") {
			t.Errorf("Resolve(%q) = %v, expected an error listing erp/alpha, erp/beta", value, err)
		}
	}
}

func TestValidateUnknownID(t *testing.T) {
	registerFakes(t)
	cfg := config.Default()
	cfg.ERP.Connector = "gamma"
	cfg.Bank.Connector = "bank/nope"
	err := registry.Validate(cfg, nil)
	if err == nil {
		t.Fatal("Validate accepted unknown connectors")
	}
	for _, want := range []string{`erp.connector: "gamma" is not a known connector: use one of erp/alpha, erp/beta`, `bank.connector: "bank/nope"`, "bank/statement"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not contain %q", err, want)
		}
	}
}

func TestValidateBadKey(t *testing.T) {
	registerFakes(t)
	cfg := config.Default()
	cfg.ERP.Connector = "beta:ftp"
	err := registry.Validate(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `erp.beta.url: "ftp" is not a URL`) {
		t.Errorf("Validate = %v, expected the connector's problem at erp.beta.url", err)
	}
	cfg.ERP.Connector = "alpha"
	if err := registry.Validate(cfg, nil); err != nil {
		t.Errorf("Validate of a valid selection: %v", err)
	}
}

func TestRegisterRejectsMistakes(t *testing.T) {
	registerFakes(t)
	for name, c := range map[string]registry.Connector{
		"duplicate id":    {ID: "erp/alpha", New: func(registry.Env) (any, error) { return nil, nil }},
		"duplicate alias": {ID: "erp/gamma", Aliases: []string{"old-alpha"}, New: func(registry.Env) (any, error) { return nil, nil }},
		"bad id":          {ID: "ERP:Gamma", New: func(registry.Env) (any, error) { return nil, nil }},
		"no constructor":  {ID: "erp/delta"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register with %s did not panic", name)
				}
			}()
			registry.Register(c)
		}()
	}
}

func TestBuildKeepsInterfaces(t *testing.T) {
	registerFakes(t)
	cfg := config.Default()
	cfg.ERP.Connector = "erp/beta"
	built, err := registry.Build(cfg, nil, registry.ERP)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if _, ok := built.(registry.ChangeSource); !ok {
		t.Error("the instrumented erp/beta lost its ChangeSource methods")
	}
	if _, ok := built.(connectors.PriceLists); !ok {
		t.Error("the instrumented ERP has no EnsurePriceChange")
	}
	registry.Close(built)
	if inner := built.(registry.Wrapper).Unwrap().(*syncERP); !inner.closed {
		t.Error("Close did not reach the wrapped connector")
	}
	if _, err := registry.Build(cfg, nil, registry.EInvoice); err == nil || !strings.Contains(err.Error(), "einvoice/platform connector: unused") {
		t.Errorf("Build of a failing constructor = %v, expected its error with the id", err)
	}
}

// TestMetricsCountCalls makes calls with each outcome and reads them back
// from the metrics endpoint.
func TestMetricsCountCalls(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{
		nil, nil,
		&connectors.Error{Kind: connectors.KindTransient},
		&connectors.Error{Kind: connectors.KindValidation},
		fmt.Errorf("call: %w", context.DeadlineExceeded),
	} {
		erp := registry.Instrument("erp/metrics-test", &fakeERP{err: err}).(connectors.ERP)
		_, _ = erp.EnsureSalesOrder(ctx, connectors.SalesOrder{})
	}
	prices := registry.Instrument("erp/metrics-test", &fakeERP{}).(connectors.PriceLists)
	if _, err := prices.EnsurePriceChange(ctx, connectors.PriceChange{Number: "PL-1"}); connectors.KindOf(err) != connectors.KindValidation {
		t.Errorf("EnsurePriceChange on an ERP without price lists = %v, expected a validation error", err)
	}
	bank := registry.Instrument("bank/metrics-test", fakeBank{}).(connectors.Bank)
	_, _, _ = bank.ListLines(ctx, "", 10)
	channels, err := notify.NewRegistry(fakeChannel{err: &notify.PermanentError{Channel: "pager", Err: errors.New("no such pager")}})
	if err != nil {
		t.Fatalf("notify registry: %v", err)
	}
	instrumented, err := registry.InstrumentNotify(channels)
	if err != nil {
		t.Fatalf("InstrumentNotify: %v", err)
	}
	pager, _ := instrumented.Get("pager")
	_, _ = pager.Send(ctx, notify.Message{})

	server := httptest.NewServer(registry.Handler())
	defer server.Close()
	response, err := server.Client().Get(server.URL)
	if err != nil {
		t.Fatalf("GET metrics: %v", err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	text := string(body)
	for _, line := range []string{
		`ordo_connector_calls_total{connector="erp/metrics-test",operation="EnsureSalesOrder",outcome="ok"} 2`,
		`ordo_connector_calls_total{connector="erp/metrics-test",operation="EnsureSalesOrder",outcome="retryable_error"} 1`,
		`ordo_connector_calls_total{connector="erp/metrics-test",operation="EnsureSalesOrder",outcome="permanent_error"} 1`,
		`ordo_connector_calls_total{connector="erp/metrics-test",operation="EnsureSalesOrder",outcome="timeout"} 1`,
		`ordo_connector_calls_total{connector="erp/metrics-test",operation="EnsurePriceChange",outcome="permanent_error"} 1`,
		`ordo_connector_calls_total{connector="bank/metrics-test",operation="ListLines",outcome="ok"} 1`,
		`ordo_connector_calls_total{connector="notify/pager",operation="Send",outcome="permanent_error"} 1`,
		`ordo_connector_call_duration_seconds_count{connector="erp/metrics-test",operation="EnsureSalesOrder",outcome="ok"} 2`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("metrics lack the line\n%s", line)
		}
	}
	if !strings.Contains(text, "go_goroutines") {
		t.Error("metrics lack the Go runtime collector")
	}
}

// pacedStub is a paced channel that sends nothing.
type pacedStub struct{}

func (pacedStub) Name() string { return "paced" }
func (pacedStub) Paced() bool  { return true }
func (pacedStub) Send(context.Context, notify.Message) (notify.Receipt, error) {
	return notify.Receipt{}, nil
}

func TestInstrumentNotifyKeepsPacing(t *testing.T) {
	channels, err := notify.NewRegistry(pacedStub{}, &notify.LogChannel{Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := registry.InstrumentNotify(channels)
	if err != nil {
		t.Fatal(err)
	}
	if got := wrapped.PacedNames(); len(got) != 1 || got[0] != "paced" {
		t.Errorf("paced channels after wrapping = %v, expected [paced]", got)
	}
}
