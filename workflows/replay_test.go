// Replay tests run the current workflow code over workflow histories that
// the real stack recorded, so a change that would break workflows already
// running in production fails here. A change that alters the commands a
// workflow issues for the same history is not deterministic: guard it with
// workflow.GetVersion instead of editing a saved history.
//
// The histories in testdata are written by TestWriteHistories in
// internal/app, which runs `ordo dev` in the test process and drives each
// scenario through the API and the simulators. Regenerate them after a
// deliberate, versioned change of a workflow, from the module root:
//
//	ORDO_WRITE_HISTORIES=1 go test ./internal/app -run TestWriteHistories -count=1
//
// It writes every file listed in replayCases and fails if a history
// contains one of the stack's credentials, except the approval histories
// and contract_to_cash_verification_held.json, which
//
//	ORDO_WRITE_HISTORIES=1 go test ./internal/api -run TestWriteHistories -count=1
//
// writes on the API tests' Temporal server, with fake rules and task
// activities, until those activities have bodies.
package workflows_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/workflows"
)

// replayCase is one saved history and what it must contain, so a history
// regenerated from a wrong scenario fails instead of replaying quietly.
type replayCase struct {
	file         string
	workflowType string
	lastEvent    enumspb.EventType
	// signals must each appear in the history at least once.
	signals []string
	// activityTasks says whether regular activity tasks must appear (true)
	// or must not appear (false).
	activityTasks bool
}

var replayCases = []replayCase{
	{
		file: "contract_to_cash_local_activities.json", workflowType: workflows.ContractToCashName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:   []string{workflows.SignalProductionCompleted, workflows.SignalInvoiceUpdated, workflows.SignalPayment},
	},
	{
		file: "contract_to_cash_regular_activities.json", workflowType: workflows.ContractToCashName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:       []string{workflows.SignalProductionCompleted, workflows.SignalInvoiceUpdated, workflows.SignalPayment},
		activityTasks: true,
	},
	{
		file: "contract_to_cash_cancelled.json", workflowType: workflows.ContractToCashName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:   []string{workflows.SignalInvoiceUpdated, workflows.SignalCancel},
	},
	{
		file: "contract_to_cash_parked_resumed.json", workflowType: workflows.ContractToCashName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:   []string{workflows.SignalResume, workflows.SignalPayment},
	},
	{
		file: "contract_to_cash_overpaid.json", workflowType: workflows.ContractToCashName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:   []string{workflows.SignalPayment},
	},
	{
		file: "contract_to_cash_verification_held.json", workflowType: workflows.ContractToCashName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:   []string{workflows.SignalPhoneVerified, workflows.SignalPayment},
	},
	{
		file: "approval_price_change_escalated.json", workflowType: workflows.ApprovalName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, activityTasks: true,
	},
	{
		file: "approval_renewal_frozen.json", workflowType: workflows.ApprovalName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, activityTasks: true,
	},
	{
		file: "lead_sla_overdue_contacted.json", workflowType: workflows.LeadSLAName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:       []string{workflows.SignalLeadContacted, workflows.SignalLeadClosed},
		activityTasks: true,
	},
	{
		file: "lead_sla_reassigned.json", workflowType: workflows.LeadSLAName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:       []string{workflows.SignalLeadReassigned, workflows.SignalLeadContacted, workflows.SignalLeadClosed},
		activityTasks: true,
	},
	{
		file: "bank_reconciliation_continue_as_new.json", workflowType: workflows.BankReconciliationName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
		activityTasks: true,
	},
	{
		file: "renewal_escalated_moved_renewed.json", workflowType: workflows.RenewalName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
		signals:       []string{workflows.SignalRenewalActed, workflows.SignalEndDateChanged, workflows.SignalRenewalRenewed},
		activityTasks: true,
	},
	{
		file: "ticket_escalated_answered.json", workflowType: workflows.TicketName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:       []string{workflows.SignalTicketAnswered},
		activityTasks: true,
	},
	{
		file: "ticket_returned.json", workflowType: workflows.TicketName,
		lastEvent:     enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		signals:       []string{workflows.SignalTicketReturned},
		activityTasks: true,
	},
	{
		file: "sync_erp_paged.json", workflowType: workflows.SyncERPName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, activityTasks: true,
	},
	{
		file: "sync_erp_dead_letters_continued.json", workflowType: workflows.SyncERPName,
		lastEvent: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, activityTasks: true,
	},
}

// TestReplayHistories replays every saved history against the current
// workflow code, registered under the names the worker uses.
func TestReplayHistories(t *testing.T) {
	for _, tc := range replayCases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			history := readHistory(t, path)
			checkHistoryShape(t, tc, history)

			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.ContractToCash, workflow.RegisterOptions{Name: workflows.ContractToCashName})
			replayer.RegisterWorkflowWithOptions(workflows.BankReconciliation, workflow.RegisterOptions{Name: workflows.BankReconciliationName})
			replayer.RegisterWorkflowWithOptions(workflows.Renewal, workflow.RegisterOptions{Name: workflows.RenewalName})
			replayer.RegisterWorkflowWithOptions(workflows.Ticket, workflow.RegisterOptions{Name: workflows.TicketName})
			replayer.RegisterWorkflowWithOptions(workflows.Approval, workflow.RegisterOptions{Name: workflows.ApprovalName})
			replayer.RegisterWorkflowWithOptions(workflows.LeadSLA, workflow.RegisterOptions{Name: workflows.LeadSLAName})
			replayer.RegisterWorkflowWithOptions(workflows.SyncERP, workflow.RegisterOptions{Name: workflows.SyncERPName})
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(quietLogger(), path); err != nil {
				t.Fatalf("replay of %s failed, so the current code would break workflows recorded by the previous one: %v", path, err)
			}
		})
	}
}

// TestReplayCoversTestdata fails on a history in testdata that no replay
// case names, so every saved history is replayed.
func TestReplayCoversTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatalf("list testdata: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		if !slices.ContainsFunc(replayCases, func(tc replayCase) bool { return tc.file == name }) {
			t.Errorf("testdata/%s is not in replayCases, so it is never replayed", name)
		}
	}
}

func readHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("history %s is missing: regenerate the histories as described at the top of replay_test.go", path)
	}
	if err != nil {
		t.Fatalf("open history: %v", err)
	}
	defer file.Close()
	history, err := client.HistoryFromJSON(file, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("decode history %s: %v", path, err)
	}
	if len(history.Events) == 0 {
		t.Fatalf("history %s has no events", path)
	}
	return history
}

// checkHistoryShape checks that the history records the scenario its
// replay case names.
func checkHistoryShape(t *testing.T, tc replayCase, history *historypb.History) {
	t.Helper()
	first, last := history.Events[0], history.Events[len(history.Events)-1]
	started := first.GetWorkflowExecutionStartedEventAttributes()
	if started == nil {
		t.Fatalf("history starts with %s, expected a workflow execution started event", first.GetEventType())
	}
	if got := started.GetWorkflowType().GetName(); got != tc.workflowType {
		t.Errorf("history is of workflow type %s, expected %s", got, tc.workflowType)
	}
	if last.GetEventType() != tc.lastEvent {
		t.Errorf("history ends with %s, expected %s", last.GetEventType(), tc.lastEvent)
	}

	signals := map[string]bool{}
	activityTasks := 0
	for _, event := range history.Events {
		if attrs := event.GetWorkflowExecutionSignaledEventAttributes(); attrs != nil {
			signals[attrs.GetSignalName()] = true
		}
		if event.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			activityTasks++
		}
	}
	for _, name := range tc.signals {
		if !signals[name] {
			t.Errorf("history has no %q signal", name)
		}
	}
	if tc.activityTasks && activityTasks == 0 {
		t.Errorf("history has no regular activity task, expected some")
	}
	if !tc.activityTasks && activityTasks > 0 {
		t.Errorf("history has %d regular activity tasks, expected only local activities", activityTasks)
	}
}

// quietLogger drops the replayer's log, which repeats every workflow log
// line; a failed replay returns its cause as the error.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}
