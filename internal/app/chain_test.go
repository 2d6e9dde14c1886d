package app_test

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/numbering"
)

// TestChainClosesContract runs signed contracts through the whole chain
// on the real embedded stack, with the outside calls as local and as
// regular activities, on SQLite and on PostgreSQL.
func TestChainClosesContract(t *testing.T) {
	cases := []struct {
		name   string
		driver string
		local  bool
	}{
		{"sqlite/local", "sqlite", true},
		{"sqlite/regular", "sqlite", false},
		{"postgres/local", "postgres", true},
		{"postgres/regular", "postgres", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t, stackOptions{Driver: tc.driver, LocalActivities: tc.local})
			contracts := postContracts(t, s.APIURL, s.Secret, "CT-CHAIN", 3)
			waitAllClosed(t, s.API, len(contracts), 60*time.Second)

			erp := newERPClient(t, s.Config)
			for _, no := range contracts {
				view := getContract(t, s.API, no, false)
				checkClosedContract(t, view)
				checkReceivableWrittenOff(t, erp, view.Contract)
			}
			checkLedgerOnePerStep(t, readLedger(t, s.DataDir), contracts)

			scheduled := countActivityTasks(t, s.TemporalClient(), numbering.ContractWorkflowID(contracts[0]))
			if tc.local && scheduled != 0 {
				t.Errorf("chain with local activities scheduled %d regular activity tasks, expected 0", scheduled)
			}
			if !tc.local && scheduled == 0 {
				t.Errorf("chain with regular activities scheduled no activity task")
			}
		})
	}
}

// countActivityTasks counts the regular activity tasks scheduled in a
// workflow's history.
func countActivityTasks(t testing.TB, c client.Client, workflowID string) int {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatalf("read history of %s: %v", workflowID, err)
		}
		if event.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			n++
		}
	}
	return n
}
