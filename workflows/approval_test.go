package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

const (
	testRep        = "Moses Frase"
	testSupervisor = "Dustin Brinkmann"
	testDirector   = "Cara Losch"
	testFinance    = "Wilburn Farren"
	testCOO        = "Rosalina Dieter"
)

func decimalPtrOf(text string) *decimal.Decimal {
	d := decimal.RequireFromString(text)
	return &d
}

// testApprovalRules has three routes: up to 30,000 CNY the supervisor; up
// to 100,000 also the sales director; above that also finance. Each level
// escalates after its timeout.
func testApprovalRules() rules.Document {
	return rules.Document{
		Approvals: rules.Approvals{
			Currency: "CNY",
			Template: "approval_request",
			Routes: []rules.Route{
				{UpTo: decimalPtrOf("30000"), Levels: []rules.Level{
					{Role: rules.RoleSupervisor, Timeout: rules.Duration(24 * time.Hour), Hours: rules.CalendarHours, EscalateTo: rules.RoleSalesDirector},
				}},
				{UpTo: decimalPtrOf("100000"), Levels: []rules.Level{
					{Role: rules.RoleSupervisor, Timeout: rules.Duration(24 * time.Hour), Hours: rules.CalendarHours, EscalateTo: rules.RoleSalesDirector},
					{Role: rules.RoleSalesDirector, Timeout: rules.Duration(48 * time.Hour), Hours: rules.WorkingHours, EscalateTo: rules.RoleCOO},
				}},
				{Levels: []rules.Level{
					{Role: rules.RoleSupervisor, Timeout: rules.Duration(24 * time.Hour), Hours: rules.CalendarHours, EscalateTo: rules.RoleSalesDirector},
					{Role: rules.RoleSalesDirector, Timeout: rules.Duration(48 * time.Hour), Hours: rules.WorkingHours, EscalateTo: rules.RoleCOO},
					{Role: rules.RoleFinance, Timeout: rules.Duration(72 * time.Hour), Hours: rules.WorkingHours, EscalateTo: rules.RoleCOO},
				}},
			},
		},
		People: rules.People{
			EmailDomain: "example.com",
			Roles: map[string]rules.Person{
				rules.RoleSalesDirector: {Name: testDirector},
				rules.RoleFinance:       {Name: testFinance},
				rules.RoleCOO:           {Name: testCOO, Phone: "+8613800000000"},
			},
		},
	}
}

func testApprovalInput(kind, amount string) ApprovalInput {
	in := ApprovalInput{
		ID: "AP-1", Kind: kind, Customer: "Cancity", CustomerNo: "CUST-1", RequestedBy: testRep,
		Amount: decimal.RequireFromString(amount), Currency: "CNY", Reason: "competitor offer",
	}
	if kind == store.ApprovalPriceChange {
		in.Product, in.ProductNo = "GTX Basic", "MAT-1"
		in.NewUnitPrice = decimalPtrOf("480.50")
	}
	if kind == store.ApprovalRenewal {
		in.ContractNo = "CT-RENEW1"
	}
	return in
}

// approvalTest wires a test environment with every activity mocked.
type approvalTest struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	acts  *activities.ApprovalActivities
	rules *activities.RulesActivities
	tasks *activities.TaskActivities
	doc   rules.Document

	mu       sync.Mutex
	opened   []activities.TaskRequest
	closed   []activities.CloseTasksRequest
	records  []store.Approval
	erpCalls []activities.PriceChangeInput
	frozen   bool
	// erpFailures makes the first ERP writes fail with these errors.
	erpFailures []error
	updates     map[string]*updateOutcome
}

// updateOutcome is what the test environment reported for one update.
type updateOutcome struct {
	rejected error
	err      error
	result   DecideResult
	done     bool
}

func newApprovalTest(t *testing.T) *approvalTest {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	at := &approvalTest{
		t: t, env: suite.NewTestWorkflowEnvironment(), acts: &activities.ApprovalActivities{},
		rules: &activities.RulesActivities{}, tasks: &activities.TaskActivities{},
		doc: testApprovalRules(), updates: map[string]*updateOutcome{},
	}
	at.env.RegisterWorkflow(Approval)
	at.env.RegisterActivity(at.acts)
	at.env.RegisterActivity(at.rules)
	at.env.RegisterActivity(at.tasks)
	return at
}

func (at *approvalTest) mockAll() {
	env := at.env
	env.OnActivity(at.rules.Rules, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RulesRequest) (activities.RulesVersion, error) {
			return activities.RulesVersion{Version: 7, Document: at.doc}, nil
		})
	env.OnActivity(at.rules.Deadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeadlineRequest) (activities.DeadlineResult, error) {
			return activities.DeadlineResult{Deadline: in.Start.Add(in.Within.D()), Now: in.Start}, nil
		})
	env.OnActivity(at.acts.PrepareApproval, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PrepareApprovalInput) (activities.PrepareApprovalResult, error) {
			rate := decimal.NewFromInt(1)
			if in.Currency == "USD" {
				rate = decimal.RequireFromString("7.1")
			}
			return activities.PrepareApprovalResult{
				AmountInRuleCurrency: in.Amount.Mul(rate).Round(2), ExchangeRate: rate, Supervisor: testSupervisor,
			}, nil
		})
	env.OnActivity(at.acts.RecordApproval, mock.Anything, mock.Anything).Return(
		func(_ context.Context, a store.Approval) error {
			at.mu.Lock()
			defer at.mu.Unlock()
			at.records = append(at.records, a)
			return nil
		})
	env.OnActivity(at.acts.CheckRenewalFreeze, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FreezeCheck) (activities.FreezeResult, error) {
			at.mu.Lock()
			defer at.mu.Unlock()
			if at.frozen {
				return activities.FreezeResult{Frozen: true, Reason: "feature request T-9 unanswered for 48 hours"}, nil
			}
			return activities.FreezeResult{}, nil
		})
	env.OnActivity(at.acts.WritePriceChange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PriceChangeInput) (connectors.Document, error) {
			at.mu.Lock()
			defer at.mu.Unlock()
			at.erpCalls = append(at.erpCalls, in)
			if len(at.erpFailures) > 0 {
				err := at.erpFailures[0]
				at.erpFailures = at.erpFailures[1:]
				return connectors.Document{}, err
			}
			return connectors.Document{Kind: connectors.KindPriceList, FormID: "BD_SAL_PriceList", Number: in.Change.Number, ID: "100", Status: "C", Created: true}, nil
		})
	env.OnActivity(at.tasks.OpenTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TaskRequest) (activities.TaskResult, error) {
			at.mu.Lock()
			defer at.mu.Unlock()
			at.opened = append(at.opened, in)
			return activities.TaskResult{TaskID: int64(len(at.opened)), Created: true}, nil
		})
	env.OnActivity(at.tasks.CloseTasks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseTasksRequest) error {
			at.mu.Lock()
			defer at.mu.Unlock()
			at.closed = append(at.closed, in)
			return nil
		})
}

// decide sends the decide update after delay; name identifies its outcome.
func (at *approvalTest) decide(delay time.Duration, name, decision, by string) {
	outcome := &updateOutcome{}
	at.updates[name] = outcome
	at.env.RegisterDelayedCallback(func() {
		at.env.UpdateWorkflow(UpdateDecide, name, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { outcome.rejected = err; outcome.done = true },
			OnComplete: func(result any, err error) {
				outcome.err = err
				if r, ok := result.(DecideResult); ok {
					outcome.result = r
				}
				outcome.done = true
			},
		}, DecideRequest{Decision: decision, By: by, Comment: name})
	}, delay)
}

// run executes the workflow and returns its result; the workflow must
// complete without error.
func (at *approvalTest) run(in ApprovalInput) ApprovalStatus {
	at.t.Helper()
	status, err := at.execute(in)
	if err != nil {
		at.t.Fatalf("workflow failed: %v", err)
	}
	return status
}

func (at *approvalTest) execute(in ApprovalInput) (ApprovalStatus, error) {
	at.t.Helper()
	at.mockAll()
	at.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: numbering.ApprovalWorkflowID(in.ID)})
	at.env.ExecuteWorkflow(Approval, in)
	if !at.env.IsWorkflowCompleted() {
		at.t.Fatal("workflow did not complete")
	}
	var status ApprovalStatus
	if err := at.env.GetWorkflowError(); err != nil {
		return status, err
	}
	if err := at.env.GetWorkflowResult(&status); err != nil {
		at.t.Fatalf("read workflow result: %v", err)
	}
	return status, nil
}

// outcome returns the outcome of a sent update, failing when the test
// environment reported none.
func (at *approvalTest) outcome(name string) *updateOutcome {
	at.t.Helper()
	o := at.updates[name]
	if o == nil || !o.done {
		at.t.Fatalf("update %s was not answered", name)
	}
	return o
}

func (at *approvalTest) lastRecord() store.Approval {
	at.t.Helper()
	at.mu.Lock()
	defer at.mu.Unlock()
	if len(at.records) == 0 {
		at.t.Fatal("the approval was never recorded")
	}
	return at.records[len(at.records)-1]
}

func (at *approvalTest) taskKeys() []string {
	at.mu.Lock()
	defer at.mu.Unlock()
	keys := make([]string, len(at.opened))
	for i, task := range at.opened {
		keys[i] = task.Key + " -> " + task.Assignee
	}
	return keys
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestApprovalOneLevelApproved(t *testing.T) {
	at := newApprovalTest(t)
	at.decide(time.Hour, "approve", store.DecisionApprove, testSupervisor)

	status := at.run(testApprovalInput(store.ApprovalDiscount, "20000"))

	if status.State != store.ApprovalApproved {
		t.Fatalf("state = %s, want approved", status.State)
	}
	if status.Route == nil || status.Route.Index != 0 || status.Route.Description != "up to 30000 CNY: supervisor" {
		t.Errorf("route = %+v, want the first route", status.Route)
	}
	if status.RulesVersion != 7 {
		t.Errorf("rules version = %d, want 7 fixed at the start", status.RulesVersion)
	}
	result := at.outcome("approve").result
	if result.State != store.ApprovalApproved || result.Level != 1 || result.NextApprover != "" {
		t.Errorf("decide result = %+v, want level 1 approving the request", result)
	}
	if want := []string{"approval-AP-1/level-1/approver -> " + testSupervisor}; !equalStrings(at.taskKeys(), want) {
		t.Errorf("tasks = %v, want %v", at.taskKeys(), want)
	}
	task := at.opened[0]
	if task.Kind != activities.TaskApproval || task.Subject != "approval:AP-1" || task.Template != "approval_request" ||
		task.Email != "dustin.brinkmann@example.com" || task.Due == nil {
		t.Errorf("task = %+v, want an approval task for the supervisor with a due time", task)
	}
	record := at.lastRecord()
	if record.State != store.ApprovalApproved || record.FinishedAt == nil || len(record.Decisions) != 1 || record.Decisions[0].By != testSupervisor {
		t.Errorf("last record = %+v, want approved with the supervisor's decision", record)
	}
	if len(at.closed) != 1 || at.closed[0].Subject != "approval:AP-1" {
		t.Errorf("closed tasks = %+v, want the approval's tasks closed once", at.closed)
	}
	if len(at.erpCalls) != 0 {
		t.Errorf("a discount wrote %d price changes to the ERP, want none", len(at.erpCalls))
	}
}

func TestApprovalTwoLevelsApproved(t *testing.T) {
	at := newApprovalTest(t)
	// The supervisor's name is matched ignoring case and spaces.
	at.decide(time.Hour, "first", store.DecisionApprove, "  dustin brinkmann ")
	at.decide(5*time.Hour, "second", store.DecisionApprove, testDirector)

	status := at.run(testApprovalInput(store.ApprovalDiscount, "45000"))

	if status.State != store.ApprovalApproved {
		t.Fatalf("state = %s, want approved", status.State)
	}
	first := at.outcome("first").result
	if first.State != store.ApprovalPending || first.NextLevel != 2 || first.NextApprover != testDirector || first.By != testSupervisor {
		t.Errorf("first decision result = %+v, want pending for the sales director", first)
	}
	if at.outcome("second").result.State != store.ApprovalApproved {
		t.Errorf("second decision result = %+v, want approved", at.outcome("second").result)
	}
	want := []string{
		"approval-AP-1/level-1/approver -> " + testSupervisor,
		"approval-AP-1/level-2/approver -> " + testDirector,
	}
	if !equalStrings(at.taskKeys(), want) {
		t.Errorf("tasks = %v, want %v", at.taskKeys(), want)
	}
	if len(status.Decisions) != 2 || status.Decisions[1].Level != 2 || status.Decisions[1].Seq != 2 {
		t.Errorf("decisions = %+v, want one per level", status.Decisions)
	}
}

func TestApprovalConvertsCurrency(t *testing.T) {
	at := newApprovalTest(t)
	at.decide(time.Hour, "first", store.DecisionApprove, testSupervisor)
	at.decide(2*time.Hour, "second", store.DecisionApprove, testDirector)
	in := testApprovalInput(store.ApprovalDiscount, "5000")
	in.Currency = "USD"

	status := at.run(in)

	// 5,000 USD at 7.1 is 35,500 CNY, above the first route's 30,000.
	if !status.AmountInRuleCurrency.Equal(decimal.NewFromInt(35500)) || status.Route.Index != 1 {
		t.Errorf("converted amount %s on route %d, want 35500 on route 1", status.AmountInRuleCurrency, status.Route.Index)
	}
	if record := at.lastRecord(); !record.AmountInRuleCurrency.Valid || !record.ExchangeRate.Decimal.Equal(decimal.RequireFromString("7.1")) {
		t.Errorf("record = %+v, want the converted amount and rate", record)
	}
}

func TestApprovalRejectedAtEachLevel(t *testing.T) {
	deciders := []string{testSupervisor, testDirector, testFinance}
	for level := 1; level <= 3; level++ {
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			at := newApprovalTest(t)
			for i := 1; i < level; i++ {
				at.decide(time.Duration(i)*time.Hour, fmt.Sprintf("approve-%d", i), store.DecisionApprove, deciders[i-1])
			}
			at.decide(time.Duration(level)*time.Hour, "reject", store.DecisionReject, deciders[level-1])

			status := at.run(testApprovalInput(store.ApprovalDiscount, "150000"))

			if status.State != store.ApprovalRejected {
				t.Fatalf("state = %s, want rejected", status.State)
			}
			if got := at.outcome("reject").result; got.State != store.ApprovalRejected || got.Level != level {
				t.Errorf("reject result = %+v, want rejected at level %d", got, level)
			}
			if len(at.opened) != level {
				t.Errorf("opened %d tasks, want %d: no level after the rejection", len(at.opened), level)
			}
			if record := at.lastRecord(); record.State != store.ApprovalRejected || record.CurrentLevel != level || len(record.Decisions) != level {
				t.Errorf("last record = state %s level %d with %d decisions", record.State, record.CurrentLevel, len(record.Decisions))
			}
		})
	}
}

func TestApprovalTimedOutAfterEscalationAtEachLevel(t *testing.T) {
	cases := []struct {
		level      int
		escalateTo string
		timeout    time.Duration
	}{
		{1, testDirector, 24 * time.Hour},
		{2, testCOO, 48 * time.Hour},
		{3, testCOO, 72 * time.Hour},
	}
	deciders := []string{testSupervisor, testDirector, testFinance}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("level %d", tc.level), func(t *testing.T) {
			at := newApprovalTest(t)
			for i := 1; i < tc.level; i++ {
				at.decide(time.Duration(i)*time.Hour, fmt.Sprintf("approve-%d", i), store.DecisionApprove, deciders[i-1])
			}
			started := at.env.Now()

			status := at.run(testApprovalInput(store.ApprovalDiscount, "150000"))

			if status.State != store.ApprovalTimedOut {
				t.Fatalf("state = %s, want timed_out", status.State)
			}
			keys := at.taskKeys()
			if len(keys) != tc.level+1 {
				t.Fatalf("tasks = %v, want one per level and one escalation", keys)
			}
			wantEscalation := fmt.Sprintf("approval-AP-1/level-%d/escalation -> %s", tc.level, tc.escalateTo)
			if keys[tc.level] != wantEscalation {
				t.Errorf("last task = %s, want %s", keys[tc.level], wantEscalation)
			}
			escalation := at.opened[tc.level]
			approverTask := at.opened[tc.level-1]
			if escalation.Due == nil || approverTask.Due == nil || escalation.Due.Sub(*approverTask.Due) != tc.timeout {
				t.Errorf("escalation due %v, approver due %v: want them one timeout (%s) apart", escalation.Due, approverTask.Due, tc.timeout)
			}
			if escalation.Params["escalated_from"] != deciders[tc.level-1] {
				t.Errorf("escalation params = %v, want escalated_from %s", escalation.Params, deciders[tc.level-1])
			}
			// The level waited its timeout twice after the earlier levels' decisions.
			elapsed := at.env.Now().Sub(started)
			if want := time.Duration(tc.level-1)*time.Hour + 2*tc.timeout; elapsed != want {
				t.Errorf("workflow ran %s, want %s", elapsed, want)
			}
			if record := at.lastRecord(); record.State != store.ApprovalTimedOut || record.EscalatedTo != tc.escalateTo {
				t.Errorf("last record = state %s escalated to %q", record.State, record.EscalatedTo)
			}
		})
	}
}

func TestApprovalEscalationTargetDecides(t *testing.T) {
	t.Run("target approves", func(t *testing.T) {
		at := newApprovalTest(t)
		// Before the timeout only the supervisor may decide.
		at.decide(23*time.Hour, "too early", store.DecisionApprove, testDirector)
		at.decide(30*time.Hour, "target", store.DecisionApprove, testDirector)

		status := at.run(testApprovalInput(store.ApprovalDiscount, "20000"))

		if status.State != store.ApprovalApproved {
			t.Fatalf("state = %s, want approved", status.State)
		}
		early := at.outcome("too early").rejected
		if early == nil || !strings.Contains(early.Error(), "can be decided only by "+testSupervisor) {
			t.Errorf("decision before the escalation: %v, want it rejected naming the supervisor", early)
		}
		if by := status.Decisions[0].By; by != testDirector || len(status.Decisions) != 1 {
			t.Errorf("decisions = %+v, want the escalation target's only", status.Decisions)
		}
		if status.EscalatedTo != testDirector {
			t.Errorf("escalated to %q, want %s", status.EscalatedTo, testDirector)
		}
	})
	t.Run("approver still decides after the escalation", func(t *testing.T) {
		at := newApprovalTest(t)
		at.decide(30*time.Hour, "approver", store.DecisionReject, testSupervisor)

		status := at.run(testApprovalInput(store.ApprovalDiscount, "20000"))

		if status.State != store.ApprovalRejected || status.Decisions[0].By != testSupervisor {
			t.Errorf("state %s decisions %+v, want rejected by the supervisor after the escalation", status.State, status.Decisions)
		}
	})
	t.Run("next level after an escalated one", func(t *testing.T) {
		at := newApprovalTest(t)
		at.decide(25*time.Hour, "target", store.DecisionApprove, testDirector)
		at.decide(26*time.Hour, "director", store.DecisionApprove, testDirector)

		status := at.run(testApprovalInput(store.ApprovalDiscount, "45000"))

		if status.State != store.ApprovalApproved || len(status.Decisions) != 2 {
			t.Fatalf("state %s decisions %+v, want approved by the director on both levels", status.State, status.Decisions)
		}
		if at.outcome("target").result.NextApprover != testDirector {
			t.Errorf("first result = %+v, want the director next", at.outcome("target").result)
		}
	})
}

func TestApprovalDecisionNotAllowed(t *testing.T) {
	at := newApprovalTest(t)
	at.decide(time.Hour, "stranger", store.DecisionApprove, "Anna Snelling")
	at.decide(2*time.Hour, "requester", store.DecisionApprove, testRep)
	at.decide(3*time.Hour, "unknown", "maybe", testSupervisor)
	at.decide(4*time.Hour, "nobody", store.DecisionApprove, "  ")
	at.decide(30*time.Hour, "stranger after escalation", store.DecisionReject, testFinance)
	at.decide(31*time.Hour, "approve", store.DecisionApprove, testSupervisor)

	status := at.run(testApprovalInput(store.ApprovalDiscount, "20000"))

	if status.State != store.ApprovalApproved || len(status.Decisions) != 1 {
		t.Fatalf("state %s decisions %+v, want only the supervisor's approval", status.State, status.Decisions)
	}
	cases := []struct {
		update  string
		errType string
		message string
	}{
		{"stranger", ErrTypeNotAllowed, "Anna Snelling may not decide approval AP-1: level 1 (supervisor) can be decided only by Dustin Brinkmann"},
		{"requester", ErrTypeNotAllowed, "Moses Frase may not decide approval AP-1: level 1 (supervisor) can be decided only by Dustin Brinkmann"},
		{"unknown", activities.ErrTypeInput, `unknown decision "maybe": use approve or reject`},
		{"nobody", activities.ErrTypeInput, "by is required: name the person who decides"},
		{"stranger after escalation", ErrTypeNotAllowed,
			"Wilburn Farren may not decide approval AP-1: level 1 (supervisor) can be decided only by Dustin Brinkmann or Cara Losch, to whom it escalated after its timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.update, func(t *testing.T) {
			rejected := at.outcome(tc.update).rejected
			var appErr *temporal.ApplicationError
			if !errors.As(rejected, &appErr) {
				t.Fatalf("update %s: %v, want it rejected by the validator with an application error", tc.update, rejected)
			}
			if appErr.Type() != tc.errType || appErr.Message() != tc.message {
				t.Errorf("rejection = %s %q, want %s %q", appErr.Type(), appErr.Message(), tc.errType, tc.message)
			}
		})
	}
}

func TestApprovalRenewalFrozen(t *testing.T) {
	at := newApprovalTest(t)
	at.frozen = true
	at.decide(time.Hour, "while frozen", store.DecisionApprove, testSupervisor)
	at.env.RegisterDelayedCallback(func() {
		at.mu.Lock()
		defer at.mu.Unlock()
		at.frozen = false
	}, 2*time.Hour)
	at.decide(3*time.Hour, "after lift", store.DecisionApprove, testSupervisor)

	status := at.run(testApprovalInput(store.ApprovalRenewal, "20000"))

	if status.State != store.ApprovalApproved {
		t.Fatalf("state = %s, want approved after the lift", status.State)
	}
	refused := at.outcome("while frozen")
	var appErr *temporal.ApplicationError
	if refused.rejected != nil || !errors.As(refused.err, &appErr) || appErr.Type() != ErrTypeFrozen {
		t.Fatalf("approval while frozen: rejected %v, error %v; want the handler to fail it as %s", refused.rejected, refused.err, ErrTypeFrozen)
	}
	if !strings.Contains(appErr.Message(), "renewal approval of customer Cancity is frozen: feature request T-9 unanswered") {
		t.Errorf("message %q does not name the customer and the reason", appErr.Message())
	}
	if len(status.Decisions) != 1 || status.Decisions[0].Comment != "after lift" {
		t.Errorf("decisions = %+v, want only the approval after the lift", status.Decisions)
	}
}

func TestApprovalRenewalRejectWhileFrozen(t *testing.T) {
	at := newApprovalTest(t)
	at.frozen = true
	at.decide(time.Hour, "reject", store.DecisionReject, testSupervisor)

	status := at.run(testApprovalInput(store.ApprovalRenewal, "20000"))

	if status.State != store.ApprovalRejected {
		t.Errorf("state = %s, want rejected: the freeze blocks approvals only", status.State)
	}
}

func TestApprovalPriceChangeWrittenOnce(t *testing.T) {
	at := newApprovalTest(t)
	// The first attempt fails as a lost reply does; the retry must use the
	// same number, which the ERP connector resolves to one document.
	at.erpFailures = []error{errors.New("connection reset by peer")}
	at.decide(time.Hour, "approve", store.DecisionApprove, testSupervisor)

	status := at.run(testApprovalInput(store.ApprovalPriceChange, "20000"))

	if status.State != store.ApprovalApproved || status.ERPDocument == nil || status.ERPDocument.Number != "PL-AP-1" {
		t.Fatalf("state %s document %+v, want approved with price list PL-AP-1", status.State, status.ERPDocument)
	}
	if len(at.erpCalls) != 2 {
		t.Fatalf("ERP write ran %d times, want a failed attempt and its retry", len(at.erpCalls))
	}
	for i, call := range at.erpCalls {
		change := call.Change
		if change.Number != "PL-AP-1" || change.CustomerNumber != "CUST-1" || change.ProductNumber != "MAT-1" ||
			!change.UnitPrice.Equal(decimal.RequireFromString("480.50")) || call.Customer.Name != "Cancity" {
			t.Errorf("attempt %d wrote %+v, want the approved price under PL-AP-1", i+1, call)
		}
	}
	if record := at.lastRecord(); record.ERPDocumentNo != "PL-AP-1" || record.ERPError != "" {
		t.Errorf("last record = document %q error %q, want PL-AP-1 recorded", record.ERPDocumentNo, record.ERPError)
	}
}

func TestApprovalPriceChangeWaitsForERPRetry(t *testing.T) {
	at := newApprovalTest(t)
	rejected := temporal.NewNonRetryableApplicationError("approval AP-1: price list PL-AP-1: material MAT-1 does not exist",
		activities.ErrTypeValidation, nil)
	at.erpFailures = []error{rejected}
	at.decide(time.Hour, "approve", store.DecisionApprove, testSupervisor)
	var waiting ApprovalStatus
	at.env.RegisterDelayedCallback(func() {
		encoded, err := at.env.QueryWorkflow(QueryApprovalStatus)
		if err == nil {
			err = encoded.Get(&waiting)
		}
		if err != nil {
			t.Errorf("query status: %v", err)
		}
	}, 2*time.Hour)
	at.decide(2*time.Hour, "after the end", store.DecisionReject, testSupervisor)
	at.env.RegisterDelayedCallback(func() {
		at.env.SignalWorkflow(SignalRetryERP, RetryERPSignal{By: "it-admin"})
	}, 3*time.Hour)

	status := at.run(testApprovalInput(store.ApprovalPriceChange, "20000"))

	if !strings.Contains(waiting.ERPError, "material MAT-1 does not exist") || !strings.Contains(waiting.ERPError, "ordo approval retry-erp AP-1") {
		t.Errorf("ERP error while waiting = %q, want the cause and the retry command", waiting.ERPError)
	}
	if waiting.State != store.ApprovalApproved {
		t.Errorf("state while the ERP write waits = %s, want approved", waiting.State)
	}
	late := at.outcome("after the end").rejected
	var lateErr *temporal.ApplicationError
	if !errors.As(late, &lateErr) || lateErr.Type() != activities.ErrTypeConflict ||
		lateErr.Message() != "approval AP-1 is already approved and takes no more decisions" {
		t.Errorf("decision after the end: %v, want it rejected as already approved", late)
	}
	if status.ERPDocument == nil || status.ERPError != "" || len(at.erpCalls) != 2 {
		t.Errorf("document %+v error %q after %d calls, want written on the retry", status.ERPDocument, status.ERPError, len(at.erpCalls))
	}
}

func TestApprovalFailsWithoutApprover(t *testing.T) {
	at := newApprovalTest(t)
	delete(at.doc.People.Roles, rules.RoleSalesDirector)
	at.decide(time.Hour, "approve", store.DecisionApprove, testSupervisor)

	_, err := at.execute(testApprovalInput(store.ApprovalDiscount, "45000"))

	if err == nil || !strings.Contains(err.Error(), "level 2 needs the sales_director, but rules version 7 has no person for that role") {
		t.Fatalf("error = %v, want the missing role named", err)
	}
	record := at.lastRecord()
	if record.State != store.ApprovalFailed || !strings.Contains(record.Failure, "sales_director") {
		t.Errorf("last record = state %s failure %q, want failed naming the role", record.State, record.Failure)
	}
}

func TestApprovalRejectsInvalidInput(t *testing.T) {
	at := newApprovalTest(t)
	in := testApprovalInput(store.ApprovalPriceChange, "-5")
	in.NewUnitPrice = nil

	_, err := at.execute(in)

	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeInput {
		t.Fatalf("error = %v, want an input error", err)
	}
	for _, part := range []string{"amount -5 must be above 0", "new_unit_price above 0 is required"} {
		if !strings.Contains(appErr.Message(), part) {
			t.Errorf("message %q lacks %q", appErr.Message(), part)
		}
	}
}

func TestSelectApprovalRoute(t *testing.T) {
	approvals := testApprovalRules().Approvals
	cases := []struct {
		amount    string
		wantIndex int
		wantDesc  string
	}{
		{"0.01", 0, "up to 30000 CNY: supervisor"},
		{"30000", 0, "up to 30000 CNY: supervisor"},
		{"30000.01", 1, "up to 100000 CNY: supervisor then sales_director"},
		{"100000", 1, "up to 100000 CNY: supervisor then sales_director"},
		{"100000.01", 2, "above 100000 CNY: supervisor then sales_director then finance"},
	}
	for _, tc := range cases {
		t.Run(tc.amount, func(t *testing.T) {
			route, err := SelectApprovalRoute(approvals, decimal.RequireFromString(tc.amount), "CNY")
			if err != nil {
				t.Fatalf("select: %v", err)
			}
			if route.Index != tc.wantIndex || route.Description != tc.wantDesc {
				t.Errorf("route %d %q, want %d %q", route.Index, route.Description, tc.wantIndex, tc.wantDesc)
			}
		})
	}

	capped := rules.Approvals{Routes: approvals.Routes[:2]}
	if _, err := SelectApprovalRoute(capped, decimal.NewFromInt(200000), "CNY"); err == nil ||
		!strings.Contains(err.Error(), "above the last route's up_to 100000") {
		t.Errorf("amount above every route: error %v, want one naming the last up_to", err)
	}
	if _, err := SelectApprovalRoute(rules.Approvals{}, decimal.NewFromInt(1), "CNY"); err == nil {
		t.Error("no routes: want an error")
	}
	free, err := SelectApprovalRoute(rules.Approvals{Routes: []rules.Route{{}}}, decimal.NewFromInt(1), "CNY")
	if err != nil || free.Description != "any amount: no approval needed" {
		t.Errorf("route without levels = %+v, %v", free, err)
	}
}

func TestApprovalCancelledInTemporal(t *testing.T) {
	at := newApprovalTest(t)
	at.env.RegisterDelayedCallback(at.env.CancelWorkflow, time.Hour)

	_, err := at.execute(testApprovalInput(store.ApprovalDiscount, "20000"))

	if !temporal.IsCanceledError(err) {
		t.Fatalf("error = %v, want the workflow cancelled", err)
	}
	record := at.lastRecord()
	if record.State != store.ApprovalFailed || record.Failure != "cancelled in Temporal" || record.FinishedAt == nil {
		t.Errorf("last record = state %s failure %q, want failed as cancelled", record.State, record.Failure)
	}
	if len(at.closed) != 1 {
		t.Errorf("closed tasks = %+v, want the open task closed", at.closed)
	}
}

func TestApprovalLevelWithoutTimeout(t *testing.T) {
	at := newApprovalTest(t)
	at.doc.Approvals.Routes[0].Levels[0].Timeout = 0
	at.decide(30*24*time.Hour, "late", store.DecisionApprove, testSupervisor)

	status := at.run(testApprovalInput(store.ApprovalDiscount, "20000"))

	if status.State != store.ApprovalApproved || status.EscalatedTo != "" {
		t.Errorf("state %s escalated to %q, want approved without an escalation", status.State, status.EscalatedTo)
	}
	if len(at.opened) != 1 || at.opened[0].Due != nil {
		t.Errorf("tasks = %+v, want one task without a due time", at.opened)
	}
}
