//go:build slow

package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// pendingTimers is how many lead workflows wait on their reminder timer
// when ordo dev is killed.
const pendingTimers = 1000

// TestThousandTimersAcrossKill imports 1,000 open leads whose reminders
// fall due three minutes after the import. It kills ordo dev with SIGKILL
// while every reminder timer is pending and starts it again. Each lead
// must then get exactly one reminder task and one reminder email.
func TestThousandTimersAcrossKill(t *testing.T) {
	binary := buildOrdo(t)
	cfg := testConfig(t, stackOptions{LocalActivities: true})
	cfg.Notify.Channels = []string{"email", "log"}
	child := newChildStack(t, binary, cfg)
	child.Start()
	applyLeadRules(t, child.API, rules.Leads{FirstContact: rules.Deadline{
		Within: rules.Duration(33 * time.Minute), Hours: rules.CalendarHours, RemindBefore: rules.Duration(30 * time.Minute),
		ReminderTemplate: "lead_reminder", EscalationTemplate: "lead_alert",
	}})

	var pipeline strings.Builder
	pipeline.WriteString("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n")
	reps := []string{"Moses Frase", "Anna Snelling", "Darcel Schlecht", "Versie Hillebrand"}
	for i := range pendingTimers {
		fmt.Fprintf(&pipeline, "LT%06d,%s,GTX Pro,Cancity,Prospecting,,,\n", i, reps[i%len(reps)])
	}
	importLeads(t, child.API, writeLeadExport(t, pipeline.String()))
	imported := time.Now()

	st := openChildStore(t, cfg, child.DataDir)
	waitForCount(t, st, "lead workflows started", "SELECT COUNT(*) FROM leads WHERE workflow_started_at IS NOT NULL AND opportunity_id LIKE 'LT%'", pendingTimers, 2*time.Minute)
	if got := countRows(t, st, reminderTasksQuery); got != 0 {
		t.Fatalf("%d reminders opened %s after the import, before the kill: the reminders are due too early", got, time.Since(imported).Round(time.Second))
	}
	child.Kill()
	child.Start()

	waitForCount(t, st, "reminder tasks", reminderTasksQuery, pendingTimers, 10*time.Minute)
	// Give a duplicate the time to appear before counting.
	time.Sleep(10 * time.Second)
	if got := countRows(t, st, reminderTasksQuery); got != pendingTimers {
		t.Errorf("%d reminder tasks, expected exactly %d", got, pendingTimers)
	}
	sent := "SELECT COUNT(*) FROM notifications n JOIN tasks t ON t.id = n.task_id WHERE n.channel = 'email' AND n.state = 'sent' AND t.kind = '" +
		activities.TaskLeadReminder + "' AND t.subject LIKE 'lead:LT%'"
	if got := countRows(t, st, sent); got != pendingTimers {
		t.Errorf("%d reminder emails sent, expected exactly %d", got, pendingTimers)
	}
	child.Stop()
}

const reminderTasksQuery = "SELECT COUNT(*) FROM tasks WHERE kind = '" + activities.TaskLeadReminder + "' AND subject LIKE 'lead:LT%'"

func openChildStore(t *testing.T, cfg *config.Config, dataDir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: filepath.Join(dataDir, "ordo.db"), MaxConns: 1})
	if err != nil {
		t.Fatalf("open the child's database: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func countRows(t *testing.T, st *store.Store, query string) int {
	t.Helper()
	var n int
	if err := st.DB.NewRaw(query).Scan(context.Background(), &n); err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

func waitForCount(t *testing.T, st *store.Store, what, query string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var n int
		err := st.DB.NewRaw(query).Scan(context.Background(), &n)
		if err == nil && n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d after %s (last error %v)", what, n, want, timeout, err)
		}
		time.Sleep(time.Second)
	}
}
