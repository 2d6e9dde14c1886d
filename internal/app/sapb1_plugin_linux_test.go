package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	sapb1sim "github.com/ordo-project/ordo/internal/simulators/sapb1"
	"github.com/ordo-project/ordo/plugins/host"
	"github.com/ordo-project/ordo/plugins/sapb1"
)

// sapBatch is the number of contracts the SAP plugin test runs.
const sapBatch = 12

// TestSAPPluginChainsClose runs `ordo dev` with the SAP Business One
// plugin as its ERP and the Service Layer simulator injecting faults,
// kills the plugin process while the chains run, and checks that every
// chain closes with exactly one SAP document per step.
func TestSAPPluginChainsClose(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the SAP plugin binary; skipped with -short")
	}
	t.Parallel()
	plugin := buildSAPPlugin(t)
	s := startStack(t, stackOptions{LocalActivities: true, Configure: func(cfg *config.Config) {
		slowerChains(cfg)
		useSAPPlugin(t, cfg, plugin)
	}})

	contracts := postContracts(t, s.APIURL, s.Secret, "CT-SAP", sapBatch)
	waitUntilMidChain(t, s.API, sapBatch)
	pid := killPlugin(t, plugin)
	t.Logf("killed the SAP plugin (pid %d) with %d of %d chains closed", pid, closedCount(getSummary(t, s.API)), sapBatch)

	waitAllClosed(t, s.API, sapBatch, 3*time.Minute)
	for _, no := range contracts {
		checkClosedContract(t, getContract(t, s.API, no, false))
	}
	checkSAPLedger(t, readLedger(t, s.DataDir), contracts)

	var stats sapb1sim.Stats
	if err := apiclient.New("http://"+s.Config.Sim.SAPB1.Address, "").Get(context.Background(), "/sim/stats", nil, &stats); err != nil {
		t.Fatalf("read the SAP simulator's stats: %v", err)
	}
	if stats.Faults == 0 {
		t.Errorf("the SAP simulator injected no fault, so the test proved nothing about them")
	}
	logs, err := os.ReadFile(s.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logs), "Started ERP plugin"); n < 2 {
		t.Errorf("the log shows the plugin started %d times, expected a restart after the kill", n)
	}
	t.Logf("the SAP simulator injected %d faults over %d logins", stats.Faults, stats.Logins)
}

// buildSAPPlugin builds ordo-plugin-sapb1 into a temporary directory with the
// command docs/plugins.md gives.
func buildSAPPlugin(t testing.TB) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "ordo-plugin-sapb1")
	cmd := exec.Command("go", "build", "-o", binary, "github.com/ordo-project/ordo/plugins/sapb1/cmd/ordo-plugin-sapb1")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the SAP plugin: %v\n%s", err, output)
	}
	return binary
}

// useSAPPlugin selects the plugin as the ERP, pins its checksum and starts
// the Service Layer simulator with faults.
func useSAPPlugin(t testing.TB, cfg *config.Config, binary string) {
	t.Helper()
	sum, err := host.FileChecksum(binary)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sim.SAPB1 = config.SimSAPB1{
		Enabled: true, Address: freeAddress(t), CompanyDB: "SBODEMOCN", UserName: "manager",
		Password: config.Credential{Value: "ordo-dev-b1-password"}, ProductionDelay: time.Second,
		SessionTimeout: 3 * time.Second, FaultRate: 0.1, FaultHang: 3 * time.Second,
	}
	cfg.ERP.Connector = "plugin:sapb1"
	cfg.Plugins = append(cfg.Plugins, config.Plugin{
		Name: "sapb1", Path: binary, SHA256: sum, CallTimeout: 20 * time.Second,
		Env: []string{
			sapb1.EnvServiceLayerURL + "=http://" + cfg.Sim.SAPB1.Address + "/b1s/v1/",
			sapb1.EnvCompanyDB + "=SBODEMOCN", sapb1.EnvUserName + "=manager",
			sapb1.EnvPassword + "=ordo-dev-b1-password", sapb1.EnvTimeout + "=2s",
		},
	})
}

// killPlugin sends SIGKILL to the plugin process the test process started
// from binary and returns its pid.
func killPlugin(t testing.TB, binary string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pid := childRunning(t, binary); pid != 0 {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill the SAP plugin (pid %d): %v", pid, err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process of %s is a child of the test after 30s", binary)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// childRunning returns the pid of a child of this process running binary,
// or 0.
func childRunning(t testing.TB, binary string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("cannot list processes: %v", err)
	}
	parent := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != binary {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err == nil && strings.Contains(string(status), "\nPPid:\t"+parent+"\n") {
			return pid
		}
	}
	return 0
}

// checkSAPLedger checks that the SAP simulator holds exactly one document
// per step of every contract and one business partner per customer, and
// that the e-invoice service issued one invoice per contract.
func checkSAPLedger(t testing.TB, entries []simulators.LedgerEntry, contracts []string) {
	t.Helper()
	index := indexLedger(entries)
	kinds := []string{"sapb1/sales_order", "sapb1/production_order", "sapb1/delivery", "sapb1/receivable", "sapb1/write_off", "einvoice/invoice"}
	for _, kind := range kinds {
		for _, no := range contracts {
			if n := index[kind][no]; n != 1 {
				t.Errorf("ledger has %d %s documents for contract %s, expected exactly 1", n, kind, no)
			}
		}
	}
	if len(index["sapb1/customer"]) == 0 {
		t.Errorf("ledger has no SAP business partners")
	}
	for number, n := range index["sapb1/customer"] {
		if n != 1 {
			t.Errorf("ledger has %d business partners numbered %s, expected 1", n, number)
		}
	}
	for kind := range index {
		if strings.HasPrefix(kind, "kingdee/") {
			t.Errorf("ledger has %s documents, expected none with the SAP plugin as the ERP", kind)
		}
	}
}
