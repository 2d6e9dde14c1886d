//go:build slow

package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/crmimport"
)

// TestImportSampleClosesWithSAPPlugin imports the whole CRM sample export
// with the SAP Business One plugin as the ERP, while the Service Layer
// simulator injects faults into 2% of its requests. It kills the plugin
// once a fifth of the chains closed, then checks that every won deal
// closes with exactly one SAP document per step.
//
// It takes about three minutes on two cores (1m52s from the import to the
// last closed chain), so it runs only with -tags slow.
func TestImportSampleClosesWithSAPPlugin(t *testing.T) {
	dir := os.Getenv("ORDO_SAMPLE_EXPORT")
	if dir == "" {
		dir = sampleExport
	}
	if _, err := os.Stat(filepath.Join(dir, crmimport.FilePipeline)); err != nil {
		t.Skipf("CRM sample export not found (set ORDO_SAMPLE_EXPORT to its directory): %v", err)
	}
	plugin := buildSAPPlugin(t)
	s := startStack(t, stackOptions{LocalActivities: true, Configure: func(cfg *config.Config) {
		useSAPPlugin(t, cfg, plugin)
		cfg.Sim.SAPB1.FaultRate = 0.02
	}})

	first := importExport(t, s.API, dir)
	if got := first.Summary.Contracts.Created; got != sampleWonDeals {
		t.Errorf("import created %d contracts, expected %d", got, sampleWonDeals)
	}
	started := time.Now()
	verifyCtx, stopVerifying := context.WithCancel(context.Background())
	released := make(chan int, 1)
	go func() { released <- verifyHeldChains(verifyCtx, t, s.API) }()

	for closedCount(getSummary(t, s.API)) < sampleWonDeals/5 {
		if time.Since(started) > 10*time.Minute {
			t.Fatalf("fewer than a fifth of the chains closed within 10 minutes")
		}
		time.Sleep(time.Second)
	}
	pid := killPlugin(t, plugin)
	t.Logf("killed the SAP plugin (pid %d) with %d of %d chains closed", pid, closedCount(getSummary(t, s.API)), sampleWonDeals)

	waitAllClosed(t, s.API, sampleWonDeals, 20*time.Minute)
	stopVerifying()
	<-released
	t.Logf("%d chains closed %s after the import", sampleWonDeals, time.Since(started).Round(time.Second))

	contracts := listContractNumbers(t, s.API)
	for _, no := range contracts {
		checkClosedContract(t, getContract(t, s.API, no, false))
	}
	checkSAPLedger(t, readLedger(t, s.DataDir), contracts)
}
