package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/store"
)

// sampleExport is the public sample CRM export the importer is built for.
const sampleExport = "../../testdata/crm-sales-opportunities"

// Counts of the sample export, from its SOURCE.md and a count of its
// deal_stage column.
const (
	samplePipelineRows = 8800
	sampleWonDeals     = 4238
)

// uploadPart is one part of a multipart upload.
type uploadPart struct {
	formName string
	fileName string
	content  []byte
}

// readSampleExport returns the four files of the sample export as parts
// named after their files.
func readSampleExport(t *testing.T) []uploadPart {
	t.Helper()
	if _, err := os.Stat(sampleExport); err != nil {
		t.Skipf("sample export not available: %v", err)
	}
	parts := make([]uploadPart, 0, len(crmimport.Files))
	for _, name := range crmimport.Files {
		data, err := os.ReadFile(filepath.Join(sampleExport, name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		parts = append(parts, uploadPart{formName: name, fileName: name, content: data})
	}
	return parts
}

// postUpload posts the parts as multipart/form-data to the import route.
func postUpload(t *testing.T, ts *testServer, parts []uploadPart) response {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for _, p := range parts {
		var w interface{ Write([]byte) (int, error) }
		var err error
		if p.fileName == "" {
			w, err = form.CreateFormField(p.formName)
		} else {
			w, err = form.CreateFormFile(p.formName, p.fileName)
		}
		if err != nil {
			t.Fatalf("create part %s: %v", p.formName, err)
		}
		if _, err := w.Write(p.content); err != nil {
			t.Fatalf("write part %s: %v", p.formName, err)
		}
	}
	if err := form.Close(); err != nil {
		t.Fatalf("close multipart body: %v", err)
	}
	return ts.do(http.MethodPost, "/api/v1/imports/crm", body.Bytes(), http.Header{"Content-Type": {form.FormDataContentType()}})
}

// importEvents decodes the NDJSON response of an import, one event a line.
func importEvents(t *testing.T, resp response) []ImportEvent {
	t.Helper()
	if resp.status != http.StatusOK {
		t.Fatalf("import: status %d, expected 200; body %s", resp.status, resp.body)
	}
	if got := resp.header.Get("Content-Type"); got != "application/x-ndjson" {
		t.Errorf("content type = %q, expected application/x-ndjson", got)
	}
	var events []ImportEvent
	scanner := bufio.NewScanner(bytes.NewReader(resp.body))
	scanner.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for scanner.Scan() {
		var event ImportEvent
		if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
			t.Fatalf("line %d of the response is not an event: %v: %.200s", len(events)+1, err, scanner.Bytes())
		}
		events = append(events, event)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read response lines: %v", err)
	}
	if len(events) == 0 {
		t.Fatalf("the response has no events")
	}
	return events
}

// finalSummary checks that the last event is a summary and that only
// progress events come before it, and returns it.
func finalSummary(t *testing.T, events []ImportEvent) ImportEvent {
	t.Helper()
	last := events[len(events)-1]
	if last.Type != "summary" || last.Summary == nil {
		t.Fatalf("last event = %+v, expected a summary", last)
	}
	for i, event := range events[:len(events)-1] {
		if event.Type != "progress" || event.Progress == nil {
			t.Fatalf("event %d = %+v, expected progress before the summary", i+1, event)
		}
		if p := event.Progress; p.Done < 0 || p.Done > p.Total {
			t.Errorf("event %d: phase %s done %d of %d", i+1, p.Phase, p.Done, p.Total)
		}
	}
	return last
}

// phasesOf returns the progress phases in the order they first appear.
func phasesOf(events []ImportEvent) []string {
	var phases []string
	for _, event := range events {
		if event.Progress == nil {
			continue
		}
		if len(phases) == 0 || phases[len(phases)-1] != event.Progress.Phase {
			phases = append(phases, event.Progress.Phase)
		}
	}
	return phases
}

// checkFilesAddUp checks that every file's outcomes add up to its rows.
func checkFilesAddUp(t *testing.T, summary *crmimport.Summary) {
	t.Helper()
	for _, f := range summary.Files {
		if sum := f.Imported + f.Updated + f.Unchanged + f.Rejected; sum != f.Rows {
			t.Errorf("%s: imported %d + updated %d + unchanged %d + rejected %d = %d, expected the %d rows read",
				f.File, f.Imported, f.Updated, f.Unchanged, f.Rejected, sum, f.Rows)
		}
	}
}

// countingStarter marks pending contracts started in the store without
// starting workflows, and counts what it was asked to do.
//
// The import tests use it in place of chains.Starter because starting the
// 4,238 workflows of the sample export on the embedded Temporal server took
// 31 s in one measured run, several times the rest of the package.
// TestContractSignedFlow covers the real starter.
type countingStarter struct {
	store *store.Store

	mu      sync.Mutex
	kicks   int
	started []string
}

func (c *countingStarter) Kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kicks++
}

func (c *countingStarter) Start(ctx context.Context, contract *store.Contract, _ *store.Account) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = append(c.started, contract.ContractNo)
	return nil
}

func (c *countingStarter) StartPendingWithProgress(ctx context.Context, progress func(started int)) (int, error) {
	total := 0
	for {
		pending, err := c.store.UnstartedContracts(ctx, 500)
		if err != nil || len(pending) == 0 {
			return total, err
		}
		numbers := contractNumbers(pending)
		if err := c.store.MarkWorkflowsStarted(ctx, numbers, testNow); err != nil {
			return total, err
		}
		c.mu.Lock()
		c.started = append(c.started, numbers...)
		c.mu.Unlock()
		total += len(numbers)
		progress(total)
	}
}

func (c *countingStarter) startedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.started)
}

func TestImportSampleExport(t *testing.T) {
	parts := readSampleExport(t)
	var starter *countingStarter
	ts := newTestServer(t, "sqlite", func(s *Server) {
		starter = &countingStarter{store: s.Store}
		s.Contracts = starter
	})
	ctx := context.Background()

	first := finalSummary(t, importEvents(t, postUpload(t, ts, parts)))
	summary := first.Summary
	if summary.Status != store.ImportStatusSucceeded {
		t.Errorf("status = %s, expected succeeded; error %q", summary.Status, summary.Error)
	}
	pipeline := summary.File(crmimport.FilePipeline)
	if pipeline == nil {
		t.Fatalf("summary has no %s: %+v", crmimport.FilePipeline, summary.Files)
	}
	if pipeline.Rows != samplePipelineRows || pipeline.Imported != samplePipelineRows {
		t.Errorf("pipeline rows %d, imported %d; expected %d of each", pipeline.Rows, pipeline.Imported, samplePipelineRows)
	}
	checkFilesAddUp(t, summary)
	if summary.Contracts.Created != sampleWonDeals || summary.Contracts.Rejected != 0 {
		t.Errorf("contracts created %d, rejected %d; expected %d and 0", summary.Contracts.Created, summary.Contracts.Rejected, sampleWonDeals)
	}
	if summary.Errors != 0 {
		t.Errorf("%d errors in the sample export, expected none", summary.Errors)
	}
	if summary.Errors+summary.Warnings != len(summary.Issues) {
		t.Errorf("errors %d + warnings %d != %d issues", summary.Errors, summary.Warnings, len(summary.Issues))
	}
	if first.Started != sampleWonDeals || starter.startedCount() != sampleWonDeals {
		t.Errorf("workflows_started = %d, starter asked for %d; expected %d", first.Started, starter.startedCount(), sampleWonDeals)
	}

	events := importEvents(t, postUpload(t, ts, parts))
	expectedPhases := []string{crmimport.PhaseRead, crmimport.PhaseMasterData, crmimport.PhasePipeline}
	if got := phasesOf(events); !hasPrefix(got, expectedPhases) {
		t.Errorf("phases of the second import = %v, expected to start with %v", got, expectedPhases)
	}
	stored, err := store.GetImportRun(ctx, ts.store.DB, summary.RunID)
	if err != nil {
		t.Fatalf("read import run %s: %v", summary.RunID, err)
	}
	if stored.Status != store.ImportStatusSucceeded {
		t.Errorf("stored run status = %s, expected succeeded", stored.Status)
	}
	resp := ts.do(http.MethodGet, "/api/v1/imports/"+summary.RunID, nil, nil)
	if resp.status != http.StatusOK || !strings.Contains(string(resp.body), summary.RunID) {
		t.Errorf("show import run: status %d, body %.300s; expected 200 naming %s", resp.status, resp.body, summary.RunID)
	}

	second := finalSummary(t, events)
	checkFilesAddUp(t, second.Summary)
	for _, f := range second.Summary.Files {
		if f.Unchanged != f.Rows {
			t.Errorf("second import of %s: %d of %d rows unchanged, expected all (imported %d, updated %d, rejected %d)",
				f.File, f.Unchanged, f.Rows, f.Imported, f.Updated, f.Rejected)
		}
	}
	if c := second.Summary.Contracts; c.Created != 0 || c.Updated != 0 || c.Unchanged != sampleWonDeals {
		t.Errorf("second import contracts = %+v, expected %d unchanged", c, sampleWonDeals)
	}
	if second.Started != 0 || starter.startedCount() != sampleWonDeals {
		t.Errorf("second import: workflows_started %d, starter asked for %d in all; expected no new chain", second.Started, starter.startedCount())
	}
	for _, event := range events {
		if event.Progress != nil && event.Progress.Phase == PhaseStartChains {
			t.Errorf("second import reports progress of starting chains: %+v", event.Progress)
			break
		}
	}
	counts := rowCounts(t, ts.store)
	expectCounts(t, counts, map[string]int{"contracts": sampleWonDeals, "payment_instalments": 2 * sampleWonDeals,
		"opportunities": samplePipelineRows, "import_runs": 2})
}

func hasPrefix(items, prefix []string) bool {
	return len(items) >= len(prefix) && strings.Join(items[:len(prefix)], ",") == strings.Join(prefix, ",")
}

// TestImportInvalidUploads sends uploads that must be rejected before
// the import writes anything.
func TestImportInvalidUploads(t *testing.T) {
	sample := readSampleExport(t)
	var starter *countingStarter
	ts := newTestServer(t, "sqlite", func(s *Server) {
		starter = &countingStarter{store: s.Store}
		s.Contracts = starter
	})
	without := func(file string) []uploadPart {
		var parts []uploadPart
		for _, p := range sample {
			if p.formName != file {
				parts = append(parts, p)
			}
		}
		return parts
	}
	renamed := func(file, formName, fileName string) []uploadPart {
		parts := without(file)
		for _, p := range sample {
			if p.formName == file {
				parts = append(parts, uploadPart{formName: formName, fileName: fileName, content: p.content})
			}
		}
		return parts
	}

	cases := []struct {
		name   string
		parts  []uploadPart
		status int
		code   string
		words  []string
	}{
		{"pipeline missing", without(crmimport.FilePipeline), http.StatusBadRequest, "invalid_export",
			[]string{crmimport.FilePipeline, crmimport.FileAccounts}},
		{"no files", nil, http.StatusBadRequest, "invalid_export",
			[]string{crmimport.FileAccounts, crmimport.FileProducts, crmimport.FileSalesTeams, crmimport.FilePipeline}},
		{"misnamed file", renamed(crmimport.FileAccounts, "account.csv", "account.csv"), http.StatusBadRequest, "invalid_export",
			[]string{`"account.csv"`, crmimport.FileAccounts}},
		{"extra form field", append(slices.Clone(sample), uploadPart{formName: "dry_run", content: []byte("true")}), http.StatusBadRequest, "invalid_export",
			[]string{`"dry_run"`}},
		{"file sent twice", append(slices.Clone(sample), sample[0]), http.StatusBadRequest, "invalid_export",
			[]string{crmimport.FileAccounts, "twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			postUpload(t, ts, tc.parts).expectError(t, tc.status, tc.code, tc.words...)
			expectCounts(t, rowCounts(t, ts.store), map[string]int{"import_runs": 0, "contracts": 0, "accounts": 0})
		})
	}

	t.Run("not multipart", func(t *testing.T) {
		ts.postJSON("/api/v1/imports/crm", map[string]string{"dir": "/tmp/export"}).
			expectError(t, http.StatusBadRequest, "invalid_argument", "multipart/form-data")
	})

	t.Run("wrong header", func(t *testing.T) {
		parts := without(crmimport.FileProducts)
		parts = append(parts, uploadPart{formName: crmimport.FileProducts, fileName: crmimport.FileProducts,
			content: []byte("product,price\nGTX Basic,550\n")})
		events := importEvents(t, postUpload(t, ts, parts))
		last := events[len(events)-1]
		if last.Type != "error" || last.Error == nil {
			t.Fatalf("last event = %+v, expected an error", last)
		}
		if last.Error.Code != "invalid_export" || !strings.Contains(last.Error.Message, crmimport.FileProducts) ||
			!strings.Contains(last.Error.Message, "series") {
			t.Errorf("error = %+v, expected invalid_export naming %s and the column series", last.Error, crmimport.FileProducts)
		}
		expectCounts(t, rowCounts(t, ts.store), map[string]int{"import_runs": 0, "contracts": 0, "accounts": 0})
	})

	// A file saved under another name is accepted when its form name is
	// the export file it is.
	t.Run("form name is the file", func(t *testing.T) {
		parts := renamed(crmimport.FileAccounts, crmimport.FileAccounts, "accounts-2017-12.csv")
		summary := finalSummary(t, importEvents(t, postUpload(t, ts, parts)))
		if summary.Summary.Contracts.Created != sampleWonDeals {
			t.Errorf("contracts created = %d, expected %d", summary.Summary.Contracts.Created, sampleWonDeals)
		}
	})
	if n := starter.startedCount(); n != sampleWonDeals {
		t.Errorf("starter asked for %d chains, expected %d of the one accepted upload", n, sampleWonDeals)
	}
}

func TestImportUploadTooLarge(t *testing.T) {
	saved := maxUploadBytes
	maxUploadBytes = 1 << 20
	t.Cleanup(func() { maxUploadBytes = saved })
	ts := newTestServer(t, "sqlite", nil)
	parts := []uploadPart{{formName: crmimport.FileAccounts, fileName: crmimport.FileAccounts,
		content: bytes.Repeat([]byte("Acme Corporation,technology,1996,1100.04,2822,United States,\n"), 20000)}}
	postUpload(t, ts, parts).expectError(t, http.StatusRequestEntityTooLarge, "too_large", "1 MiB")
	expectCounts(t, rowCounts(t, ts.store), map[string]int{"import_runs": 0, "accounts": 0})
}

func TestImportRunUnknown(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ts.do(http.MethodGet, "/api/v1/imports/crm-20261204T100000Z-00000000", nil, nil).
		expectError(t, http.StatusNotFound, "not_found", "crm-20261204T100000Z-00000000")
}
