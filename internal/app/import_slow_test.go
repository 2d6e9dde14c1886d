//go:build slow

package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/store"
)

// sampleExport is the public CRM sample export: 8,800 opportunities, of
// which 4,238 are won deals.
const (
	sampleExport        = "/work/shared/data/crm-sales-opportunities"
	sampleOpportunities = 8800
	sampleWonDeals      = 4238
)

// TestImportSampleCloses imports the whole CRM sample export through the
// API while the simulators inject faults into 2% of their requests.
// It checks that every open lead has a running SLA workflow, waits until
// every won deal's chain is closed, checks the ledger for one document
// per step, and imports the same files again to check that nothing
// changes.
//
// It takes about four minutes on two cores, so it runs only with
// -tags slow.
func TestImportSampleCloses(t *testing.T) {
	dir := os.Getenv("ORDO_SAMPLE_EXPORT")
	if dir == "" {
		dir = sampleExport
	}
	if _, err := os.Stat(filepath.Join(dir, crmimport.FilePipeline)); err != nil {
		t.Skipf("CRM sample export not found (set ORDO_SAMPLE_EXPORT to its directory): %v", err)
	}
	s := startStack(t, stackOptions{LocalActivities: true, Configure: func(cfg *config.Config) {
		cfg.Sim.FaultRate = 0.02
	}})

	first := importExport(t, s.API, dir)
	pipeline := first.Summary.File(crmimport.FilePipeline)
	if pipeline == nil || pipeline.Rows != sampleOpportunities {
		t.Fatalf("first import read %+v of %s, expected %d rows", pipeline, crmimport.FilePipeline, sampleOpportunities)
	}
	if got := first.Summary.Contracts.Created; got != sampleWonDeals {
		t.Errorf("first import created %d contracts, expected %d (rejected %d)", got, sampleWonDeals, first.Summary.Contracts.Rejected)
	}
	if first.Started != first.Summary.Contracts.Created {
		t.Errorf("first import started %d chains for %d new contracts", first.Started, first.Summary.Contracts.Created)
	}

	checkSampleLeadWorkflows(t, s, first)

	started := time.Now()
	verifyCtx, stopVerifying := context.WithCancel(context.Background())
	released := make(chan int, 1)
	go func() { released <- verifyHeldChains(verifyCtx, t, s.API) }()
	waitAllClosed(t, s.API, sampleWonDeals, 10*time.Minute)
	stopVerifying()
	t.Logf("%d chains closed %s after the import", sampleWonDeals, time.Since(started).Round(time.Second))
	// Every won deal must close without manual steps, so none may have
	// waited for a phone verification.
	if n := <-released; n != 0 {
		t.Errorf("%d imported chains were held for a phone verification, expected none", n)
	}

	contracts := listContractNumbers(t, s.API)
	if len(contracts) != sampleWonDeals {
		t.Fatalf("API lists %d contracts, expected %d", len(contracts), sampleWonDeals)
	}
	erp := newERPClient(t, s.Config)
	for i, no := range contracts {
		view := getContract(t, s.API, no, false)
		checkClosedContract(t, view)
		if i%50 == 0 {
			checkReceivableWrittenOff(t, erp, view.Contract)
		}
	}
	ledger := readLedger(t, s.DataDir)
	checkLedgerOnePerStep(t, ledger, contracts)

	second := importExport(t, s.API, dir)
	c := second.Summary.Contracts
	if c.Created != 0 || c.Updated != 0 || c.NotApplied != 0 || c.Rejected != first.Summary.Contracts.Rejected {
		t.Errorf("second import changed contracts: %+v, expected none created, updated or not applied", c)
	}
	l := second.Summary.Leads
	if l.Created != 0 || l.Updated != 0 || l.Closed != 0 {
		t.Errorf("second import changed leads: %+v, expected no change", l)
	}
	for _, file := range second.Summary.Files {
		if file.Imported != 0 || file.Updated != 0 {
			t.Errorf("second import wrote rows of %s: %+v, expected every row unchanged or rejected", file.File, file)
		}
	}
	if second.Started != 0 {
		t.Errorf("second import started %d chains, expected none", second.Started)
	}
	if second.LeadsStarted != 0 {
		t.Errorf("second import started %d lead workflows, expected none", second.LeadsStarted)
	}

	// Give a chain that the second import might have started wrongly
	// time to create its first document.
	time.Sleep(3 * time.Second)
	if summary := getSummary(t, s.API); summary.Total != sampleWonDeals || closedCount(summary) != sampleWonDeals {
		t.Errorf("after the second import %d of %d contracts are closed (by state: %s), expected all %d",
			closedCount(summary), summary.Total, formatCounts(summary), sampleWonDeals)
	}
	if after := readLedger(t, s.DataDir); len(after) != len(ledger) {
		t.Errorf("ledger grew from %d to %d documents after the second import", len(ledger), len(after))
	}
}

// importExport uploads the four files of a CRM export to the API, as
// `ordo import crm` does, and returns the final event of the answer.
func importExport(t testing.TB, c *apiclient.Client, dir string) api.ImportEvent {
	t.Helper()
	body, contentType := multipartExport(dir)
	var final *api.ImportEvent
	err := c.Stream(context.Background(), "/api/v1/imports/crm", contentType, body, func(line []byte) error {
		var event api.ImportEvent
		if err := json.Unmarshal(line, &event); err != nil {
			return fmt.Errorf("decode import event %s: %w", line, err)
		}
		switch event.Type {
		case "summary":
			final = &event
		case "error":
			return fmt.Errorf("import failed: %s", event.Error.Message)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	if final == nil || final.Summary == nil {
		t.Fatalf("import %s ended without a summary event", dir)
	}
	return *final
}

// multipartExport streams the export's files as multipart/form-data.
func multipartExport(dir string) (io.Reader, string) {
	reader, writer := io.Pipe()
	form := multipart.NewWriter(writer)
	go func() {
		for _, name := range crmimport.Files {
			part, err := form.CreateFormFile(name, name)
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
			file, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
			_, err = io.Copy(part, file)
			_ = file.Close()
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
		}
		_ = writer.CloseWithError(form.Close())
	}()
	return reader, form.FormDataContentType()
}

// listContractNumbers pages through every contract of the API.
func listContractNumbers(t testing.TB, c *apiclient.Client) []string {
	t.Helper()
	var numbers []string
	after := ""
	for {
		var page api.ContractList
		if err := c.Get(context.Background(), "/api/v1/contracts", url.Values{"limit": {"1000"}, "after": {after}}, &page); err != nil {
			t.Fatalf("list contracts: %v", err)
		}
		for _, contract := range page.Contracts {
			numbers = append(numbers, contract.ContractNo)
		}
		if page.Next == "" {
			return numbers
		}
		after = page.Next
	}
}

// verifyHeldChains records, as each chain's verifier would, the phone
// verification of every chain held because three reps closed deals with
// its account on one day, until ctx ends. It returns how many it released.
// It runs beside the test, so it logs failures instead of failing.
func verifyHeldChains(ctx context.Context, t testing.TB, c *apiclient.Client) int {
	released := 0
	for ctx.Err() == nil {
		var answer struct {
			Items []store.AttentionItem `json:"items"`
		}
		query := url.Values{"kind": {store.AttentionSigningVerification}}
		if err := c.Get(ctx, "/api/v1/attention", query, &answer); err != nil && ctx.Err() == nil {
			t.Logf("list held chains: %v", err)
		}
		for _, item := range answer.Items {
			var view api.ContractView
			if err := c.Get(ctx, "/api/v1/contracts/"+item.ContractNo, nil, &view); err != nil {
				t.Logf("read held contract %s: %v", item.ContractNo, err)
				continue
			}
			if view.Live == nil || view.Live.Verification == nil || !view.Live.Verification.Waiting {
				continue
			}
			v := view.Live.Verification
			request := api.VerifyPhoneRequest{By: v.Verifier, Note: "confirmed by the slow test"}
			if err := c.Post(ctx, "/api/v1/contracts/"+item.ContractNo+"/verify-phone", request, nil); err != nil {
				t.Logf("verify held contract %s: %v", item.ContractNo, err)
				continue
			}
			released++
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return released
}
