package app_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/connectors/registry"
	"github.com/ordo-project/ordo/internal/app"
	"github.com/ordo-project/ordo/internal/config"
)

// exampleRestConfig loads deploy/erp-rest.example.yaml over the test
// configuration's defaults, as `ordo dev --config` would.
func exampleRestConfig(t testing.TB) *config.Config {
	t.Helper()
	t.Setenv("ORDO_RESTERP_TOKEN", "rest-chain-token")
	cfg, err := config.Load("../../deploy/erp-rest.example.yaml")
	if err != nil {
		t.Fatalf("load the example: %v", err)
	}
	return cfg
}

// setScalar sets the value of key in the mapping node.
func setScalar(t testing.TB, node *yaml.Node, key, value string) {
	t.Helper()
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			node.Content[i+1].Value = value
			return
		}
	}
	t.Fatalf("the section has no key %s", key)
}

// TestChainClosesWithRESTERP runs signed contracts through the whole chain
// with the erp/rest connector of the example file against the home-grown
// ERP simulator, then reads the connector metrics from GET /metrics.
func TestChainClosesWithRESTERP(t *testing.T) {
	t.Run("no faults", func(t *testing.T) { runRESTChain(t, 0) })
	// Every simulator fails a tenth of its requests with one of its
	// faults: 5xx, 429, timeouts, lost replies and, in the REST ERP,
	// silent drops.
	t.Run("faults", func(t *testing.T) { runRESTChain(t, 0.1) })
}

func runRESTChain(t *testing.T, faultRate float64) {
	example := exampleRestConfig(t)
	s := startStack(t, stackOptions{Configure: func(cfg *config.Config) {
		cfg.Sim.RestERP.Address = freeAddress(t)
		cfg.Sim.FaultRate = faultRate
		cfg.ERP.Connector = example.ERP.Connector
		cfg.ERP.Rest = example.ERP.Rest
		setScalar(t, cfg.ERP.Rest.Node, "base_url", "http://"+cfg.Sim.RestERP.Address+"/api")
		setScalar(t, cfg.ERP.Rest.Node, "timeout", "2s")
	}})
	contracts := postContracts(t, s.APIURL, s.Secret, "CT-REST", 2)
	waitAllClosed(t, s.API, len(contracts), 120*time.Second)
	for _, no := range contracts {
		checkClosedContract(t, getContract(t, s.API, no, false))
	}

	index := indexLedger(readLedger(t, s.DataDir))
	for _, kind := range []string{"resterp/sales_order", "resterp/production_order", "resterp/delivery", "resterp/receivable", "resterp/write_off", "einvoice/invoice"} {
		for _, no := range contracts {
			if n := index[kind][no]; n != 1 {
				t.Errorf("ledger has %d %s documents for contract %s, expected exactly 1", n, kind, no)
			}
		}
	}
	for key := range index {
		if strings.HasPrefix(key, "kingdee/") {
			t.Errorf("ledger has %s documents, expected none with the REST connector", key)
		}
	}

	response, err := http.Get(s.APIURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics returned %d: %s", response.StatusCode, body)
	}
	for _, series := range []string{
		`ordo_connector_calls_total{connector="erp/rest",operation="EnsureSalesOrder",outcome="ok"}`,
		`ordo_connector_calls_total{connector="erp/rest",operation="GetProductionStatus",outcome="ok"}`,
		`ordo_connector_calls_total{connector="einvoice/platform",operation="Issue",outcome="ok"}`,
		`ordo_connector_calls_total{connector="bank/statement",operation="ListLines",outcome="ok"}`,
	} {
		if !strings.Contains(string(body), series) {
			t.Errorf("GET /metrics lacks %s", series)
		}
	}
}

// TestRunRejectsBadConnectorConfig checks that ordo stops at start-up,
// before it starts anything, on an unknown connector id or a bad key in
// the selected connector's section.
func TestRunRejectsBadConnectorConfig(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(cfg *config.Config)
		wants []string
	}{
		{"unknown id", func(cfg *config.Config) { cfg.ERP.Connector = "sap" },
			[]string{`erp.connector: "sap" is not a known connector: use one of erp/kingdee, erp/plugin, erp/rest`}},
		{"unknown plugin", func(cfg *config.Config) { cfg.ERP.Connector = "plugin:sap" },
			[]string{`erp.connector: plugin "sap" is not configured under plugins`}},
		{"bad key", func(cfg *config.Config) {
			// A typo in an endpoint name: create_sale_order.
			section := cfg.ERP.Rest.Node.Content
			for i := 0; i+1 < len(section); i += 2 {
				if section[i].Value != "endpoints" {
					continue
				}
				endpoints := section[i+1].Content
				for j := 0; j < len(endpoints); j += 2 {
					if endpoints[j].Value == "create_sales_order" {
						endpoints[j].Value = "create_sale_order"
					}
				}
			}
		}, []string{"erp.rest.endpoints.create_sale_order: unknown endpoint", "erp.rest.endpoints.create_sales_order: is required but missing"}},
		{"unknown bank", func(cfg *config.Config) { cfg.Bank.Connector = "bank/swift" },
			[]string{`bank.connector: "bank/swift" is not a known connector: use one of bank/statement`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := exampleRestConfig(t)
			cfg.API.Address = freeAddress(t)
			c.edit(cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			logger := logrus.New()
			logger.SetOutput(io.Discard)
			dataDir := t.TempDir() + "/data"
			err := app.Run(ctx, app.Options{Config: cfg, DataDir: dataDir, Dev: true, RunWorker: true, RunAPI: true, Logger: logger})
			if err == nil {
				t.Fatal("Run accepted the configuration")
			}
			for _, want := range c.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Run error %q does not contain %q", err, want)
				}
			}
			if _, statErr := os.Stat(dataDir); statErr == nil {
				t.Errorf("Run created the data dir before rejecting the configuration")
			}
		})
	}
}

// TestExampleConfigsSelectKnownConnectors checks the connector selection
// of both example files against the registered connectors.
func TestExampleConfigsSelectKnownConnectors(t *testing.T) {
	for _, path := range []string{"../../deploy/ordo.example.yaml", "../../deploy/erp-rest.example.yaml"} {
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		if err := registry.Validate(cfg, nil); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
