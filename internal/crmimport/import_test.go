package crmimport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// Counts of the sample export, from its SOURCE.md and a count of its
// deal_stage column.
const (
	realOpportunities = 8800
	realWon           = 4238
	realOpen          = 2089 // 1,589 Engaging and 500 Prospecting
	realLost          = 2473
)

func countRows(t *testing.T, s *store.Store, model any) int {
	t.Helper()
	n, err := s.DB.NewSelect().Model(model).Count(context.Background())
	if err != nil {
		t.Fatalf("count %T: %v", model, err)
	}
	return int(n)
}

// lineCounts returns the number of lines of each export file.
func lineCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, file := range Files {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		counts[file] = bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			counts[file]++
		}
	}
	return counts
}

func checkFilesAddUp(t *testing.T, summary *Summary) {
	t.Helper()
	for _, f := range summary.Files {
		if sum := f.Imported + f.Updated + f.Unchanged + f.Rejected; sum != f.Rows {
			t.Errorf("%s: imported %d + updated %d + unchanged %d + rejected %d = %d, expected the %d rows read",
				f.File, f.Imported, f.Updated, f.Unchanged, f.Rejected, sum, f.Rows)
		}
	}
}

func TestImportRealExport(t *testing.T) {
	if _, err := os.Stat(realExport); err != nil {
		t.Skipf("sample export not available: %v", err)
	}
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		opts := testOptions()

		started := time.Now()
		first, err := Import(ctx, s, DirSource(realExport), opts)
		if err != nil {
			t.Fatalf("first import: %v", err)
		}
		t.Logf("first import took %s on %s", time.Since(started), s.DB.Dialect().Name())

		if got := first.File(FilePipeline).Rows; got != realOpportunities {
			t.Errorf("pipeline rows = %d, expected %d", got, realOpportunities)
		}
		if first.Contracts.Created != realWon {
			t.Errorf("contracts created = %d, expected %d; rejected %d", first.Contracts.Created, realWon, first.Contracts.Rejected)
		}
		if first.Leads.Created != realOpen {
			t.Errorf("leads created = %d, expected %d", first.Leads.Created, realOpen)
		}
		if first.LostDealsStored != realLost {
			t.Errorf("lost deals stored = %d, expected %d", first.LostDealsStored, realLost)
		}
		if first.Errors != 0 {
			var errorIssues []Issue
			for _, issue := range first.Issues {
				if issue.Severity == SeverityError {
					errorIssues = append(errorIssues, issue)
				}
			}
			t.Errorf("errors = %d, expected none in the sample export; the first ones:%s", first.Errors, describeIssues(errorIssues[:min(10, len(errorIssues))]))
		}
		checkFilesAddUp(t, first)
		for _, f := range first.Files {
			if f.Imported != f.Rows {
				t.Errorf("%s: imported %d of %d rows into an empty database", f.File, f.Imported, f.Rows)
			}
		}

		if got := countRows(t, s, (*store.Opportunity)(nil)); got != realOpportunities {
			t.Errorf("stored opportunities = %d, expected %d", got, realOpportunities)
		}
		if got := countRows(t, s, (*store.Contract)(nil)); got != realWon {
			t.Errorf("stored contracts = %d, expected %d", got, realWon)
		}
		if got := countRows(t, s, (*store.PaymentInstalment)(nil)); got != realWon*len(opts.Plan) {
			t.Errorf("stored instalments = %d, expected %d", got, realWon*len(opts.Plan))
		}
		if got := countRows(t, s, (*store.Lead)(nil)); got != realOpen {
			t.Errorf("stored leads = %d, expected %d", got, realOpen)
		}
		if got := countRows(t, s, (*store.Account)(nil)); got != 85 {
			t.Errorf("stored accounts = %d, expected 85", got)
		}

		checkIssueLines(t, first.Issues)
		checkKnownDefects(t, first.Issues)
		checkStoredRun(t, s, first)
		checkInstalmentsAddUp(t, s)

		second, err := Import(ctx, s, DirSource(realExport), opts)
		if err != nil {
			t.Fatalf("second import: %v", err)
		}
		checkFilesAddUp(t, second)
		for _, f := range second.Files {
			if f.Imported != 0 || f.Updated != 0 {
				t.Errorf("second import of %s: imported %d, updated %d, expected everything unchanged", f.File, f.Imported, f.Updated)
			}
		}
		if second.Contracts.Created != 0 || second.Contracts.Updated != 0 || second.Contracts.Unchanged != realWon {
			t.Errorf("second import contracts = %+v, expected all %d unchanged", second.Contracts, realWon)
		}
		if second.Leads.Created != 0 || second.Leads.Updated != 0 || second.Leads.Closed != 0 {
			t.Errorf("second import leads = %+v, expected all unchanged", second.Leads)
		}
		if second.LostDealsStored != 0 {
			t.Errorf("second import stored %d lost deals, expected 0", second.LostDealsStored)
		}
		if got := countRows(t, s, (*store.Contract)(nil)); got != realWon {
			t.Errorf("stored contracts after the second import = %d, expected %d", got, realWon)
		}
		if len(second.Issues) != len(first.Issues) {
			t.Errorf("second import reported %d issues, the first %d", len(second.Issues), len(first.Issues))
		}
	})
}

// checkIssueLines checks that every issue points to a line of its file.
func checkIssueLines(t *testing.T, issues []Issue) {
	t.Helper()
	lines := lineCounts(t, realExport)
	for _, issue := range issues {
		if issue.Line < 1 || issue.Line > lines[issue.File] {
			t.Errorf("issue points to %s line %d, outside 1..%d: %s", issue.File, issue.Line, lines[issue.File], issue.Message)
		}
		if issue.Column != "" && !slices.Contains(headers[issue.File], issue.Column) {
			t.Errorf("issue names column %q, which %s does not have", issue.Column, issue.File)
		}
	}
}

// checkKnownDefects checks the defects of the sample export found while
// writing the importer, by class.
func checkKnownDefects(t *testing.T, issues []Issue) {
	t.Helper()
	type class struct {
		file, column, value string
		action              Action
	}
	got := map[class]int{}
	for _, issue := range issues {
		got[class{issue.File, issue.Column, issue.Value, issue.Action}]++
	}
	want := map[class]int{
		{FilePipeline, "product", "GTXPro", ActionCorrected}:             1480,
		{FilePipeline, "account", "", ActionKept}:                        1425,
		{FilePipeline, "engage_date", "", ActionDefaulted}:               500,
		{FileAccounts, "sector", "technolgy", ActionCorrected}:           12,
		{FileAccounts, "office_location", "Philipines", ActionCorrected}: 1,
		{FileAccounts, "office_location", "Korea", ActionKept}:           1,
		{FileAccounts, "account", "dambase", ActionKept}:                 1,
		{FileAccounts, "year_established", "2017", ActionKept}:           1,
	}
	for c, n := range want {
		if got[c] != n {
			t.Errorf("%s %s %q %s: %d issues, expected %d", c.file, c.column, c.value, c.action, got[c], n)
		}
	}
	if total := len(issues); total != 3421 {
		t.Errorf("%d issues, expected the 3421 of the classes above", total)
	}
}

func checkStoredRun(t *testing.T, s *store.Store, summary *Summary) {
	t.Helper()
	ctx := context.Background()
	run, err := store.GetImportRun(ctx, s.DB, summary.RunID)
	if err != nil {
		t.Fatalf("read import run: %v", err)
	}
	if run.Status != store.ImportStatusSucceeded || run.Kind != RunKind || run.FinishedAt == nil {
		t.Errorf("stored run = status %s, kind %s, finished %v; expected a finished, succeeded crm run", run.Status, run.Kind, run.FinishedAt)
	}
	var stored Summary
	if err := json.Unmarshal([]byte(run.Summary), &stored); err != nil {
		t.Fatalf("decode stored summary: %v", err)
	}
	if stored.Contracts != summary.Contracts || !slices.Equal(stored.Files, summary.Files) {
		t.Errorf("stored summary = %+v %+v, expected %+v %+v", stored.Contracts, stored.Files, summary.Contracts, summary.Files)
	}
	issues, err := store.ListImportIssues(ctx, s.DB, summary.RunID, 0, 0)
	if err != nil {
		t.Fatalf("read import issues: %v", err)
	}
	if len(issues) != len(summary.Issues) {
		t.Fatalf("stored %d issues, summary has %d", len(issues), len(summary.Issues))
	}
	first := issues[0]
	if first.File != summary.Issues[0].File || first.Line != summary.Issues[0].Line || first.Message != summary.Issues[0].Message {
		t.Errorf("first stored issue = %+v, expected %+v", first, summary.Issues[0])
	}
}

// checkInstalmentsAddUp checks that every contract's instalments add up to
// its amount exactly.
func checkInstalmentsAddUp(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	var contracts []store.Contract
	if err := s.DB.NewSelect().Model(&contracts).Scan(ctx); err != nil {
		t.Fatalf("read contracts: %v", err)
	}
	var instalments []store.PaymentInstalment
	if err := s.DB.NewSelect().Model(&instalments).Scan(ctx); err != nil {
		t.Fatalf("read instalments: %v", err)
	}
	sums := map[string]decimal.Decimal{}
	for _, inst := range instalments {
		sums[inst.ContractNo] = sums[inst.ContractNo].Add(inst.Amount)
	}
	for _, c := range contracts {
		if !sums[c.ContractNo].Equal(c.Amount) {
			t.Errorf("contract %s: instalments add up to %s, amount is %s", c.ContractNo, sums[c.ContractNo], c.Amount)
		}
		if !c.TaxRate.Equal(decimal.RequireFromString("0.17")) {
			t.Errorf("contract %s signed %s: tax rate %s, expected 0.17", c.ContractNo, c.SignedOn.Format(time.DateOnly), c.TaxRate)
		}
		if c.WorkflowStartedAt != nil || c.State != store.ContractSigned || c.Source != store.SourceCRMImport {
			t.Errorf("contract %s: state %s, source %s, workflow started %v; expected an unstarted signed crm_import contract",
				c.ContractNo, c.State, c.Source, c.WorkflowStartedAt)
		}
	}
}

// TestImportSpeed checks the import of the sample export into SQLite
// against the 5-second budget, on whatever machine runs the tests.
func TestImportSpeed(t *testing.T) {
	if _, err := os.Stat(realExport); err != nil {
		t.Skipf("sample export not available: %v", err)
	}
	if testing.Short() || raceEnabled {
		t.Skip("timing test skipped in -short mode and under the race detector")
	}
	s := storetest.Open(t, "sqlite")
	started := time.Now()
	if _, err := Import(context.Background(), s, DirSource(realExport), testOptions()); err != nil {
		t.Fatalf("import: %v", err)
	}
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Errorf("import of %d rows took %s, expected under 5s", realOpportunities, elapsed)
	}
}

// reimportPipeline is a pipeline for the re-import rules: two Won deals,
// an Engaging and a Prospecting one.
const reimportPipeline = pipelineHeader +
	"W1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600\n" +
	"W2,Moses Frase,GTX Pro,Acme Corporation,Won,2016-10-25,2017-03-11,4514\n" +
	"E1,Anna Snelling,GTX Basic,Bluth Company,Engaging,2017-05-02,,\n" +
	"P1,Anna Snelling,GTX Pro,,Prospecting,,,\n"

func importPipeline(t *testing.T, s *store.Store, pipeline string, now time.Time) *Summary {
	t.Helper()
	opts := testOptions()
	opts.Now = now
	summary, err := Import(context.Background(), s, readerSource(t, exportFiles(map[string]string{FilePipeline: pipeline})), opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	checkFilesAddUp(t, summary)
	return summary
}

func getContract(t *testing.T, s *store.Store, no string) store.Contract {
	t.Helper()
	var c store.Contract
	if err := s.DB.NewSelect().Model(&c).Where("contract_no = ?", no).Scan(context.Background()); err != nil {
		t.Fatalf("read contract %s: %v", no, err)
	}
	return c
}

func getLead(t *testing.T, s *store.Store, id string) store.Lead {
	t.Helper()
	var l store.Lead
	if err := s.DB.NewSelect().Model(&l).Where("opportunity_id = ?", id).Scan(context.Background()); err != nil {
		t.Fatalf("read lead %s: %v", id, err)
	}
	return l
}

func getInstalments(t *testing.T, s *store.Store, no string) []store.PaymentInstalment {
	t.Helper()
	var plan []store.PaymentInstalment
	if err := s.DB.NewSelect().Model(&plan).Where("contract_no = ?", no).Order("seq").Scan(context.Background()); err != nil {
		t.Fatalf("read instalments of %s: %v", no, err)
	}
	return plan
}

// TestImportChangedRows checks what a re-import does with rows the CRM
// changed: an unstarted contract is rewritten, a started one is reported
// and left alone, a lead whose deal was won is closed, and a lead keeps
// the assignment time it got from the first import.
func TestImportChangedRows(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		firstRun := importPipeline(t, s, reimportPipeline, testNow)
		if firstRun.Contracts.Created != 2 || firstRun.Leads.Created != 2 {
			t.Fatalf("first import created %d contracts and %d leads, expected 2 and 2", firstRun.Contracts.Created, firstRun.Leads.Created)
		}
		firstP1 := getLead(t, s, "P1")

		// The lead's workflow starter picks up W2 and a payment arrives.
		startedAt := testNow.Add(time.Hour)
		_, err := s.DB.NewUpdate().Model((*store.Contract)(nil)).
			Set("workflow_started_at = ?", startedAt).
			Set("state = ?", store.ContractInvoiced).
			Set("paid_amount = ?", decimal.RequireFromString("1354.20")).
			Where("contract_no = ?", "CT-W2").
			Exec(ctx)
		if err != nil {
			t.Fatalf("start contract CT-W2: %v", err)
		}

		changed := pipelineHeader +
			"W1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,700\n" + // new value
			"W2,Moses Frase,GTX Pro,Acme Corporation,Won,2016-10-25,2017-03-11,5000\n" + // new value, chain started
			"E1,Anna Snelling,GTX Basic,Bluth Company,Won,2017-05-02,2017-06-30,560\n" + // won since
			"P1,Moses Frase,GTX Pro,,Prospecting,,,\n" // reassigned
		later := testNow.Add(24 * time.Hour)
		second := importPipeline(t, s, changed, later)

		want := ContractCounts{Created: 1, Updated: 1, NotApplied: 1}
		if second.Contracts != want {
			t.Errorf("contracts = %+v, expected %+v", second.Contracts, want)
		}
		if second.Leads.Updated != 1 || second.Leads.Closed != 1 {
			t.Errorf("leads = %+v, expected 1 updated and 1 closed", second.Leads)
		}
		if got := second.File(FilePipeline).Updated; got != 4 {
			t.Errorf("pipeline rows updated = %d, expected 4", got)
		}

		w1 := getContract(t, s, "CT-W1")
		if !w1.Amount.Equal(decimal.NewFromInt(700)) || !w1.UnitPrice.Equal(decimal.NewFromInt(700)) {
			t.Errorf("CT-W1 amount %s, unit price %s; expected the new value 700", w1.Amount, w1.UnitPrice)
		}
		plan := getInstalments(t, s, "CT-W1")
		if len(plan) != 2 || !plan[0].Amount.Equal(decimal.NewFromInt(210)) || !plan[1].Amount.Equal(decimal.NewFromInt(490)) {
			t.Errorf("CT-W1 instalments = %+v, expected 210 and 490", plan)
		}

		w2 := getContract(t, s, "CT-W2")
		if !w2.Amount.Equal(decimal.NewFromInt(4514)) {
			t.Errorf("CT-W2 amount = %s, expected the old 4514 kept", w2.Amount)
		}
		if w2.State != store.ContractInvoiced || !w2.PaidAmount.Equal(decimal.RequireFromString("1354.20")) ||
			w2.WorkflowStartedAt == nil || !w2.WorkflowStartedAt.Equal(startedAt) {
			t.Errorf("CT-W2 state %s, paid %s, started %v; expected invoiced, 1354.20, %s",
				w2.State, w2.PaidAmount, w2.WorkflowStartedAt, startedAt)
		}
		found := issuesAt(second.Issues, FilePipeline, 3, "opportunity_id")
		if len(found) != 1 || !strings.Contains(found[0].Message, "already in progress") || found[0].Severity != SeverityWarning {
			t.Errorf("expected one warning that CT-W2 is in progress on line 3; issues:%s", describeIssues(second.Issues))
		}

		if e1 := getContract(t, s, "CT-E1"); !e1.Amount.Equal(decimal.NewFromInt(560)) {
			t.Errorf("CT-E1 amount = %s, expected 560", e1.Amount)
		}
		if e1 := getLead(t, s, "E1"); e1.State != store.LeadClosed {
			t.Errorf("lead E1 state = %s, expected closed after the deal was won", e1.State)
		}

		p1 := getLead(t, s, "P1")
		if p1.SalesAgent != "Moses Frase" {
			t.Errorf("lead P1 agent = %s, expected the new rep Moses Frase", p1.SalesAgent)
		}
		if !p1.AssignedAt.Equal(firstP1.AssignedAt) || !p1.CreatedAt.Equal(firstP1.CreatedAt) {
			t.Errorf("lead P1 assigned %s created %s, expected the first import's %s and %s",
				p1.AssignedAt, p1.CreatedAt, firstP1.AssignedAt, firstP1.CreatedAt)
		}

		// The started contract's change is reported on every run until
		// someone resolves it; nothing else changes.
		third := importPipeline(t, s, changed, later.Add(time.Hour))
		if want := (ContractCounts{Unchanged: 2, NotApplied: 1}); third.Contracts != want {
			t.Errorf("third import contracts = %+v, expected %+v", third.Contracts, want)
		}
		if got := third.File(FilePipeline).Unchanged; got != 4 {
			t.Errorf("third import: %d pipeline rows unchanged, expected 4", got)
		}
	})
}

// TestImportWonDealLost checks that a contract whose deal the CRM now
// lists as Lost is reported and left as it is.
func TestImportWonDealLost(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	importPipeline(t, s, reimportPipeline, testNow)
	lost := strings.Replace(reimportPipeline, "W1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600",
		"W1,Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0", 1)
	summary := importPipeline(t, s, lost, testNow.Add(time.Hour))

	found := issuesAt(summary.Issues, FilePipeline, 2, "deal_stage")
	if len(found) != 1 || !strings.Contains(found[0].Message, "CT-W1") {
		t.Errorf("expected a warning about contract CT-W1 on line 2; issues:%s", describeIssues(summary.Issues))
	}
	if c := getContract(t, s, "CT-W1"); c.State != store.ContractSigned || !c.Amount.Equal(decimal.NewFromInt(600)) {
		t.Errorf("CT-W1 = state %s amount %s, expected it unchanged", c.State, c.Amount)
	}
	if summary.LostDealsStored != 1 {
		t.Errorf("lost deals stored = %d, expected 1", summary.LostDealsStored)
	}
}

// TestImportWithoutTaxRate checks that a configuration without a VAT rate
// for the signing date rejects the contracts but keeps the opportunities,
// and that importing again with a fixed configuration creates them.
func TestImportWithoutTaxRate(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	opts := testOptions()
	// Only the goods rate from 2018-05 on: the 2017 deals have no rate.
	opts.Tax = config.Default().Tax
	opts.Tax.Rates = []config.TaxRate{{Category: "goods", Rate: decimal.RequireFromString("0.16"),
		From: config.Date{Time: time.Date(2018, 5, 1, 0, 0, 0, 0, time.UTC)}}}
	src := readerSource(t, exportFiles(map[string]string{FilePipeline: reimportPipeline}))
	summary, err := Import(context.Background(), s, src, opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if summary.Contracts.Rejected != 2 || summary.Contracts.Created != 0 {
		t.Errorf("contracts = %+v, expected 2 rejected", summary.Contracts)
	}
	found := issuesAt(summary.Issues, FilePipeline, 2, "close_date")
	if len(found) != 1 || found[0].Action != ActionRejected || !strings.Contains(found[0].Message, "tax.rates") {
		t.Errorf("expected the missing rate reported on line 2; issues:%s", describeIssues(summary.Issues))
	}
	if got := countRows(t, s, (*store.Opportunity)(nil)); got != 4 {
		t.Errorf("stored opportunities = %d, expected all 4", got)
	}

	fixed := importPipeline(t, s, reimportPipeline, testNow.Add(time.Hour))
	if fixed.Contracts.Created != 2 {
		t.Errorf("import with the rate created %d contracts, expected 2", fixed.Contracts.Created)
	}
	if got := fixed.File(FilePipeline).Updated; got != 2 {
		t.Errorf("pipeline rows updated = %d, expected the 2 Won rows", got)
	}
}

func TestImportProgress(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	opts := testOptions()
	var reports []Progress
	opts.Progress = func(p Progress) { reports = append(reports, p) }
	if _, err := Import(context.Background(), s, readerSource(t, exportFiles(nil)), opts); err != nil {
		t.Fatalf("import: %v", err)
	}
	phases := []string{PhaseRead, PhaseMasterData, PhasePipeline, PhaseRecord}
	last := map[string]Progress{}
	order := []string{}
	for _, p := range reports {
		if prev, ok := last[p.Phase]; ok && p.Done < prev.Done {
			t.Errorf("%s went back from %d to %d", p.Phase, prev.Done, p.Done)
		}
		if p.Done > p.Total {
			t.Errorf("%s reported %d of %d", p.Phase, p.Done, p.Total)
		}
		if len(order) == 0 || order[len(order)-1] != p.Phase {
			order = append(order, p.Phase)
		}
		last[p.Phase] = p
	}
	if !slices.Equal(order, phases) {
		t.Errorf("phases ran in the order %v, expected %v", order, phases)
	}
	for _, phase := range phases {
		if p := last[phase]; p.Done != p.Total {
			t.Errorf("%s ended at %d of %d", phase, p.Done, p.Total)
		}
	}
}

func TestImportInvalidOptions(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	cases := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"lower-case currency", func(o *Options) { o.Currency = "usd" }, `currency: "usd"`},
		{"currency without exchange rate", func(o *Options) { o.Currency = "EUR" }, `"EUR" has no exchange rate`},
		{"no payment plan", func(o *Options) { o.Plan = nil }, "no instalments"},
		{"ratios not adding up", func(o *Options) { o.Plan[1].Ratio = decimal.RequireFromString("0.6") }, "add up to 0.9"},
		{"unknown trigger", func(o *Options) { o.Plan[0].Trigger = "invoice" }, `trigger "invoice"`},
		{"no tax rates", func(o *Options) { o.Tax = config.Tax{} }, "no VAT rates"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Plan = slices.Clone(opts.Plan)
			tc.change(&opts)
			_, err := Import(context.Background(), s, readerSource(t, exportFiles(nil)), opts)
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, expected ErrInvalidOptions saying %q", err, tc.want)
			}
		})
	}
	if got := countRows(t, s, (*store.ImportRun)(nil)); got != 0 {
		t.Errorf("invalid options recorded %d import runs, expected none", got)
	}
}

// TestImportCancelled checks that a cancelled import is recorded as failed
// and returns the context's error.
func TestImportCancelled(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions()
	opts.Progress = func(p Progress) {
		if p.Phase == PhasePipeline {
			cancel()
		}
	}
	summary, err := Import(ctx, s, readerSource(t, exportFiles(nil)), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, expected context.Canceled", err)
	}
	if summary == nil || summary.Status != store.ImportStatusFailed {
		t.Fatalf("summary = %+v, expected a failed run", summary)
	}
	run, err := store.GetImportRun(context.Background(), s.DB, summary.RunID)
	if err != nil {
		t.Fatalf("read import run: %v", err)
	}
	if run.Status != store.ImportStatusFailed {
		t.Errorf("stored run status = %s, expected failed", run.Status)
	}
}

// TestImportLeadStates checks that an Engaging deal becomes a lead
// contacted at its engage date and a Prospecting deal an open lead
// assigned at the import time.
func TestImportLeadStates(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	importPipeline(t, s, reimportPipeline, testNow)

	engaging := getLead(t, s, "E1")
	engaged := time.Date(2017, 5, 2, 0, 0, 0, 0, time.UTC)
	if engaging.State != store.LeadContacted {
		t.Errorf("Engaging lead E1 state %s, expected contacted", engaging.State)
	}
	if engaging.FirstContactAt == nil || !engaging.FirstContactAt.Equal(engaged) {
		t.Errorf("Engaging lead E1 first contact %v, expected the engage date %s", engaging.FirstContactAt, engaged)
	}
	if !engaging.CreatedAt.Equal(testNow.UTC().Truncate(time.Microsecond)) {
		t.Errorf("Engaging lead E1 created %s, expected the import time %s", engaging.CreatedAt, testNow)
	}

	prospecting := getLead(t, s, "P1")
	if prospecting.State != store.LeadOpen || prospecting.FirstContactAt != nil {
		t.Errorf("Prospecting lead P1 state %s first contact %v, expected open and none", prospecting.State, prospecting.FirstContactAt)
	}
}
