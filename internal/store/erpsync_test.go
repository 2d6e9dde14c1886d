package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func erpCustomers(n int, modified time.Time, name string) []store.ERPCustomer {
	customers := make([]store.ERPCustomer, n)
	for i := range customers {
		customers[i] = store.ERPCustomer{
			Number: fmt.Sprintf("CUST%06d", i+1), ERPID: int64(i + 1),
			Name: fmt.Sprintf("%s %d", name, i+1), TaxNo: "91310000MA1FL0000X",
			DocumentStatus: "C", ERPModifiedAt: modified,
		}
	}
	return customers
}

func TestUpsertERPCustomersKeepsNewer(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		newer := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		older := newer.Add(-time.Hour)
		if err := store.UpsertERPCustomers(ctx, s.DB, erpCustomers(1200, newer, "new")); err != nil {
			t.Fatal(err)
		}
		if err := store.UpsertERPCustomers(ctx, s.DB, erpCustomers(1200, older, "old")); err != nil {
			t.Fatal(err)
		}
		n, err := store.CountERPCustomers(ctx, s.DB)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1200 {
			t.Errorf("customers = %d, want 1200", n)
		}
		var got store.ERPCustomer
		if err := s.DB.NewSelect().Model(&got).Where("number = ?", "CUST000007").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if got.Name != "new 7" {
			t.Errorf("name = %q, want the newer %q", got.Name, "new 7")
		}
		if err := store.UpsertERPCustomers(ctx, s.DB, erpCustomers(1, newer.Add(time.Hour), "renamed")); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.NewSelect().Model(&got).Where("number = ?", "CUST000001").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if got.Name != "renamed 1" {
			t.Errorf("name = %q, want %q", got.Name, "renamed 1")
		}
	})
}

func TestSyncCursorAdvances(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cursor, err := store.GetSyncCursor(ctx, s.DB, "customers")
		if err != nil {
			t.Fatal(err)
		}
		if cursor.ModifiedAt != "" || cursor.LastID != 0 {
			t.Errorf("new cursor = %+v, want zero", cursor)
		}
		if err := store.AdvanceSyncCursor(ctx, s.DB, "customers", "2026-03-02T08:00:00", 7, 5, 2); err != nil {
			t.Fatal(err)
		}
		if err := store.AdvanceSyncCursor(ctx, s.DB, "customers", "2026-03-02T09:00:00", 9, 3, 0); err != nil {
			t.Fatal(err)
		}
		cursor, err = store.GetSyncCursor(ctx, s.DB, "customers")
		if err != nil {
			t.Fatal(err)
		}
		if cursor.ModifiedAt != "2026-03-02T09:00:00" || cursor.LastID != 9 {
			t.Errorf("watermark = %s/%d, want 2026-03-02T09:00:00/9", cursor.ModifiedAt, cursor.LastID)
		}
		if cursor.Stored != 8 || cursor.Dead != 2 {
			t.Errorf("counters stored=%d dead=%d, want 8 and 2", cursor.Stored, cursor.Dead)
		}
	})
}

func TestDeadLettersDeduplicateOpenKey(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		letter := store.DeadLetter{SyncName: "customers", RecordKey: "CUST1", Context: `{"number":"CUST1"}`, Error: "missing name"}
		if err := store.AddDeadLetters(ctx, s.DB, []store.DeadLetter{letter}); err != nil {
			t.Fatal(err)
		}
		letter.Error = "bad tax number"
		if err := store.AddDeadLetters(ctx, s.DB, []store.DeadLetter{letter}); err != nil {
			t.Fatal(err)
		}
		letters, err := store.ListDeadLetters(ctx, s.DB, store.DeadLetterFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(letters) != 1 {
			t.Fatalf("dead letters = %d, want 1", len(letters))
		}
		if letters[0].Attempts != 2 || letters[0].Error != "bad tax number" {
			t.Errorf("letter = %+v, want 2 attempts and the latest error", letters[0])
		}

		if err := store.ResolveDeadLetters(ctx, s.DB, "customers", []string{"CUST1"}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddDeadLetters(ctx, s.DB, []store.DeadLetter{letter}); err != nil {
			t.Fatal(err)
		}
		open, err := store.ListDeadLetters(ctx, s.DB, store.DeadLetterFilter{State: store.DeadLetterOpen})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].ID == letters[0].ID {
			t.Errorf("open letters = %+v, want one new letter after the resolved one", open)
		}
		if err := store.AddDLQAudit(ctx, s.DB, &store.DLQAudit{DeadLetterID: open[0].ID, By: "li.lei", Action: "retry", Outcome: "failed"}); err != nil {
			t.Fatal(err)
		}
		audit, err := store.DLQAuditOf(ctx, s.DB, open[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].By != "li.lei" {
			t.Errorf("audit = %+v, want one entry by li.lei", audit)
		}
	})
}
