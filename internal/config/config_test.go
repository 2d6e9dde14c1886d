package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ordo.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("default configuration: %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "deploy", "ordo.example.yaml"))
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	if cfg.Database.Driver != "postgres" || cfg.Currency != "CNY" {
		t.Errorf("example not applied: driver %s currency %s", cfg.Database.Driver, cfg.Currency)
	}
	if cfg.ERP.AppSecret.Env != "ORDO_KINGDEE_APP_SECRET" {
		t.Errorf("app secret = %+v, want the environment variable", cfg.ERP.AppSecret)
	}
}

func TestEmptyFileMeansDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, ""))
	if err != nil {
		t.Fatalf("load empty file: %v", err)
	}
	if cfg.TaskQueue != "ordo" {
		t.Errorf("task queue = %q, want the default", cfg.TaskQueue)
	}
}

// loadRejectCase is a YAML configuration and a part of the error that
// Load must return for it.
type loadRejectCase struct {
	name, yaml, want string
}

func expectLoadRejects(t *testing.T, cases []loadRejectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.yaml))
			if err == nil {
				t.Fatalf("configuration was accepted, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	cases := []loadRejectCase{
		{"unknown key", "currency: CNY\ncurrencyy: USD\n", `currencyy: unknown key (did you mean "currency"?)`},
		{"unknown nested key", "erp:\n  conector: kingdee\n", `erp.conector: unknown key (did you mean "connector"?)`},
		{"wrong type", "worker:\n  max_concurrent_activities: many\n", `worker.max_concurrent_activities: expected a whole number, got "many"`},
		{"wrong duration", "chain:\n  activity_timeout: soon\n", `chain.activity_timeout: expected a duration`},
		{"bad date", "tax:\n  rates:\n    - {category: goods, rate: \"0.13\", from: 2019/04/01}\n", "invalid date"},
		{"lower-case currency", "currency: cny\n", "currency:"},
		{"plan not adding up", "payment:\n  plan:\n    - {label: all, trigger: signing, ratio: \"0.9\"}\n", "payment.plan: ratios add up to 0.9"},
		{"unknown trigger", "payment:\n  plan:\n    - {label: all, trigger: shipping, ratio: \"1\"}\n", "payment.plan[0].trigger"},
		{"rate as percent", "tax:\n  rates:\n    - {category: goods, rate: \"13\", from: 2019-04-01}\n", "tax.rates[0].rate"},
		{"negative duration", "chain:\n  activity_timeout: -5s\n", "chain.activity_timeout"},
		{"poll max below initial", "chain:\n  production_poll_initial: 1h\n  production_poll_max: 1m\n", "chain.production_poll_max"},
		{"postgres without dsn", "database:\n  driver: postgres\n", "database.dsn"},
		{"unknown driver", "database:\n  driver: oracle\n", "database.driver"},
		{"short tax code", "tax:\n  products:\n    default: {code: \"123\", category: goods, invoice_name: x}\n", "tax.products.default.code"},
		{"unknown category", "tax:\n  products:\n    default: {code: \"1090511990000000000\", category: food, invoice_name: x}\n", "tax.products.default.category"},
		{"bad invoice kind", "invoice:\n  kind: \"80\"\n", "invoice.kind"},
	}
	expectLoadRejects(t, cases)
}

func TestValidationListsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.Currency = "x"
	cfg.TaskQueue = ""
	var verr *ValidationError
	if err := cfg.Validate(); !errors.As(err, &verr) || len(verr.Problems) != 2 {
		t.Fatalf("Validate = %v, want both problems listed", err)
	}
}

func TestRateFor(t *testing.T) {
	tax := Default().Tax
	cases := map[string]string{"2017-06-30": "0.17", "2018-05-01": "0.16", "2019-03-31": "0.16", "2019-04-01": "0.13", "2026-12-04": "0.13"}
	for day, want := range cases {
		d, _ := time.Parse(time.DateOnly, day)
		got, err := tax.RateFor("goods", d)
		if err != nil || !got.Equal(decimal.RequireFromString(want)) {
			t.Errorf("RateFor(goods, %s) = %s, %v; want %s", day, got, err, want)
		}
	}
	if _, err := tax.RateFor("goods", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("a date before every rate was accepted")
	}
}

func TestExchangeRateFor(t *testing.T) {
	inv := Default().Invoice
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	if got, err := inv.RateFor("CNY", day); err != nil || !got.Equal(decimal.NewFromInt(1)) {
		t.Errorf("CNY rate = %s, %v; want 1", got, err)
	}
	if _, err := inv.RateFor("EUR", day); err == nil || !strings.Contains(err.Error(), "invoice.exchange_rates") {
		t.Errorf("EUR rate error = %v, want a pointer to invoice.exchange_rates", err)
	}
}

func TestCredentialResolve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDO_TEST_SECRET", "from-env")
	cases := []struct {
		name string
		c    Credential
		want string
		fail bool
	}{
		{"value", Credential{Value: "v"}, "v", false},
		{"environment", Credential{Env: "ORDO_TEST_SECRET"}, "from-env", false},
		{"file without newline", Credential{File: path}, "from-file", false},
		{"missing variable", Credential{Env: "ORDO_TEST_MISSING"}, "", true},
		{"missing file", Credential{File: path + ".none"}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Resolve()
			if tc.fail != (err != nil) {
				t.Fatalf("Resolve error = %v, want failure %v", err, tc.fail)
			}
			if got != tc.want {
				t.Errorf("Resolve = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadMovesDerivedAddresses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ordo.yaml")
	data := []byte("api:\n  address: 127.0.0.1:18080\nsimulators:\n  kingdee:\n    address: 127.0.0.1:18091\n  bank:\n    address: 127.0.0.1:18093\n  smtp:\n    address: 127.0.0.1:12525\n")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.API.PublicURL != "http://127.0.0.1:18080" {
		t.Errorf("api.public_url = %s, expected it to follow api.address", cfg.API.PublicURL)
	}
	if cfg.ERP.BaseURL != "http://127.0.0.1:18091/k3cloud/" {
		t.Errorf("erp.base_url = %s, expected it to follow the Kingdee simulator", cfg.ERP.BaseURL)
	}
	if cfg.Bank.BaseURL != "http://127.0.0.1:18093" {
		t.Errorf("bank.base_url = %s, expected it to follow the bank simulator", cfg.Bank.BaseURL)
	}
	if cfg.Notify.SMTP.Address != "127.0.0.1:12525" {
		t.Errorf("notify.smtp.address = %s, expected it to follow the SMTP sink", cfg.Notify.SMTP.Address)
	}
	if cfg.EInvoice.BaseURL != Default().EInvoice.BaseURL {
		t.Errorf("einvoice.base_url = %s, expected the default while its simulator did not move", cfg.EInvoice.BaseURL)
	}
}

func TestLoadRejectsImpossibleRanges(t *testing.T) {
	cases := []loadRejectCase{
		{"negative activities", "worker:\n  max_concurrent_activities: -1\n", "worker.max_concurrent_activities: -1 must be at least 1"},
		{"zero workflow tasks", "worker:\n  max_concurrent_workflow_tasks: 0\n", "worker.max_concurrent_workflow_tasks: 0 must be at least 1"},
		{"zero activity pollers", "worker:\n  activity_pollers: 0\n", "worker.activity_pollers: 0 must be at least 1"},
		{"negative workflow pollers", "worker:\n  workflow_pollers: -2\n", "worker.workflow_pollers: -2 must be at least 1"},
		{"negative workflow cache", "worker:\n  max_cached_workflows: -1\n", "worker.max_cached_workflows: -1 must be at least 0"},
		{"negative database conns", "database:\n  max_conns: -1\n", "database.max_conns: -1 must be at least 0"},
		{"negative erp conns", "erp:\n  max_conns: -3\n", "erp.max_conns: -3 must be at least 0"},
		{"negative einvoice conns", "einvoice:\n  max_conns: -3\n", "einvoice.max_conns: -3 must be at least 0"},
		{"negative sync page", "erp:\n  sync_page_size: -1\n", "erp.sync_page_size: -1 is not between 0 and 2000"},
		{"sync page too large", "erp:\n  sync_page_size: 5000\n", "erp.sync_page_size: 5000 is not between 0 and 2000"},
		{"negative erp timeout", "erp:\n  timeout: -1s\n", "erp.timeout: -1s must not be negative"},
		{"negative einvoice timeout", "einvoice:\n  timeout: -1s\n", "einvoice.timeout: -1s must not be negative"},
		{"negative bank timeout", "bank:\n  timeout: -1s\n", "bank.timeout: -1s must not be negative"},
		{"negative production delay", "simulators:\n  kingdee:\n    production_delay: -1s\n", "simulators.kingdee.production_delay: -1s must not be negative"},
		{"negative issue delay", "simulators:\n  einvoice:\n    issue_delay: -1s\n", "simulators.einvoice.issue_delay: -1s must not be negative"},
		{"negative payment delay", "simulators:\n  bank:\n    payment_delay: -1s\n", "simulators.bank.payment_delay: -1s must not be negative"},
		{"fault rate above 1", "simulators:\n  fault_rate: 1.5\n", "simulators.fault_rate: 1.5 is not a probability"},
		{"negative fault rate", "simulators:\n  fault_rate: -0.1\n", "simulators.fault_rate: -0.1 is not a probability"},
		{"zero payment poll", "payment:\n  poll_interval: 0s\n", "payment.poll_interval"},
		{"zero retry attempts", "chain:\n  retry_max_attempts: 0\n", "chain.retry_max_attempts: must be at least 1"},
		{"zero webhook tolerance", "api:\n  webhook_tolerance: 0s\n", "api.webhook_tolerance"},
	}
	expectLoadRejects(t, cases)
}

func TestLoadAcceptsRangeBounds(t *testing.T) {
	text := "worker:\n  max_concurrent_activities: 1\n  max_cached_workflows: 0\n" +
		"database:\n  max_conns: 0\n" +
		"erp:\n  timeout: 0s\n  max_conns: 0\n  sync_page_size: 2000\n  sync_interval: -1s\n" +
		"simulators:\n  fault_rate: 1\n  bank:\n    payment_delay: 0s\n"
	if _, err := Load(writeConfig(t, text)); err != nil {
		t.Errorf("configuration at the bounds was rejected: %v", err)
	}
}

func TestLinkSecretFromEnvironment(t *testing.T) {
	t.Setenv("ORDO_LINK_SECRET", "link-from-env")
	cfg, err := Load(writeConfig(t, "api:\n  link_secret: link-from-file\n"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.API.LinkSecret != "link-from-env" {
		t.Errorf("api.link_secret = %q, expected ORDO_LINK_SECRET to override the file", cfg.API.LinkSecret)
	}
}

func TestExampleConfigKeepsLinkSecretInFile(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "deploy", "ordo.example.yaml"))
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	if cfg.API.LinkSecretFile != "/etc/ordo/link-secret" || cfg.API.LinkSecret != "" {
		t.Errorf("api link secret %q, file %q; expected only the file /etc/ordo/link-secret", cfg.API.LinkSecret, cfg.API.LinkSecretFile)
	}
}
