package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/store"
)

// restartBatch is the number of contracts the restart tests run.
const restartBatch = 50

// resumeTimeout bounds how long a batch takes to close after a restart.
//
// NOTE: the embedded Temporal server stalls for 45 to 60 seconds after a
// restart on the same data dir, because ringpop tries to join the previous
// process's hosts, still listed in temporal.db's cluster_membership, until
// its 30-second join limit passes. Deleting those rows before the server
// starts removes the stall, and then this limit can drop to 30 seconds.
const resumeTimeout = 2 * time.Minute

// slowerChains makes a chain take a few seconds, so a restart lands while
// most of a batch is still running.
func slowerChains(cfg *config.Config) {
	cfg.Sim.Kingdee.ProductionDelay = time.Second
	cfg.Sim.Bank.PaymentDelay = 2 * time.Second
}

// TestRestartMidChain stops the stack gracefully while a batch of chains
// runs, starts it again on the same data dir, and checks that every chain
// closes with exactly one document per step.
func TestRestartMidChain(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{LocalActivities: true, Configure: slowerChains})
	contracts := postContracts(t, s.APIURL, s.Secret, "CT-RESTART", restartBatch)
	waitUntilMidChain(t, s.API, restartBatch)

	s.Stop()
	closed := closedInStore(t, s.Config, s.DataDir)
	if closed == restartBatch {
		t.Fatalf("every chain closed before the stop, so the test restarted no running chain")
	}
	t.Logf("stopped with %d of %d chains closed", closed, restartBatch)

	restarted := time.Now()
	s.Start()
	waitAllClosed(t, s.API, restartBatch, resumeTimeout)
	t.Logf("every chain closed %s after the restart", time.Since(restarted).Round(time.Second))

	for _, no := range contracts {
		checkClosedContract(t, getContract(t, s.API, no, false))
	}
	checkLedgerOnePerStep(t, readLedger(t, s.DataDir), contracts)
}

// waitUntilMidChain waits until a fifth of the batch got past the sales
// order, and fails if half of it closed already.
func waitUntilMidChain(t testing.TB, c *apiclient.Client, batch int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		summary := getSummary(t, c)
		past := summary.Total - stateCount(summary, store.ContractSigned) - stateCount(summary, store.ContractScheduled)
		if past >= batch/5 {
			if closedCount(summary) > batch/2 {
				t.Fatalf("%d of %d chains closed before the restart (by state: %s): slow the chains down",
					closedCount(summary), batch, formatCounts(summary))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chains did not get past the sales order within 60s (by state: %s)", formatCounts(summary))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// closedInStore counts closed contracts in ordo's database directly, for
// a stack that is stopped.
func closedInStore(t testing.TB, cfg *config.Config, dataDir string) int {
	t.Helper()
	ctx := context.Background()
	dsn := cfg.Database.DSN
	if cfg.Database.Driver == "sqlite" && dsn == "" {
		dsn = filepath.Join(dataDir, "ordo.db")
	}
	st, err := store.Open(ctx, store.Options{Driver: cfg.Database.Driver, DSN: dsn, MaxConns: 1})
	if err != nil {
		t.Fatalf("open ordo's database of the stopped stack: %v", err)
	}
	defer st.Close()
	counts, err := st.CountContractsByState(ctx)
	if err != nil {
		t.Fatalf("count contracts of the stopped stack: %v", err)
	}
	for _, c := range counts {
		if c.State == store.ContractClosed {
			return c.Count
		}
	}
	return 0
}
