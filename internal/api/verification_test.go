package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// contractState reads a contract's recorded state.
func (ts *testServer) contractState(no string) string {
	ts.t.Helper()
	contract, err := ts.store.GetContract(context.Background(), no)
	if err != nil {
		ts.t.Fatalf("read contract %s: %v", no, err)
	}
	return contract.State
}

// TestSigningVerificationThroughAPI posts three contracts of one customer
// by three reps: the chains of the first two go on, the third holds until
// the reps' supervisor records a phone verification.
func TestSigningVerificationThroughAPI(t *testing.T) {
	ts, env := newWorkerServer(t)
	reps := []string{"Moses Frase", "Anna Snelling", "Versie Hillebrand"}
	numbers := make([]string, len(reps))
	for i, rep := range reps {
		no := uniqueNo(t)
		numbers[i] = no
		t.Cleanup(func() { terminateWorkflow(t, numbering.ContractWorkflowID(no)) })
		event := signedEvent("evt-"+no, no)
		event["account"] = map[string]any{"name": "Cancity"}
		event["sales_agent"] = rep
		if resp := ts.postSigned(contractSignedPath, mustJSON(t, event)); resp.status != http.StatusAccepted {
			t.Fatalf("event of %s: HTTP %d %s", no, resp.status, resp.body)
		}
		if i < len(reps)-1 {
			// Each chain checks before the next contract is signed. A chain
			// that checked after the third mark would hold too, because the
			// window reaches both before and after its own mark.
			waitFor(t, 15*time.Second, "chain "+no+" passes the check", func() bool {
				return ts.contractState(no) != store.ContractSigned
			})
		}
	}
	first, held := numbers[0], numbers[2]

	waitFor(t, 15*time.Second, "third chain held", func() bool { return ts.contractState(held) == store.ContractNeedsAttention })
	for _, no := range numbers[:2] {
		if state := ts.contractState(no); state == store.ContractNeedsAttention || state == store.ContractSigned {
			t.Errorf("contract %s is %s, want its chain past the check: fewer than three reps had marked the customer signed then", no, state)
		}
	}
	var view ContractView
	ts.do(http.MethodGet, "/api/v1/contracts/"+held, nil, nil).decode(t, &view)
	v := view.Live.Verification
	if v == nil || !v.Waiting || v.Verifier != "Dustin Brinkmann" || len(v.Reps) != 3 {
		t.Fatalf("live verification = %+v, want waiting for Dustin Brinkmann after 3 reps", v)
	}

	verifyPath := "/api/v1/contracts/" + held + "/verify-phone"
	ts.postJSON("/api/v1/contracts/"+held+"/resume", ActionRequest{By: "ops"}).expectError(t, http.StatusConflict, "conflict",
		"ordo contract verify "+held)
	ts.postJSON(verifyPath, VerifyPhoneRequest{By: "Cara Losch"}).expectError(t, http.StatusForbidden, "not_allowed",
		"Cara Losch may not verify contract "+held+": only Dustin Brinkmann (supervisor of rep Versie Hillebrand)")
	ts.postJSON(verifyPath, VerifyPhoneRequest{}).expectError(t, http.StatusBadRequest, "invalid_argument", "by is required")
	ts.postJSON("/api/v1/contracts/"+first+"/verify-phone", VerifyPhoneRequest{By: "Dustin Brinkmann"}).expectError(t, http.StatusConflict,
		"conflict", "is not held for a phone verification")

	resp := ts.postJSON(verifyPath, VerifyPhoneRequest{By: "dustin brinkmann", Note: "called the customer's buyer"})
	if resp.status != http.StatusAccepted {
		t.Fatalf("verification by the supervisor: HTTP %d %s", resp.status, resp.body)
	}
	waitFor(t, 15*time.Second, "held chain released", func() bool {
		state := ts.contractState(held)
		return state != store.ContractNeedsAttention && state != store.ContractSigned
	})
	items, err := ts.store.ListAttention(context.Background(), store.AttentionFilter{ContractNo: held, Kind: store.AttentionSigningVerification, Limit: 5})
	if err != nil {
		t.Fatalf("read attention: %v", err)
	}
	if len(items) != 1 || items[0].ResolvedAt == nil {
		t.Errorf("attention items = %+v, want one resolved signing verification", items)
	}
	var verification []activities.TaskRequest
	for _, task := range env.tasks() {
		if task.Kind == activities.TaskVerification {
			verification = append(verification, task)
		}
	}
	if len(verification) != 1 || verification[0].Assignee != "Dustin Brinkmann" || verification[0].Subject != "contract:"+held {
		t.Errorf("verification tasks = %+v, want one for Dustin Brinkmann about %s", verification, held)
	}
}
