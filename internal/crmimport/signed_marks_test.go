package crmimport

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// verificationRule reads a fixed rules document with the signing rule of
// three reps within 24 hours.
type verificationRule struct{}

func (verificationRule) Rules(context.Context, activities.RulesRequest) (activities.RulesVersion, error) {
	return activities.RulesVersion{Version: 1, Document: rules.Document{Verification: rules.Verification{
		DistinctReps: 3, Window: rules.Duration(24 * time.Hour), VerifierRole: rules.RoleSupervisor,
	}}}, nil
}

func TestImportRecordsSignedMarks(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	importPipeline(t, s, pipelineHeader+
		"W1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600\n"+
		"W2,Anna Snelling,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-02,600\n", testNow)

	mark, err := store.SignedMarkOf(ctx, s.DB, "CT-W1")
	if err != nil {
		t.Fatalf("mark of CT-W1: %v", err)
	}
	if mark.Rep != "Moses Frase" || mark.Source != store.SourceCRMImport || !mark.MarkedAt.Equal(time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("mark = %+v, want Moses Frase's import mark at the close date", mark)
	}

	// The CRM moves W2 to another rep and day before its chain starts.
	importPipeline(t, s, pipelineHeader+
		"W1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600\n"+
		"W2,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-05,600\n", testNow.Add(time.Hour))
	moved, err := store.SignedMarkOf(ctx, s.DB, "CT-W2")
	if err != nil {
		t.Fatalf("mark of CT-W2: %v", err)
	}
	if moved.Rep != "Moses Frase" || !moved.MarkedAt.Equal(time.Date(2017, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("mark after the change = %+v, want the new rep and close date", moved)
	}
}

// TestImportedContractsNeverHeld runs the signing verification over every
// contract of the sample export. The export holds 9 account-days on which
// three reps closed the same account, but deals the CRM already lists as
// won are history, so none of them holds.
func TestImportedContractsNeverHeld(t *testing.T) {
	if _, err := os.Stat(realExport); err != nil {
		t.Skipf("sample export not available: %v", err)
	}
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	if _, err := Import(ctx, s, DirSource(realExport), testOptions()); err != nil {
		t.Fatalf("import: %v", err)
	}
	var contracts []store.Contract
	if err := s.DB.NewSelect().Model(&contracts).Column("contract_no", "customer_no", "sales_agent").Scan(ctx); err != nil {
		t.Fatalf("read contracts: %v", err)
	}
	if got := countRows(t, s, (*store.SignedMark)(nil)); got != realWon {
		t.Errorf("signed marks = %d, want one per imported contract (%d)", got, realWon)
	}

	check := &activities.VerificationActivities{Store: s, Rules: verificationRule{}}
	held := 0
	for _, c := range contracts {
		result, err := check.CheckSignedMarks(ctx, activities.SignedMarksCheck{ContractNo: c.ContractNo, CustomerNo: c.CustomerNo, Rep: c.SalesAgent})
		if err != nil {
			t.Fatalf("check %s: %v", c.ContractNo, err)
		}
		if result.Held {
			held++
		}
	}
	if held != 0 {
		t.Errorf("%d of %d imported contracts held, want none", held, len(contracts))
	}
}
