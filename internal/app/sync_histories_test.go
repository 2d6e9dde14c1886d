package app_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	kingdee "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/logging"
	kingdeesim "github.com/ordo-project/ordo/internal/simulators/kingdee"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/workflows"
)

// syncHistoryTaskQueue is the task queue of the SyncERP history capture.
const syncHistoryTaskQueue = "history-sync-erp"

// syncHistoryERPPassword is the Kingdee simulator's password in the
// capture, which a saved history must not contain.
const syncHistoryERPPassword = "sync-history-password"

// TestWriteHistoriesSyncERP captures histories of the SyncERP workflow for
// workflows/replay_test.go. It runs with TestWriteHistories (the -run
// pattern matches both) when ORDO_WRITE_HISTORIES is set.
//
// Each scenario runs the workflow on the embedded Temporal server with the
// real SyncERPPage activity, which reads a Kingdee simulator over HTTP
// through the Kingdee connector and stores into a real store. The
// customers are generated straight into the simulator's database, because
// the simulator's Save rejects a customer without a name, one of the
// invalid records the sync must dead-letter.
func TestWriteHistoriesSyncERP(t *testing.T) {
	if os.Getenv(WriteHistoriesEnv) == "" {
		t.Skipf("set %s=1 to capture workflow histories into %s", WriteHistoriesEnv, historiesDir)
	}
	ctx := context.Background()

	t.Run("several pages", func(t *testing.T) {
		// Seven valid customers in pages of three: two full pages and a
		// short one, then one empty page per document stream.
		c, st := startSyncHistoryWorker(t, kingdeesim.GenerateOptions{Count: 7})
		id := "history-sync-erp-paged"
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: syncHistoryTaskQueue},
			workflows.SyncERPName, workflows.SyncERPInput{PageSize: 3})
		if err != nil {
			t.Fatalf("start SyncERP: %v", err)
		}
		var result workflows.SyncERPResult
		if err := run.Get(ctx, &result); err != nil {
			t.Fatalf("SyncERP failed: %v", err)
		}
		if result.Pages != 6 || result.Stored != 7 || result.DeadLettered != 0 {
			t.Fatalf("result = %+v, expected 6 pages, 7 stored, no dead letter", result)
		}
		checkDeadLetters(t, st, 0)
		writeHistoryFile(t, c, id, run.GetRunID(), "sync_erp_paged.json")
		checkNoERPPassword(t, "sync_erp_paged.json")
	})

	t.Run("dead letters and continue-as-new", func(t *testing.T) {
		// Six customers with the third (no name) and sixth (wrong tax
		// number check character) invalid, in pages of four. The run stops
		// after two pages, when the customers stream has caught up, and
		// continues as new at the first document stream.
		c, st := startSyncHistoryWorker(t, kingdeesim.GenerateOptions{Count: 6, InvalidEvery: 3})
		id := "history-sync-erp-dead-letters"
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: syncHistoryTaskQueue},
			workflows.SyncERPName, workflows.SyncERPInput{PageSize: 4, PagesPerRun: 2})
		if err != nil {
			t.Fatalf("start SyncERP: %v", err)
		}
		waitRunClosed(t, c, id, run.GetRunID(), enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
		checkDeadLetters(t, st, 2)
		writeHistoryFile(t, c, id, run.GetRunID(), "sync_erp_dead_letters_continued.json")
		checkNoERPPassword(t, "sync_erp_dead_letters_continued.json")

		// The continued run syncs the document streams and completes.
		var result workflows.SyncERPResult
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, &result); err != nil {
			t.Fatalf("continued SyncERP failed: %v", err)
		}
		if result.Stored != 4 || result.DeadLettered != 2 {
			t.Fatalf("result = %+v, expected 4 stored and 2 dead-lettered", result)
		}
	})
}

// startSyncHistoryWorker starts an embedded Temporal server, a Kingdee
// simulator containing the generated customers, a store and a worker of
// SyncERP with the real sync activity on syncHistoryTaskQueue.
func startSyncHistoryWorker(t *testing.T, customers kingdeesim.GenerateOptions) (client.Client, *store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const account, user = "ordo-history", "sync"
	password := syncHistoryERPPassword
	simulator, err := kingdeesim.New(kingdeesim.Config{
		Path: filepath.Join(t.TempDir(), "simulators.db"), AccountID: account, Username: user, Password: password,
		Logger: logging.Discard(), CompletionDelay: time.Hour,
	})
	if err != nil {
		t.Fatalf("create Kingdee simulator: %v", err)
	}
	server := httptest.NewServer(simulator.Handler())
	t.Cleanup(func() {
		server.Close()
		_ = simulator.Close()
	})
	if err := simulator.GenerateCustomers(ctx, customers); err != nil {
		t.Fatalf("generate ERP customers: %v", err)
	}
	erp, err := kingdee.New(kingdee.Config{
		BaseURL: server.URL + "/k3cloud/", AccountID: account, Username: user, Password: password,
		OrgNumber: "100", Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("create Kingdee client: %v", err)
	}

	c := startHistoryTemporal(t)
	st := storetest.Open(t, "sqlite")
	w := worker.New(c, syncHistoryTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.SyncERP, workflow.RegisterOptions{Name: workflows.SyncERPName})
	w.RegisterActivity(&activities.SyncERPActivities{Syncer: &erpsync.Syncer{Store: st, Source: erp}})
	if err := w.Start(); err != nil {
		t.Fatalf("start history worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return c, st
}

// checkDeadLetters fails unless the store contains want open dead letters.
func checkDeadLetters(t *testing.T, st *store.Store, want int) {
	t.Helper()
	letters, err := store.ListDeadLetters(context.Background(), st.DB, store.DeadLetterFilter{State: store.DeadLetterOpen})
	if err != nil {
		t.Fatalf("list dead letters: %v", err)
	}
	if len(letters) != want {
		t.Fatalf("store contains %d open dead letters, expected %d: %+v", len(letters), want, letters)
	}
}

// checkNoERPPassword fails when the saved history name contains the
// simulator's password, as text or in a payload.
func checkNoERPPassword(t *testing.T, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(historiesDir, name))
	if err != nil {
		t.Fatalf("read saved history: %v", err)
	}
	history, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("decode saved history %s: %v", name, err)
	}
	checkNoSecrets(t, history, data, map[string]string{"ERP password": syncHistoryERPPassword})
}
