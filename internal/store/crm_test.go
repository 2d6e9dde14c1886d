package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

var crmTestTime = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func TestUpsertAccountsKeepsCreatedAt(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		year := 1996
		account := store.Account{
			Name: "Acme Corporation", CustomerNo: "CUST-1", Sector: "technolgy", YearEstablished: &year,
			RevenueMUSD: decimal.NewNullDecimal(decimal.RequireFromString("1100.04")),
			ContentHash: "h1", CreatedAt: crmTestTime, UpdatedAt: crmTestTime,
		}
		if err := store.UpsertAccounts(ctx, s.DB, []store.Account{account}); err != nil {
			t.Fatalf("insert: %v", err)
		}

		later := crmTestTime.Add(time.Hour)
		account.Sector = "technology"
		account.ContentHash = "h2"
		account.CreatedAt = later
		account.UpdatedAt = later
		if err := store.UpsertAccounts(ctx, s.DB, []store.Account{account}); err != nil {
			t.Fatalf("update: %v", err)
		}

		var got store.Account
		if err := s.DB.NewSelect().Model(&got).Where("name = ?", account.Name).Scan(ctx); err != nil {
			t.Fatalf("read back: %v", err)
		}
		if got.Sector != "technology" || got.ContentHash != "h2" {
			t.Errorf("sector %q hash %q, expected the updated technology and h2", got.Sector, got.ContentHash)
		}
		if !got.CreatedAt.Equal(crmTestTime) || !got.UpdatedAt.Equal(later) {
			t.Errorf("created %s updated %s, expected created %s kept and updated %s", got.CreatedAt, got.UpdatedAt, crmTestTime, later)
		}
		if !got.RevenueMUSD.Valid || !got.RevenueMUSD.Decimal.Equal(decimal.RequireFromString("1100.04")) {
			t.Errorf("revenue = %v, expected 1100.04", got.RevenueMUSD)
		}

		hashes, err := store.AccountHashes(ctx, s.DB, []string{account.Name, "Nobody Inc"})
		if err != nil {
			t.Fatalf("read hashes: %v", err)
		}
		if len(hashes) != 1 || hashes[account.Name] != "h2" {
			t.Errorf("hashes = %v, expected only %s: h2", hashes, account.Name)
		}
	})
}

// TestOpportunityHashesManyKeys checks lookups of more keys than fit in
// one IN list.
func TestOpportunityHashesManyKeys(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 1200
		opportunities := make([]store.Opportunity, n)
		keys := make([]string, 0, n+1)
		for i := range opportunities {
			id := fmt.Sprintf("OPP%05d", i)
			day := time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)
			opportunities[i] = store.Opportunity{
				OpportunityID: id, SalesAgent: "Moses Frase", ProductName: "GTX Basic", DealStage: store.StageWon,
				CloseDate: &day, CloseValue: decimal.NewNullDecimal(decimal.NewFromInt(int64(i))),
				Currency: "USD", ContentHash: "h-" + id, CreatedAt: crmTestTime, UpdatedAt: crmTestTime,
			}
			keys = append(keys, id)
		}
		if err := store.UpsertOpportunities(ctx, s.DB, opportunities); err != nil {
			t.Fatalf("insert %d opportunities: %v", n, err)
		}
		hashes, err := store.OpportunityHashes(ctx, s.DB, append(keys, "MISSING"))
		if err != nil {
			t.Fatalf("read hashes: %v", err)
		}
		if len(hashes) != n {
			t.Fatalf("read %d hashes, expected %d", len(hashes), n)
		}
		if got := hashes["OPP01199"]; got != "h-OPP01199" {
			t.Errorf("hash of the last opportunity = %q, expected h-OPP01199", got)
		}
	})
}

func newContract(no, opportunityID string, amount int64) store.Contract {
	id := opportunityID
	return store.Contract{
		ContractNo: no, OpportunityID: &id, AccountName: "Acme Corporation", CustomerNo: "CUST-1",
		ProductName: "GTX Basic", ProductNo: "MAT-1", SalesAgent: "Moses Frase",
		Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(amount), Amount: decimal.NewFromInt(amount),
		Currency: "USD", TaxRate: decimal.RequireFromString("0.17"), TaxCode: "1090511990000000000",
		SignedOn: time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC), Source: store.SourceCRMImport, State: store.ContractSigned,
		PaidAmount: decimal.Zero, WorkflowID: "contract-to-cash-" + no, ContentHash: "h-" + no,
		CreatedAt: crmTestTime, UpdatedAt: crmTestTime,
	}
}

func newPlan(no string, amounts ...int64) []store.PaymentInstalment {
	plan := make([]store.PaymentInstalment, len(amounts))
	for i, amount := range amounts {
		plan[i] = store.PaymentInstalment{
			ContractNo: no, Seq: i + 1, Label: fmt.Sprintf("part %d", i+1), TriggerOn: store.TriggerSigning,
			Ratio: decimal.RequireFromString("0.5"), Amount: decimal.NewFromInt(amount), PaidAmount: decimal.Zero,
		}
	}
	return plan
}

func countInstalments(t *testing.T, s *store.Store, no string) int {
	t.Helper()
	n, err := s.DB.NewSelect().Model((*store.PaymentInstalment)(nil)).Where("contract_no = ?", no).Count(context.Background())
	if err != nil {
		t.Fatalf("count instalments of %s: %v", no, err)
	}
	return int(n)
}

func TestInsertContractsSkipsExisting(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inserted, err := store.InsertContracts(ctx, s.DB, []store.Contract{newContract("CT-A", "A", 600)}, newPlan("CT-A", 300, 300))
		if err != nil {
			t.Fatalf("insert CT-A: %v", err)
		}
		if !slices.Equal(inserted, []string{"CT-A"}) {
			t.Fatalf("inserted %v, expected [CT-A]", inserted)
		}

		// CT-A exists by number, CT-X would take opportunity A a second
		// time, CT-C is new.
		batch := []store.Contract{newContract("CT-A", "A", 999), newContract("CT-X", "A", 999), newContract("CT-C", "C", 800)}
		plan := slices.Concat(newPlan("CT-A", 1, 2), newPlan("CT-X", 1, 2), newPlan("CT-C", 400, 400))
		inserted, err = store.InsertContracts(ctx, s.DB, batch, plan)
		if err != nil {
			t.Fatalf("insert batch: %v", err)
		}
		if !slices.Equal(inserted, []string{"CT-C"}) {
			t.Errorf("inserted %v, expected only [CT-C]", inserted)
		}
		if n := countInstalments(t, s, "CT-A"); n != 2 {
			t.Errorf("CT-A has %d instalments, expected its original 2", n)
		}
		if n := countInstalments(t, s, "CT-X"); n != 0 {
			t.Errorf("skipped CT-X has %d instalments, expected none", n)
		}
		if n := countInstalments(t, s, "CT-C"); n != 2 {
			t.Errorf("CT-C has %d instalments, expected 2", n)
		}
		var a store.Contract
		if err := s.DB.NewSelect().Model(&a).Where("contract_no = ?", "CT-A").Scan(ctx); err != nil {
			t.Fatalf("read CT-A: %v", err)
		}
		if !a.Amount.Equal(decimal.NewFromInt(600)) {
			t.Errorf("CT-A amount = %s, expected the original 600", a.Amount)
		}
	})
}

func TestUpdateUnstartedContract(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		contracts := []store.Contract{newContract("CT-U", "U", 600), newContract("CT-S", "S", 600), newContract("CT-W", "W", 600)}
		contracts[2].Source = store.SourceWebhook
		plan := slices.Concat(newPlan("CT-U", 300, 300), newPlan("CT-S", 300, 300), newPlan("CT-W", 300, 300))
		if _, err := store.InsertContracts(ctx, s.DB, contracts, plan); err != nil {
			t.Fatalf("insert contracts: %v", err)
		}
		startedAt := crmTestTime.Add(time.Minute)
		if _, err := s.DB.NewUpdate().Model((*store.Contract)(nil)).
			Set("workflow_started_at = ?", startedAt).
			Set("paid_amount = ?", decimal.NewFromInt(180)).
			Where("contract_no = ?", "CT-S").Exec(ctx); err != nil {
			t.Fatalf("start CT-S: %v", err)
		}

		cases := []struct {
			no          string
			wantUpdated bool
		}{
			{"CT-U", true},
			{"CT-S", false}, // workflow started
			{"CT-W", false}, // not from a CRM import
		}
		for _, tc := range cases {
			changed := newContract(tc.no, tc.no[3:], 900)
			changed.ContentHash = "h2"
			changed.State = store.ContractCancelled // must never be written
			updated, err := store.UpdateUnstartedContract(ctx, s.DB, &changed, newPlan(tc.no, 300, 300, 300))
			if err != nil {
				t.Fatalf("update %s: %v", tc.no, err)
			}
			if updated != tc.wantUpdated {
				t.Errorf("%s: updated = %v, expected %v", tc.no, updated, tc.wantUpdated)
			}

			var got store.Contract
			if err := s.DB.NewSelect().Model(&got).Where("contract_no = ?", tc.no).Scan(ctx); err != nil {
				t.Fatalf("read %s: %v", tc.no, err)
			}
			wantAmount, wantInstalments := int64(600), 2
			if tc.wantUpdated {
				wantAmount, wantInstalments = 900, 3
			}
			if !got.Amount.Equal(decimal.NewFromInt(wantAmount)) {
				t.Errorf("%s: amount = %s, expected %d", tc.no, got.Amount, wantAmount)
			}
			if n := countInstalments(t, s, tc.no); n != wantInstalments {
				t.Errorf("%s: %d instalments, expected %d", tc.no, n, wantInstalments)
			}
			if got.State != store.ContractSigned {
				t.Errorf("%s: state = %s, expected signed: the update must not write state", tc.no, got.State)
			}
		}

		var started store.Contract
		if err := s.DB.NewSelect().Model(&started).Where("contract_no = ?", "CT-S").Scan(ctx); err != nil {
			t.Fatalf("read CT-S: %v", err)
		}
		if started.WorkflowStartedAt == nil || !started.WorkflowStartedAt.Equal(startedAt) || !started.PaidAmount.Equal(decimal.NewFromInt(180)) {
			t.Errorf("CT-S started %v paid %s, expected %s and 180 kept", started.WorkflowStartedAt, started.PaidAmount, startedAt)
		}
	})
}

func TestUpsertLeadsKeepsFollowUp(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		lead := store.Lead{
			OpportunityID: "P1", SalesAgent: "Anna Snelling", Stage: store.StageProspecting, State: store.LeadOpen,
			AssignedAt: crmTestTime, ContentHash: "h1", CreatedAt: crmTestTime, UpdatedAt: crmTestTime,
		}
		if err := store.UpsertLeads(ctx, s.DB, []store.Lead{lead}, false); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
		contactedAt := crmTestTime.Add(2 * time.Hour)
		if _, err := s.DB.NewUpdate().Model((*store.Lead)(nil)).
			Set("state = ?", store.LeadContacted).Set("first_contact_at = ?", contactedAt).
			Where("opportunity_id = ?", "P1").Exec(ctx); err != nil {
			t.Fatalf("record first contact: %v", err)
		}

		read := func() store.Lead {
			t.Helper()
			var got store.Lead
			if err := s.DB.NewSelect().Model(&got).Where("opportunity_id = ?", "P1").Scan(ctx); err != nil {
				t.Fatalf("read lead: %v", err)
			}
			return got
		}

		reassigned := lead
		reassigned.SalesAgent = "Moses Frase"
		reassigned.AssignedAt = crmTestTime.Add(24 * time.Hour)
		reassigned.State = store.LeadOpen
		reassigned.ContentHash = "h2"
		if err := store.UpsertLeads(ctx, s.DB, []store.Lead{reassigned}, false); err != nil {
			t.Fatalf("upsert without assigned_at: %v", err)
		}
		got := read()
		if got.SalesAgent != "Moses Frase" || !got.AssignedAt.Equal(crmTestTime) {
			t.Errorf("agent %s assigned %s, expected Moses Frase and the first time %s", got.SalesAgent, got.AssignedAt, crmTestTime)
		}
		if got.State != store.LeadContacted || got.FirstContactAt == nil || !got.FirstContactAt.Equal(contactedAt) {
			t.Errorf("state %s first contact %v, expected contacted at %s kept", got.State, got.FirstContactAt, contactedAt)
		}

		if err := store.UpsertLeads(ctx, s.DB, []store.Lead{reassigned}, true); err != nil {
			t.Fatalf("upsert with assigned_at: %v", err)
		}
		if got := read(); !got.AssignedAt.Equal(reassigned.AssignedAt) {
			t.Errorf("assigned %s, expected the new %s", got.AssignedAt, reassigned.AssignedAt)
		}
	})
}

func TestCloseLeads(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var leads []store.Lead
		for _, id := range []string{"L1", "L2", "L3"} {
			leads = append(leads, store.Lead{
				OpportunityID: id, SalesAgent: "Anna Snelling", Stage: store.StageEngaging, State: store.LeadOpen,
				AssignedAt: crmTestTime, ContentHash: "h", CreatedAt: crmTestTime, UpdatedAt: crmTestTime,
			})
		}
		leads[2].State = store.LeadClosed
		if err := store.UpsertLeads(ctx, s.DB, leads, true); err != nil {
			t.Fatalf("insert leads: %v", err)
		}
		closed, err := store.CloseLeads(ctx, s.DB, []string{"L1", "L3", "NONE"}, crmTestTime.Add(time.Hour))
		if err != nil {
			t.Fatalf("close leads: %v", err)
		}
		if !slices.Equal(closed, []string{"L1"}) {
			t.Errorf("closed %v, expected only [L1]: L2 was not asked for, L3 was already closed", closed)
		}
		closed, err = store.CloseLeads(ctx, s.DB, nil, crmTestTime)
		if err != nil || len(closed) != 0 {
			t.Errorf("closing no ids = %v, %v; expected nothing and no error", closed, err)
		}
	})
}

func TestContractImportStates(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := store.InsertContracts(ctx, s.DB, []store.Contract{newContract("CT-A", "A", 600), newContract("WEB-7", "B", 600)}, nil); err != nil {
			t.Fatalf("insert contracts: %v", err)
		}
		states, err := store.ContractImportStates(ctx, s.DB, []string{"A", "B", "C"}, []string{"CT-A", "CT-B"})
		if err != nil {
			t.Fatalf("read states: %v", err)
		}
		var numbers []string
		for _, st := range states {
			numbers = append(numbers, st.ContractNo)
		}
		slices.Sort(numbers)
		if !slices.Equal(numbers, []string{"CT-A", "WEB-7"}) {
			t.Errorf("found %v, expected CT-A by number and opportunity, WEB-7 by opportunity, each once", numbers)
		}
		if states, err := store.ContractImportStates(ctx, s.DB, nil, nil); err != nil || len(states) != 0 {
			t.Errorf("no keys = %v, %v; expected nothing and no error", states, err)
		}
	})
}

func TestImportRunRecords(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		run := &store.ImportRun{ID: "crm-1", Kind: "crm", Source: "upload", Status: store.ImportStatusRunning, Summary: "{}", StartedAt: crmTestTime}
		if err := store.InsertImportRun(ctx, s.DB, run); err != nil {
			t.Fatalf("insert run: %v", err)
		}
		const n = 620 // more than one insert batch
		issues := make([]store.ImportIssue, n)
		for i := range issues {
			issues[i] = store.ImportIssue{RunID: run.ID, File: "sales_pipeline.csv", Line: i + 2, Column: "product",
				Value: "GTXPro", Severity: "warning", Action: "corrected", Message: fmt.Sprintf("issue %d", i)}
		}
		if err := store.InsertImportIssues(ctx, s.DB, issues); err != nil {
			t.Fatalf("insert issues: %v", err)
		}
		finished := crmTestTime.Add(time.Second)
		if err := store.FinishImportRun(ctx, s.DB, run.ID, store.ImportStatusSucceeded, `{"rows":1}`, finished); err != nil {
			t.Fatalf("finish run: %v", err)
		}

		got, err := store.GetImportRun(ctx, s.DB, run.ID)
		if err != nil {
			t.Fatalf("read run: %v", err)
		}
		if got.Status != store.ImportStatusSucceeded || got.Summary != `{"rows":1}` || got.FinishedAt == nil || !got.FinishedAt.Equal(finished) {
			t.Errorf("run = %+v, expected succeeded with the summary and finished at %s", got, finished)
		}

		all, err := store.ListImportIssues(ctx, s.DB, run.ID, 0, 0)
		if err != nil {
			t.Fatalf("list issues: %v", err)
		}
		if len(all) != n || all[0].Message != "issue 0" || all[n-1].Message != fmt.Sprintf("issue %d", n-1) {
			t.Errorf("listed %d issues, expected %d in recording order", len(all), n)
		}
		page, err := store.ListImportIssues(ctx, s.DB, run.ID, 10, 600)
		if err != nil {
			t.Fatalf("list a page of issues: %v", err)
		}
		if len(page) != 10 {
			t.Fatalf("page has %d issues, expected 10", len(page))
		}
		if page[0].Message != "issue 600" {
			t.Errorf("page starts at %q, expected the 601st issue", page[0].Message)
		}

		if _, err := store.GetImportRun(ctx, s.DB, "crm-none"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reading an unknown run: error = %v, expected ErrNotFound", err)
		}
		if err := store.FinishImportRun(ctx, s.DB, "crm-none", store.ImportStatusFailed, "{}", finished); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("finishing an unknown run: error = %v, expected ErrNotFound", err)
		}
	})
}
