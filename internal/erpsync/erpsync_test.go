package erpsync_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-project/ordo/connectors"
	kingdee "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/erpsync"
	sim "github.com/ordo-project/ordo/internal/simulators/kingdee"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// newERP starts a Kingdee simulator with count generated customers and
// returns it with a connector client pointed at it.
func newERP(tb testing.TB, count, invalidEvery int) (*sim.Simulator, *kingdee.Client) {
	tb.Helper()
	simulator, err := sim.New(sim.Config{
		Path: filepath.Join(tb.TempDir(), "simulators.db"), AccountID: "ordo-test", Username: "sync", Password: "sync-password",
		CompletionDelay: time.Hour,
	})
	if err != nil {
		tb.Fatal(err)
	}
	server := httptest.NewServer(simulator.Handler())
	tb.Cleanup(func() {
		server.Close()
		_ = simulator.Close()
	})
	if err := simulator.GenerateCustomers(context.Background(), sim.GenerateOptions{Count: count, InvalidEvery: invalidEvery}); err != nil {
		tb.Fatal(err)
	}
	client, err := kingdee.New(kingdee.Config{
		BaseURL: server.URL + "/k3cloud/", AccountID: "ordo-test", Username: "sync", Password: "sync-password",
		OrgNumber: "100", Timeout: 30 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return simulator, client
}

// syncAll runs pages of stream until the sync catches up and returns the
// number of pages.
func syncAll(tb testing.TB, syncer *erpsync.Syncer, stream string, pageSize int) int {
	tb.Helper()
	for pages := 1; ; pages++ {
		result, err := syncer.SyncPage(context.Background(), stream, pageSize)
		if err != nil {
			tb.Fatal(err)
		}
		if result.CaughtUp {
			return pages
		}
	}
}

func TestSyncPageStoresAndDeadLetters(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, client := newERP(t, 2500, 100)
		syncer := &erpsync.Syncer{Store: s, Source: client}

		if pages := syncAll(t, syncer, erpsync.StreamCustomers, 1000); pages != 3 {
			t.Errorf("pages = %d, want 3", pages)
		}
		n, err := store.CountERPCustomers(ctx, s.DB)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2475 {
			t.Errorf("stored customers = %d, want 2475", n)
		}
		letters, err := store.ListDeadLetters(ctx, s.DB, store.DeadLetterFilter{State: store.DeadLetterOpen})
		if err != nil {
			t.Fatal(err)
		}
		if len(letters) != 25 {
			t.Errorf("open dead letters = %d, want 25", len(letters))
		}
		cursor, err := store.GetSyncCursor(ctx, s.DB, erpsync.StreamCustomers)
		if err != nil {
			t.Fatal(err)
		}
		if cursor.Stored != 2475 || cursor.Dead != 25 {
			t.Errorf("cursor counters stored=%d dead=%d, want 2475 and 25", cursor.Stored, cursor.Dead)
		}

		again, err := syncer.SyncPage(ctx, erpsync.StreamCustomers, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if again.Fetched != 0 || !again.CaughtUp {
			t.Errorf("second sync = %+v, want nothing fetched", again)
		}
	})
}

func TestSyncResolvesFixedRecord(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	_, client := newERP(t, 200, 100)
	syncer := &erpsync.Syncer{Store: s, Source: client}
	syncAll(t, syncer, erpsync.StreamCustomers, 50)

	// GEN000100 is the first invalid customer and has no name.
	letters, err := store.ListDeadLetters(ctx, s.DB, store.DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var missingName *store.DeadLetter
	for i := range letters {
		if letters[i].RecordKey == "GEN000100" {
			missingName = &letters[i]
		}
	}
	if missingName == nil {
		t.Fatalf("dead letters = %+v, want one for GEN000100", letters)
	}

	retried, err := syncer.Retry(ctx, missingName.ID, "li.lei")
	if err != nil {
		t.Fatal(err)
	}
	if retried.Outcome != erpsync.OutcomeFailed || retried.DeadLetter.State != store.DeadLetterOpen || retried.DeadLetter.Attempts != 2 {
		t.Errorf("retry of an unchanged record = %+v, want failed, open, 2 attempts", retried)
	}

	if _, err := client.UpsertCustomer(ctx, connectors.Customer{Number: "GEN000100", Name: "补全名称有限公司"}); err != nil {
		t.Fatal(err)
	}
	syncAll(t, syncer, erpsync.StreamCustomers, 50)
	fixed, err := store.GetDeadLetter(ctx, s.DB, missingName.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.State != store.DeadLetterResolved {
		t.Errorf("state after the ERP fix = %s, want resolved", fixed.State)
	}
	if _, err := syncer.Retry(ctx, missingName.ID, "li.lei"); err == nil {
		t.Error("retry of a resolved dead letter succeeded, want an error")
	}
	audit, err := store.DLQAuditOf(ctx, s.DB, missingName.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].By != "li.lei" {
		t.Errorf("audit = %+v, want one retry by li.lei", audit)
	}
}

func TestRetryResolvesValidRecord(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	syncer := &erpsync.Syncer{Store: s}
	// A record that failed for a reason other than its content, stored
	// as the sync stores it.
	letter := store.DeadLetter{
		SyncName: erpsync.StreamCustomers, RecordKey: "C-1", Error: "database is locked",
		Context: `{"id":7,"number":"C-1","name":"上海示例有限公司","tax_no":"91440300708461136T","document_status":"C","modified_at":"2026-03-02T10:00:00"}`,
	}
	if err := store.AddDeadLetters(ctx, s.DB, []store.DeadLetter{letter}); err != nil {
		t.Fatal(err)
	}
	letters, err := store.ListDeadLetters(ctx, s.DB, store.DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	retried, err := syncer.Retry(ctx, letters[0].ID, "han.meimei")
	if err != nil {
		t.Fatal(err)
	}
	if retried.Outcome != erpsync.OutcomeResolved || retried.DeadLetter.State != store.DeadLetterResolved {
		t.Errorf("retry = %+v, want resolved", retried)
	}
	n, err := store.CountERPCustomers(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("customers after retry = %d, want 1", n)
	}
	audit, err := store.DLQAuditOf(ctx, s.DB, letters[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Outcome != erpsync.OutcomeResolved {
		t.Errorf("audit = %+v, want one resolved retry", audit)
	}
}
