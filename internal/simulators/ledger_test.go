package simulators_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

func TestLedgerDuplicatesPerPart(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "simulators.db"), 1)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ledger := simulators.NewLedger(db)
	if err := ledger.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	entries := []struct{ number, contractNo, part string }{
		// Two instalments of one contract: two receipts, no duplicate.
		{"S1", "CT-A", "advance"},
		{"S2", "CT-A", "balance"},
		// A partial balance payment: two lines, no duplicate.
		{"S3", "CT-B", "advance"},
		{"S4", "CT-B", "balance part 1"},
		{"S5", "CT-B", "balance part 2"},
		// The balance paid twice: a duplicate.
		{"S6", "CT-C", "balance"},
		{"S7", "CT-C", "balance"},
	}
	for _, e := range entries {
		if err := simulators.RecordPart(ctx, db, "bank", "receipt", e.number, e.contractNo, e.part, ""); err != nil {
			t.Fatalf("record %s: %v", e.number, err)
		}
	}
	for _, no := range []string{"CT-A", "CT-A"} {
		if err := simulators.Record(ctx, db, "kingdee", "sales_order", "SO-"+no, no, ""); err != nil {
			t.Fatalf("record sales order of %s: %v", no, err)
		}
	}

	counts, err := ledger.Summary(ctx)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	byKind := map[string]simulators.KindCount{}
	for _, c := range counts {
		byKind[c.System+"/"+c.Kind] = c
	}
	receipts := byKind["bank/receipt"]
	if receipts.Documents != 7 || receipts.Contracts != 3 {
		t.Errorf("receipts: %d documents of %d contracts, expected 7 of 3", receipts.Documents, receipts.Contracts)
	}
	if receipts.Duplicated != 1 {
		t.Errorf("contracts with duplicate receipts = %d, expected 1 (CT-C)", receipts.Duplicated)
	}
	orders := byKind["kingdee/sales_order"]
	if orders.Documents != 2 || orders.Contracts != 1 || orders.Duplicated != 1 {
		t.Errorf("sales orders = %+v, expected 2 documents of 1 contract, duplicated", orders)
	}
}

func TestLedgerMigrateAddsPart(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "simulators.db"), 1)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// The table as ledgers created it before entries had a part.
	if _, err := db.ExecContext(ctx, `CREATE TABLE sim_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, system TEXT NOT NULL,
		kind TEXT NOT NULL, number TEXT NOT NULL, contract_no TEXT NOT NULL, detail TEXT NOT NULL, created_at TIMESTAMP NOT NULL)`); err != nil {
		t.Fatalf("create old table: %v", err)
	}
	ledger := simulators.NewLedger(db)
	for i := 0; i < 2; i++ {
		if err := ledger.Migrate(ctx); err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
	}
	if err := simulators.RecordPart(ctx, db, "bank", "receipt", "S1", "CT-A", "advance", ""); err != nil {
		t.Errorf("record after migration: %v", err)
	}
}
