package api

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// writeHistoriesEnv turns TestWriteHistoriesApprovals on, as it turns on
// TestWriteHistories in internal/app.
const writeHistoriesEnv = "ORDO_WRITE_HISTORIES"

// TestWriteHistoriesApprovals runs the approval workflow and a chain held
// by the signing verification on the embedded Temporal server, and writes
// their histories to workflows/testdata for the replay tests:
//
//	ORDO_WRITE_HISTORIES=1 go test ./internal/api -run TestWriteHistories -count=1
//
// It runs here and not on the `ordo dev` stack of internal/app, because
// the rules and task activities have no bodies yet. The worker of these
// tests serves them with fakes, and the histories record the fakes'
// results.
//
// TODO: capture these on the stack in internal/app once RulesActivities
// and TaskActivities are implemented.
func TestWriteHistoriesApprovals(t *testing.T) {
	if os.Getenv(writeHistoriesEnv) == "" {
		t.Skipf("set %s=1 to capture workflow histories", writeHistoriesEnv)
	}
	t.Run("price change escalated", func(t *testing.T) {
		doc := approvalRules()
		for i := range doc.Approvals.Routes {
			doc.Approvals.Routes[i].Levels[0].Timeout = rules.Duration(time.Second)
		}
		ts, _ := newWorkerServerWith(t, doc)
		id := uniqueApprovalID(t)
		request := discountRequest(id, "45000")
		request.Kind, request.Product = store.ApprovalPriceChange, "GTX Basic"
		price := decimal.RequireFromString("480.50")
		request.NewUnitPrice = &price
		if resp := ts.postJSON("/api/v1/approvals", request); resp.status != http.StatusAccepted {
			t.Fatalf("request: HTTP %d %s", resp.status, resp.body)
		}
		waitFor(t, 15*time.Second, "level 1 escalated", func() bool {
			live := ts.showApprovalView(id).Live
			return live != nil && live.EscalatedTo != ""
		})
		mustDecide(t, ts, id, "approve", "Cara Losch")
		ts.waitForDeciders(id, 2)
		mustDecide(t, ts, id, "approve", "Cara Losch")
		waitClosed(t, numbering.ApprovalWorkflowID(id))
		writeHistoryFile(t, numbering.ApprovalWorkflowID(id), "approval_price_change_escalated.json")
	})

	t.Run("renewal frozen", func(t *testing.T) {
		ts, _ := newWorkerServer(t)
		id := uniqueApprovalID(t)
		ctx := context.Background()
		freeze := &store.CustomerFreeze{Customer: "Cancity", Reason: "feature request unanswered", TicketID: "T-1", FrozenAt: time.Now().UTC()}
		if _, err := ts.store.DB.NewInsert().Model(freeze).Exec(ctx); err != nil {
			t.Fatalf("freeze: %v", err)
		}
		request := discountRequest(id, "12000")
		request.Kind = store.ApprovalRenewal
		if resp := ts.postJSON("/api/v1/approvals", request); resp.status != http.StatusAccepted {
			t.Fatalf("request: HTTP %d %s", resp.status, resp.body)
		}
		ts.waitForDeciders(id, 1)
		ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Dustin Brinkmann")).expectError(t, http.StatusConflict, "frozen")
		if _, err := ts.store.DB.NewUpdate().Model((*store.CustomerFreeze)(nil)).Set("lifted_at = ?", time.Now().UTC()).Where("ticket_id = 'T-1'").Exec(ctx); err != nil {
			t.Fatalf("lift: %v", err)
		}
		mustDecide(t, ts, id, "approve", "Dustin Brinkmann")
		waitClosed(t, numbering.ApprovalWorkflowID(id))
		writeHistoryFile(t, numbering.ApprovalWorkflowID(id), "approval_renewal_frozen.json")
	})

	t.Run("chain held and verified", func(t *testing.T) {
		ts, _ := newWorkerServer(t)
		var held string
		for _, rep := range []string{"Moses Frase", "Anna Snelling", "Versie Hillebrand"} {
			no := uniqueNo(t)
			held = no
			t.Cleanup(func() { terminateWorkflow(t, numbering.ContractWorkflowID(no)) })
			event := signedEvent("evt-"+no, no)
			event["account"] = map[string]any{"name": "Cancity"}
			event["sales_agent"] = rep
			if resp := ts.postSigned(contractSignedPath, mustJSON(t, event)); resp.status != http.StatusAccepted {
				t.Fatalf("event of %s: HTTP %d %s", no, resp.status, resp.body)
			}
		}
		waitFor(t, 15*time.Second, "third chain held", func() bool { return ts.contractState(held) == store.ContractNeedsAttention })
		resp := ts.postJSON("/api/v1/contracts/"+held+"/verify-phone", VerifyPhoneRequest{By: "Dustin Brinkmann", Note: "confirmed with the buyer"})
		if resp.status != http.StatusAccepted {
			t.Fatalf("verify: HTTP %d %s", resp.status, resp.body)
		}
		waitFor(t, 15*time.Second, "held chain invoiced", func() bool { return ts.contractState(held) == store.ContractInvoiced })
		payment := workflows.PaymentSignal{AllocationID: "BANK-H1/" + held, LineID: "BANK-H1", Amount: decimal.RequireFromString("1054.10"), BusinessDate: "20261204"}
		if err := temporalClient.SignalWorkflow(context.Background(), numbering.ContractWorkflowID(held), "", workflows.SignalPayment, payment); err != nil {
			t.Fatalf("pay: %v", err)
		}
		waitClosed(t, numbering.ContractWorkflowID(held))
		writeHistoryFile(t, numbering.ContractWorkflowID(held), "contract_to_cash_verification_held.json")
	})
}

func mustDecide(t *testing.T, ts *testServer, id, decision, by string) {
	t.Helper()
	if resp := ts.postJSON("/api/v1/approvals/"+id+"/decide", decide(decision, by)); resp.status != http.StatusOK {
		t.Fatalf("%s by %s: HTTP %d %s", decision, by, resp.status, resp.body)
	}
}

// waitClosed waits until a workflow completed.
func waitClosed(t *testing.T, workflowID string) {
	t.Helper()
	waitFor(t, 30*time.Second, workflowID+" completed", func() bool {
		return workflowStatus(t, workflowID) == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
}

// writeHistoryFile writes a workflow's history to workflows/testdata in
// the JSON form the replayer reads, failing when it contains the tests'
// webhook secret.
func writeHistoryFile(t *testing.T, workflowID, name string) {
	t.Helper()
	history := &historypb.History{}
	iter := temporalClient.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
	if bytes.Contains(data, testSecret) {
		t.Fatalf("history of %s contains the webhook secret", workflowID)
	}
	path := filepath.Join("..", "..", "workflows", "testdata", name)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	t.Logf("wrote %s: %d events of %s", path, len(history.Events), workflowID)
}
