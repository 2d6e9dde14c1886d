package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// WriteHistoriesEnv names the variable that turns TestWriteHistories on.
const WriteHistoriesEnv = "ORDO_WRITE_HISTORIES"

// historiesDir is workflows/testdata, relative to this package.
var historiesDir = filepath.Join("..", "..", "workflows", "testdata")

// TestWriteHistories runs the stack through the scenarios that
// workflows/replay_test.go replays and writes each workflow history to
// workflows/testdata. It runs only when ORDO_WRITE_HISTORIES is set:
//
//	ORDO_WRITE_HISTORIES=1 go test ./internal/app -run TestWriteHistories -count=1
func TestWriteHistories(t *testing.T) {
	if os.Getenv(WriteHistoriesEnv) == "" {
		t.Skipf("set %s=1 to capture workflow histories into %s", WriteHistoriesEnv, historiesDir)
	}

	t.Run("local activities", func(t *testing.T) {
		s := startStack(t, stackOptions{LocalActivities: true, Configure: quickParking})
		temporal := s.TemporalClient()
		reconciliationRun := restartReconciliation(t, temporal, s.Config, 3)

		happy := "CT-HAPPYLOCAL"
		postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(happy, 0))
		waitForState(t, s.API, happy, store.ContractClosed, 30*time.Second)
		writeHistory(t, s, temporal, numbering.ContractWorkflowID(happy), "", "contract_to_cash_local_activities.json")

		overpaid := overpayingContractNo("CT-OVERPAID")
		postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(overpaid, 1))
		waitForState(t, s.API, overpaid, store.ContractClosed, 30*time.Second)
		writeHistory(t, s, temporal, numbering.ContractWorkflowID(overpaid), "", "contract_to_cash_overpaid.json")

		parked := parkAndResume(t, s, "CT-PARKED0001")
		writeHistory(t, s, temporal, numbering.ContractWorkflowID(parked), "", "contract_to_cash_parked_resumed.json")

		waitRunClosed(t, temporal, workflows.BankReconciliationID, reconciliationRun, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
		writeHistory(t, s, temporal, workflows.BankReconciliationID, reconciliationRun, "bank_reconciliation_continue_as_new.json")
	})

	t.Run("regular activities", func(t *testing.T) {
		s := startStack(t, stackOptions{LocalActivities: false})
		happy := "CT-HAPPYREGULAR"
		postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(happy, 2))
		waitForState(t, s.API, happy, store.ContractClosed, 30*time.Second)
		writeHistory(t, s, s.TemporalClient(), numbering.ContractWorkflowID(happy), "", "contract_to_cash_regular_activities.json")
	})

	t.Run("lead sla", writeLeadHistories)

	t.Run("cancellation", func(t *testing.T) {
		s := startStack(t, stackOptions{LocalActivities: true, Configure: func(cfg *config.Config) {
			cfg.Sim.Bank.PaymentDelay = 10 * time.Minute
		}})
		no := "CT-CANCELLED"
		postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(no, 3))
		waitForState(t, s.API, no, store.ContractInvoiced, 30*time.Second)
		request := api.ActionRequest{Reason: "customer withdrew the order", By: "history capture"}
		if err := s.API.Post(context.Background(), "/api/v1/contracts/"+no+"/cancel", request, nil); err != nil {
			t.Fatalf("cancel contract %s: %v", no, err)
		}
		waitForState(t, s.API, no, store.ContractCancelled, 30*time.Second)
		writeHistory(t, s, s.TemporalClient(), numbering.ContractWorkflowID(no), "", "contract_to_cash_cancelled.json")
	})
}

// restartReconciliation replaces the stack's bank reconciliation with one
// that continues as new after rounds rounds, and returns its first run.
func restartReconciliation(t testing.TB, c client.Client, cfg *config.Config, rounds int) string {
	t.Helper()
	ctx := context.Background()
	if err := c.TerminateWorkflow(ctx, workflows.BankReconciliationID, "", "replaced by the history capture"); err != nil {
		t.Fatalf("terminate the bank reconciliation: %v", err)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.BankReconciliationID, TaskQueue: cfg.ReconciliationTaskQueue(),
	}, workflows.BankReconciliationName, workflows.BankReconciliationInput{
		PollInterval: cfg.Payment.PollInterval, RoundsPerRun: rounds,
	})
	if err != nil {
		t.Fatalf("start the bank reconciliation: %v", err)
	}
	return run.GetRunID()
}

// waitRunClosed waits until a workflow run ends with status want.
func waitRunClosed(t testing.TB, c client.Client, workflowID, runID string, want enumspb.WorkflowExecutionStatus) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		described, err := c.DescribeWorkflowExecution(context.Background(), workflowID, runID)
		if err != nil {
			t.Fatalf("describe %s run %s: %v", workflowID, runID, err)
		}
		status := described.GetWorkflowExecutionInfo().GetStatus()
		if status == want {
			return
		}
		if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s run %s ended %s, expected %s", workflowID, runID, status, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s run %s still running after 60s, expected %s", workflowID, runID, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeHistory writes the history of one workflow run to
// workflows/testdata/name in the JSON form that
// worker.WorkflowReplayer.ReplayWorkflowHistoryFromJSONFile reads. It
// fails when the history contains one of the stack's secrets.
func writeHistory(t testing.TB, s *stack, c client.Client, workflowID, runID, name string) {
	t.Helper()
	ctx := context.Background()
	history := &historypb.History{}
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatalf("read history of %s: %v", workflowID, err)
		}
		history.Events = append(history.Events, event)
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(history)
	if err != nil {
		t.Fatalf("encode history of %s: %v", workflowID, err)
	}
	checkNoSecrets(t, history, data, stackSecrets(t, s))

	path := filepath.Join(historiesDir, name)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatalf("write history of %s: %v", workflowID, err)
	}
	t.Logf("wrote %s: %d events of %s", path, len(history.Events), workflowID)
}

// stackSecrets returns every credential the stack runs with.
func stackSecrets(t testing.TB, s *stack) map[string]string {
	t.Helper()
	secrets := map[string]string{"webhook secret": string(s.Secret)}
	for name, credential := range map[string]config.Credential{
		"ERP password": s.Config.ERP.Password, "ERP app secret": s.Config.ERP.AppSecret,
		"e-invoice app secret": s.Config.EInvoice.AppSecret, "bank client secret": s.Config.Bank.ClientSecret,
	} {
		value, err := credential.Resolve()
		if err != nil {
			t.Fatalf("resolve the %s: %v", name, err)
		}
		if value != "" {
			secrets[name] = value
		}
	}
	return secrets
}

// checkNoSecrets fails when a secret appears in the encoded history or,
// base64-encoded there, in one of its payloads.
func checkNoSecrets(t testing.TB, history *historypb.History, encoded []byte, secrets map[string]string) {
	t.Helper()
	var payloads [][]byte
	err := proxy.VisitPayloads(context.Background(), history, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, payload := range p {
				payloads = append(payloads, payload.GetData())
			}
			return p, nil
		},
	})
	if err != nil {
		t.Fatalf("visit history payloads: %v", err)
	}
	for _, name := range sortedKeys(secrets) {
		secret := []byte(secrets[name])
		if bytes.Contains(encoded, secret) {
			t.Fatalf("history contains the %s", name)
		}
		for _, data := range payloads {
			if bytes.Contains(data, secret) {
				t.Fatalf("a payload of the history contains the %s", name)
			}
		}
	}
}
