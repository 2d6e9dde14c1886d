package sapb1

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/sapb1"
	"github.com/ordo-project/ordo/internal/sqlitedb"
	"github.com/ordo-project/ordo/plugins/host"
)

const (
	testCompany  = "SBODEMOCN"
	testUser     = "manager"
	testPassword = "s3cret-b1-password"
)

// pluginPath is the ordo-plugin-sapb1 binary, built once per test binary.
var pluginPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ordo-sapb1-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create temp dir:", err)
		os.Exit(1)
	}
	pluginPath = filepath.Join(dir, "ordo-plugin-sapb1")
	build := exec.Command("go", "build", "-o", pluginPath, "github.com/ordo-project/ordo/plugins/sapb1/cmd/ordo-plugin-sapb1")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ordo-plugin-sapb1:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv is a Service Layer simulator behind a loopback server.
type testEnv struct {
	t      *testing.T
	db     *bun.DB
	sim    *sim.Simulator
	server *httptest.Server
}

func newEnv(t *testing.T, change func(*sim.Config)) *testEnv {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "simulators.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	logger := logrus.New()
	logger.SetLevel(logrus.WarnLevel)
	cfg := sim.Config{DB: db, Logger: logger, CompanyDB: testCompany, UserName: testUser, Password: testPassword,
		CompletionDelay: time.Hour, PollInterval: 50 * time.Millisecond}
	cfg.Faults, err = simulators.NewInjector(simulators.FaultConfig{Hang: 1500 * time.Millisecond}, sim.DefaultFaults...)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(&cfg)
	}
	simulator, err := sim.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, db: db, sim: simulator}
	env.server = httptest.NewServer(simulator.Handler())
	t.Cleanup(func() {
		env.server.Close()
		_ = simulator.Close()
		_ = db.Close()
	})
	return env
}

// arm injects fault into the next request matching "METHOD Entity".
func (env *testEnv) arm(fault simulators.Fault, prefix string) {
	env.sim.InjectNext(fault, prefix)
}
func (env *testEnv) baseURL() string { return env.server.URL + "/b1s/v1/" }

func (env *testEnv) config() Config {
	return Config{BaseURL: env.baseURL(), CompanyDB: testCompany, UserName: testUser, Password: testPassword, Timeout: time.Second}
}

// inProcess returns the connector itself, without a plugin process.
func (env *testEnv) inProcess() *ERP {
	env.t.Helper()
	erp, err := New(env.config())
	if err != nil {
		env.t.Fatal(err)
	}
	return erp
}

// plugin returns the connector as ordo runs it: the built binary started
// by the plugin host.
func (env *testEnv) plugin(t *testing.T) *host.ERP {
	t.Helper()
	sum, err := host.FileChecksum(pluginPath)
	if err != nil {
		t.Fatal(err)
	}
	logger := logrus.New()
	logger.SetLevel(logrus.WarnLevel)
	erp := host.NewERP(config.Plugin{
		Name: "sapb1", Path: pluginPath, SHA256: sum, CallTimeout: 10 * time.Second,
		Env: []string{
			EnvServiceLayerURL + "=" + env.baseURL(), EnvCompanyDB + "=" + testCompany,
			EnvUserName + "=" + testUser, EnvPassword + "=" + testPassword, EnvTimeout + "=1s",
		},
	}, logger)
	t.Cleanup(erp.Close)
	return erp
}

// ledgerCount counts the simulator's ledger entries of a kind and contract.
func (env *testEnv) ledgerCount(kind, contractNo string) int {
	env.t.Helper()
	entries, err := simulators.NewLedger(env.db).Entries(context.Background(), contractNo)
	if err != nil {
		env.t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.System == sim.System && e.Kind == kind {
			n++
		}
	}
	return n
}
