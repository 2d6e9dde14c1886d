package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/renewals"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/internal/tickets"
	"github.com/ordo-project/ordo/workflows"
)

// testRenewalTaskQueue has no worker, so a started renewal or ticket
// workflow stays running with its first task pending.
const testRenewalTaskQueue = "api-test-renewals"

// renewalRules returns one rules version: a 30-day notice and a one-year
// default term in Asia/Shanghai.
type renewalRules struct{}

func (renewalRules) Rules(context.Context, activities.RulesRequest) (activities.RulesVersion, error) {
	return activities.RulesVersion{Version: 5, Document: rules.Document{
		Renewals: rules.Renewals{
			NoticeBefore: rules.Duration(30 * 24 * time.Hour),
			DefaultTerm:  rules.Duration(365 * 24 * time.Hour),
		},
		Calendar: rules.Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:00"},
	}}, nil
}

// withProcesses wires the renewal planner and the ticket starter to the
// test server, on a task queue without a worker.
func withProcesses(s *Server) {
	s.Renewals = &renewals.Starter{Store: s.Store, Client: temporalClient, Rules: renewalRules{},
		TaskQueue: testRenewalTaskQueue, Logger: s.Logger, Now: func() time.Time { return testNow }}
	s.Tickets = &tickets.Starter{Store: s.Store, Client: temporalClient, TaskQueue: testRenewalTaskQueue, Logger: s.Logger}
}

// postEventWithEndDate records a contract through the webhook, with
// endDate unless it is empty, and ends its workflows with the test.
func postEventWithEndDate(t *testing.T, ts *testServer, no, signedOn, endDate string) response {
	t.Helper()
	event := signedEvent("evt-"+no, no)
	event["signed_on"] = signedOn
	if endDate != "" {
		event["end_date"] = endDate
	}
	t.Cleanup(func() {
		terminateWorkflow(t, workflows.RenewalWorkflowID(no))
		terminateWorkflow(t, "contract-to-cash-"+no)
	})
	return ts.postSigned(contractSignedPath, mustJSON(t, event))
}

func getContract(t *testing.T, ts *testServer, no string) *store.Contract {
	t.Helper()
	contract, err := ts.store.GetContract(context.Background(), no)
	if err != nil {
		t.Fatalf("read contract %s: %v", no, err)
	}
	return contract
}

func TestRenewalPlannedFromEvent(t *testing.T) {
	storetest.RequirePostgres(t)
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			ts := newTestServer(t, driver, withProcesses)

			t.Run("future end date starts a workflow", func(t *testing.T) {
				no := uniqueNo(t)
				if resp := postEventWithEndDate(t, ts, no, "2026-11-30", "2027-06-30"); resp.status != http.StatusAccepted {
					t.Fatalf("event: status %d; body %s", resp.status, resp.body)
				}
				contract := getContract(t, ts, no)
				if contract.RenewalState != store.RenewalScheduled {
					t.Errorf("renewal state %q, expected scheduled", contract.RenewalState)
				}
				if contract.EndDate == nil || contract.EndDate.Format(time.DateOnly) != "2027-06-30" {
					t.Errorf("end date %v, expected 2027-06-30", contract.EndDate)
				}
				if want := time.Date(2027, 5, 31, 1, 0, 0, 0, time.UTC); contract.RenewalRemindAt == nil || !contract.RenewalRemindAt.Equal(want) {
					t.Errorf("remind at %v, expected %s", contract.RenewalRemindAt, want)
				}
				if status := workflowStatus(t, workflows.RenewalWorkflowID(no)); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
					t.Errorf("renewal workflow %s, expected running", status)
				}
			})

			t.Run("imported-style contract expired before ordo knew it", func(t *testing.T) {
				no := uniqueNo(t)
				if resp := postEventWithEndDate(t, ts, no, "2017-03-01", ""); resp.status != http.StatusAccepted {
					t.Fatalf("event: status %d; body %s", resp.status, resp.body)
				}
				contract := getContract(t, ts, no)
				if contract.RenewalState != store.RenewalExpired {
					t.Errorf("renewal state %q, expected expired", contract.RenewalState)
				}
				if contract.EndDate == nil || contract.EndDate.Format(time.DateOnly) != "2018-03-01" {
					t.Errorf("end date %v, expected signed_on + default term = 2018-03-01", contract.EndDate)
				}
				if status := workflowStatus(t, workflows.RenewalWorkflowID(no)); status != enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
					t.Errorf("renewal workflow %s, expected none for an expired contract", status)
				}
			})

			t.Run("end date before signing rejected", func(t *testing.T) {
				no := uniqueNo(t)
				postEventWithEndDate(t, ts, no, "2026-11-30", "2026-01-01").
					expectError(t, http.StatusUnprocessableEntity, "invalid_contract", "end_date", "before signed_on")
			})

			t.Run("end date not a date", func(t *testing.T) {
				no := uniqueNo(t)
				postEventWithEndDate(t, ts, no, "2026-11-30", "30.06.2027").
					expectError(t, http.StatusBadRequest, "invalid_argument", "end_date", "YYYY-MM-DD")
			})

			t.Run("repeat with another end date conflicts", func(t *testing.T) {
				no := uniqueNo(t)
				postEventWithEndDate(t, ts, no, "2026-11-30", "2027-06-30")
				event := signedEvent("evt-again-"+no, no)
				event["end_date"] = "2027-07-31"
				ts.postSigned(contractSignedPath, mustJSON(t, event)).
					expectError(t, http.StatusConflict, "contract_conflict", "end_date 2027-06-30, not 2027-07-31")
			})
		})
	}
}

func TestRenewalPlanPending(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	ctx := context.Background()
	expired := seedContract(t, ts, uniqueNo(t), store.ContractClosed, false)
	future := seedContract(t, ts, uniqueNo(t), store.ContractSigned, false)
	end := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	for _, c := range []*store.Contract{expired, future} {
		if _, err := store.RecordRenewal(ctx, ts.store.DB, store.RenewalChange{ContractNo: c.ContractNo, State: store.RenewalPending}); err != nil {
			t.Fatalf("mark %s pending: %v", c.ContractNo, err)
		}
	}
	if err := store.SetContractEndDate(ctx, ts.store.DB, expired.ContractNo, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("set end date: %v", err)
	}
	if err := store.SetContractEndDate(ctx, ts.store.DB, future.ContractNo, end); err != nil {
		t.Fatalf("set end date: %v", err)
	}
	t.Cleanup(func() { terminateWorkflow(t, workflows.RenewalWorkflowID(future.ContractNo)) })

	counts, err := ts.server.Renewals.PlanPending(ctx)
	if err != nil {
		t.Fatalf("plan pending renewals: %v", err)
	}
	if counts.Expired != 1 || counts.Scheduled != 1 {
		t.Errorf("counts %+v, expected 1 expired and 1 scheduled", counts)
	}
	if got := getContract(t, ts, expired.ContractNo).RenewalState; got != store.RenewalExpired {
		t.Errorf("past end date: state %q, expected expired", got)
	}
	if got := getContract(t, ts, future.ContractNo).RenewalState; got != store.RenewalScheduled {
		t.Errorf("future end date: state %q, expected scheduled", got)
	}
	// A second pass finds nothing and starts nothing twice.
	if again, err := ts.server.Renewals.PlanPending(ctx); err != nil || again != (renewals.PlanCounts{}) {
		t.Errorf("second pass counts %+v err %v, expected nothing to do", again, err)
	}
}

func TestRenewalEndDateRoute(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	no := uniqueNo(t)
	postEventWithEndDate(t, ts, no, "2017-03-01", "")
	path := "/api/v1/contracts/" + no + "/end-date"
	workflowID := workflows.RenewalWorkflowID(no)

	// The expired contract has no workflow: setting a date starts one.
	resp := ts.postJSON(path, EndDateRequest{EndDate: "2027-09-30", By: "Lin Fang"})
	if resp.status != http.StatusAccepted {
		t.Fatalf("set end date: status %d; body %s", resp.status, resp.body)
	}
	if status := workflowStatus(t, workflowID); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("renewal workflow %s, expected started", status)
	}
	contract := getContract(t, ts, no)
	if contract.RenewalState != store.RenewalScheduled || contract.EndDate.Format(time.DateOnly) != "2027-09-30" {
		t.Errorf("renewal %q end %v", contract.RenewalState, contract.EndDate)
	}

	// With the workflow running, a new date is signalled to it.
	if resp := ts.postJSON(path, EndDateRequest{EndDate: "2027-08-31", By: "Lin Fang"}); resp.status != http.StatusAccepted {
		t.Fatalf("move end date: status %d; body %s", resp.status, resp.body)
	}
	changes := signalsOf[workflows.EndDateChange](t, workflowID, workflows.SignalEndDateChanged)
	if len(changes) != 2 || changes[1].EndDate.Format(time.DateOnly) != "2027-08-31" || changes[1].By != "Lin Fang" {
		t.Errorf("end date signals %+v, expected two, the last for 2027-08-31", changes)
	}

	ts.postJSON(path, EndDateRequest{EndDate: "2026-12-03"}).expectError(t, http.StatusUnprocessableEntity, "invalid_date", "has passed")
	ts.postJSON(path, EndDateRequest{EndDate: "2027/08/31"}).expectError(t, http.StatusBadRequest, "invalid_argument", "YYYY-MM-DD")
	ts.postJSON(path, EndDateRequest{}).expectError(t, http.StatusBadRequest, "invalid_argument", "end_date is required")
	ts.postJSON("/api/v1/contracts/CT-NONE/end-date", EndDateRequest{EndDate: "2027-08-31"}).
		expectError(t, http.StatusNotFound, "not_found", "CT-NONE")
}

func TestRenewalActionRoute(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	running := uniqueNo(t)
	postEventWithEndDate(t, ts, running, "2026-11-30", "2027-06-30")
	expired := uniqueNo(t)
	postEventWithEndDate(t, ts, expired, "2017-03-01", "")
	path := func(no string) string { return "/api/v1/contracts/" + no + "/renewal" }

	resp := ts.postJSON(path(running), RenewalRequest{Action: RenewalActionActed, Note: "called the buyer", By: "Lin Fang"})
	if resp.status != http.StatusAccepted {
		t.Fatalf("acted: status %d; body %s", resp.status, resp.body)
	}
	acted := signalsOf[workflows.RenewalActed](t, workflows.RenewalWorkflowID(running), workflows.SignalRenewalActed)
	if len(acted) != 1 || acted[0].By != "Lin Fang" || acted[0].Note != "called the buyer" {
		t.Errorf("acted signals %+v", acted)
	}
	ts.postJSON(path(expired), RenewalRequest{Action: RenewalActionActed}).
		expectError(t, http.StatusConflict, "conflict", "no renewal workflow runs")

	ts.postJSON(path(running), RenewalRequest{Action: RenewalActionRenewed, NewEndDate: "2027-05-01"}).
		expectError(t, http.StatusUnprocessableEntity, "invalid_date", "not after the current end date 2027-06-30")
	resp = ts.postJSON(path(running), RenewalRequest{Action: RenewalActionRenewed, NewEndDate: "2028-06-30", By: "Lin Fang"})
	if resp.status != http.StatusAccepted {
		t.Fatalf("renewed: status %d; body %s", resp.status, resp.body)
	}
	renewed := signalsOf[workflows.RenewalRenewed](t, workflows.RenewalWorkflowID(running), workflows.SignalRenewalRenewed)
	if len(renewed) != 1 || renewed[0].NewEndDate == nil || renewed[0].NewEndDate.Format(time.DateOnly) != "2028-06-30" {
		t.Errorf("renewed signals %+v", renewed)
	}

	// Renewing a contract without a workflow starts one to record it.
	if resp := ts.postJSON(path(expired), RenewalRequest{Action: RenewalActionRenewed, By: "Lin Fang"}); resp.status != http.StatusAccepted {
		t.Fatalf("renew expired: status %d; body %s", resp.status, resp.body)
	}
	if status := workflowStatus(t, workflows.RenewalWorkflowID(expired)); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("renewal workflow of the expired contract %s, expected started to record the renewal", status)
	}

	ts.postJSON(path(running), RenewalRequest{Action: "extended"}).expectError(t, http.StatusBadRequest, "invalid_argument", "acted or renewed")
	ts.postJSON(path(running), RenewalRequest{Action: RenewalActionActed, NewEndDate: "2028-06-30"}).
		expectError(t, http.StatusBadRequest, "invalid_argument", "only with the action renewed")

	var view RenewalView
	resp = ts.do(http.MethodGet, path(running)+"?live=false", nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("show renewal: status %d; body %s", resp.status, resp.body)
	}
	resp.decode(t, &view)
	if view.State != store.RenewalScheduled || view.WorkflowID != workflows.RenewalWorkflowID(running) || view.Customer != "Acme Corporation" {
		t.Errorf("renewal view %+v", view)
	}
}

func TestRenewalEndsWithCancellation(t *testing.T) {
	ts := newTestServer(t, "sqlite", withProcesses)
	ctx := context.Background()
	running := uniqueNo(t)
	postEventWithEndDate(t, ts, running, "2026-11-30", "2027-06-30")
	ts.waitChainStarted(running)
	resp := ts.postJSON("/api/v1/contracts/"+running+"/cancel", ActionRequest{Reason: "customer withdrew", By: "ops"})
	if resp.status != http.StatusAccepted {
		t.Fatalf("cancel: status %d; body %s", resp.status, resp.body)
	}
	cancelled := signalsOf[workflows.ContractCancelled](t, workflows.RenewalWorkflowID(running), workflows.SignalContractCancelled)
	if len(cancelled) != 1 || cancelled[0].Reason != "customer withdrew" || cancelled[0].By != "ops" {
		t.Errorf("cancellation signals %+v", cancelled)
	}

	// Without a renewal workflow the cancellation is recorded directly and
	// clears a red tag the contract left.
	expired := uniqueNo(t)
	postEventWithEndDate(t, ts, expired, "2017-03-01", "")
	ts.waitChainStarted(expired)
	source := "contract:" + expired
	if err := store.TagCustomer(ctx, ts.store.DB, &store.CustomerTag{Customer: "Acme Corporation", Tag: store.TagRenewalDue, Color: store.ColorRed, Source: source}); err != nil {
		t.Fatalf("tag customer: %v", err)
	}
	if resp := ts.postJSON("/api/v1/contracts/"+expired+"/cancel", ActionRequest{Reason: "duplicate", By: "ops"}); resp.status != http.StatusAccepted {
		t.Fatalf("cancel expired: status %d; body %s", resp.status, resp.body)
	}
	if got := getContract(t, ts, expired).RenewalState; got != store.RenewalCancelled {
		t.Errorf("renewal state %q, expected cancelled", got)
	}
	tags, err := store.CustomerTags(ctx, ts.store.DB, "Acme Corporation", false)
	if err != nil {
		t.Fatalf("read tags: %v", err)
	}
	for _, tag := range tags {
		if tag.Source == source {
			t.Errorf("the cancelled contract's tag is still open: %+v", tag)
		}
	}
	ts.postJSON("/api/v1/contracts/"+expired+"/end-date", EndDateRequest{EndDate: "2027-08-31"}).
		expectError(t, http.StatusConflict, "conflict", "cancelled")
}

// TestImportPlansExpiredRenewals imports the sample export, whose
// contracts all ended in 2018 under a one-year default term. They must be
// recorded as expired, with no renewal workflow and no reminder.
func TestImportPlansExpiredRenewals(t *testing.T) {
	parts := readSampleExport(t)
	ts := newTestServer(t, "sqlite", func(s *Server) {
		withProcesses(s)
		s.Contracts = &countingStarter{store: s.Store}
	})
	final := finalSummary(t, importEvents(t, postUpload(t, ts, parts)))
	if final.Summary.Contracts.Created != sampleWonDeals {
		t.Fatalf("created %d contracts, expected %d", final.Summary.Contracts.Created, sampleWonDeals)
	}
	want := []store.StateCount{{State: store.RenewalExpired, Count: sampleWonDeals}}
	if len(final.Renewals) != 1 || final.Renewals[0] != want[0] {
		t.Errorf("renewal states %+v, expected %+v", final.Renewals, want)
	}
	contracts, err := ts.store.ListContracts(context.Background(), store.ContractFilter{Limit: 1})
	if err != nil || len(contracts) != 1 {
		t.Fatalf("list contracts: %v", err)
	}
	if status := workflowStatus(t, workflows.RenewalWorkflowID(contracts[0].ContractNo)); status != enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		t.Errorf("renewal workflow of an expired imported contract is %s, expected none", status)
	}
}
