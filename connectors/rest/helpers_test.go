package rest_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/connectors/rest"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/simulators/resterp"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

const testToken = "rest-test-token"

// env is a REST ERP simulator with a connector configured from the
// example file deploy/erp-rest.example.yaml.
type env struct {
	sim    *resterp.Simulator
	db     *bun.DB
	ledger *simulators.Ledger
	url    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sim.db"), 1)
	if err != nil {
		t.Fatalf("open simulator database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ledger := simulators.NewLedger(db)
	if err := ledger.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate ledger: %v", err)
	}
	sim, err := resterp.New(context.Background(), resterp.Config{
		DB: db, Token: testToken, CompletionDelay: time.Hour,
		Faults: simulators.FaultConfig{Hang: 2 * time.Second},
	})
	if err != nil {
		t.Fatalf("create simulator: %v", err)
	}
	server := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { server.Close(); _ = sim.Close() })
	t.Setenv("ORDO_RESTERP_TOKEN", testToken)
	return &env{sim: sim, db: db, ledger: ledger, url: server.URL + "/api"}
}

// exampleSection returns the erp.rest section of the example file.
func exampleSection(t *testing.T) *yaml.Node {
	t.Helper()
	data, err := os.ReadFile("../../deploy/erp-rest.example.yaml")
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	var file struct {
		ERP struct {
			Rest yaml.Node `yaml:"rest"`
		} `yaml:"erp"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("parse example: %v", err)
	}
	return &file.ERP.Rest
}

// client returns a connector for the simulator, configured by the example
// file with edit applied.
func (e *env) client(t *testing.T, edit func(*rest.Config)) *rest.Client {
	t.Helper()
	cfg, problems := rest.DecodeSection(config.Section{Node: exampleSection(t)}, "erp.rest")
	if problems != nil {
		t.Fatalf("example configuration: %v", problems.Err("configuration"))
	}
	cfg.BaseURL = e.url
	cfg.Timeout = 300 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	creds, err := rest.ResolveCredentials(cfg.Auth, "erp.rest")
	if err != nil {
		t.Fatalf("resolve credentials: %v", err)
	}
	client, err := rest.New(cfg, creds, rest.Options{RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("create connector: %v", err)
	}
	return client
}

// documents returns how many documents the simulator's ledger holds for
// kind and number.
func (e *env) documents(t *testing.T, kind, number string) int {
	t.Helper()
	count, err := e.db.NewSelect().Model((*simulators.LedgerEntry)(nil)).
		Where("system = ? AND kind = ? AND number = ?", resterp.System, kind, number).Count(context.Background())
	if err != nil {
		t.Fatalf("count ledger entries: %v", err)
	}
	return int(count)
}
