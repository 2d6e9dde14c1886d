package workflows

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// The renewal tests run in Asia/Shanghai (UTC+8) with a 30-day notice, a
// working day starting at 09:00 and 7 days to act. A contract ending on
// 2027-06-30 is reminded at 2027-05-31 01:00 UTC and expires at
// 2027-06-30 16:00 UTC.
var (
	renewalStart    = time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	renewalEnd      = time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	renewalRemindAt = time.Date(2027, 5, 31, 1, 0, 0, 0, time.UTC)
	renewalExpiry   = time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC)
)

const (
	renewalContract = "CT-TEST0001"
	renewalID       = "renewal-CT-TEST0001"
	testRulesVer    = 3
)

func testRules() rules.Document {
	return rules.Document{
		Renewals: rules.Renewals{
			NoticeBefore: rules.Duration(30 * 24 * time.Hour),
			ActWithin: rules.Deadline{
				Within: rules.Duration(7 * 24 * time.Hour), Hours: rules.CalendarHours,
				EscalationTemplate: "renewal_escalation",
			},
			DefaultTerm:  rules.Duration(365 * 24 * time.Hour),
			TaskTemplate: "renewal_task",
			SMSTemplate:  "renewal_sms",
			EscalateTo:   rules.RoleSalesDirector,
		},
		Tickets: rules.Tickets{
			RouteTo:               rules.RoleProduct,
			Respond:               rules.Deadline{Within: rules.Duration(48 * time.Hour), Hours: rules.CalendarHours},
			EscalateTo:            rules.RoleCOO,
			FreezeRenewalApproval: true,
		},
		Calendar: rules.Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:00", DayEnd: "18:00"},
		People: rules.People{
			EmailDomain: "example.com",
			Roles: map[string]rules.Person{
				rules.RoleCustomerSuccess: {Name: "Lin Fang"},
				rules.RoleSalesDirector:   {Name: "Zhao Lei"},
				rules.RoleProduct:         {Name: "Wu Min"},
				rules.RoleCOO:             {Name: "Chen Jie", Email: "coo@example.com"},
			},
		},
	}
}

// processTest mocks the rules, task and customer activities of the
// renewal and ticket workflows and records every call with its time.
type processTest struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	acts  *activities.CustomerActivities
	rules *activities.RulesActivities
	tasks *activities.TaskActivities
	doc   rules.Document
	// contact is what LookUpCustomerContact returns.
	contact activities.CustomerContact

	mu         sync.Mutex
	nextTaskID int64
	opened     []renewalOpenedTask
	closed     []activities.CloseTasksRequest
	records    []activities.RenewalRecord
	tags       []activities.TagRequest
	untags     []activities.UntagRequest
	tickets    []activities.TicketRecord
	freezes    []activities.FreezeRequest
	lifts      []activities.LiftFreezeRequest
	rulesAsked []int
}

// renewalOpenedTask is an OpenTask call and the test clock when it ran.
type renewalOpenedTask struct {
	activities.TaskRequest
	ID int64
	At time.Time
}

func newProcessTest(t *testing.T, workflowID string) *processTest {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	pt := &processTest{
		t: t, env: suite.NewTestWorkflowEnvironment(),
		acts: &activities.CustomerActivities{}, rules: &activities.RulesActivities{}, tasks: &activities.TaskActivities{},
		doc:        testRules(),
		contact:    activities.CustomerContact{ContactName: "Wang Wei", ContactPhone: "13800138000", AgentManager: "Dustin Brinkmann"},
		nextTaskID: 100,
	}
	pt.env.RegisterWorkflow(Renewal)
	pt.env.RegisterWorkflow(Ticket)
	pt.env.RegisterActivity(pt.acts)
	pt.env.RegisterActivity(pt.rules)
	pt.env.RegisterActivity(pt.tasks)
	pt.env.SetStartTime(renewalStart)
	pt.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflowID})
	pt.mock()
	return pt
}

func (pt *processTest) mock() {
	env := pt.env
	env.OnActivity(pt.rules.Rules, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RulesRequest) (activities.RulesVersion, error) {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.rulesAsked = append(pt.rulesAsked, in.Version)
			return activities.RulesVersion{Version: testRulesVer, Document: pt.doc}, nil
		})
	env.OnActivity(pt.rules.Deadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeadlineRequest) (activities.DeadlineResult, error) {
			return activities.DeadlineResult{Deadline: in.Start.Add(in.Within.D()), Now: env.Now()}, nil
		})
	env.OnActivity(pt.acts.ScheduleRenewal, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.RenewalScheduleRequest) (activities.RenewalSchedule, error) {
			// The real activity only computes; it needs no store.
			return (&activities.CustomerActivities{}).ScheduleRenewal(ctx, in)
		})
	env.OnActivity(pt.acts.LookUpCustomerContact, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.CustomerContactRequest) (activities.CustomerContact, error) {
			return pt.contact, nil
		})
	env.OnActivity(pt.acts.RecordRenewal, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RenewalRecord) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.records = append(pt.records, in)
			return nil
		})
	env.OnActivity(pt.acts.TagCustomer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TagRequest) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.tags = append(pt.tags, in)
			return nil
		})
	env.OnActivity(pt.acts.UntagCustomer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.UntagRequest) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.untags = append(pt.untags, in)
			return nil
		})
	env.OnActivity(pt.acts.RecordTicket, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TicketRecord) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.tickets = append(pt.tickets, in)
			return nil
		})
	env.OnActivity(pt.acts.FreezeRenewalApproval, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FreezeRequest) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.freezes = append(pt.freezes, in)
			return nil
		})
	env.OnActivity(pt.acts.LiftRenewalFreeze, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LiftFreezeRequest) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.lifts = append(pt.lifts, in)
			return nil
		})
	env.OnActivity(pt.tasks.OpenTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TaskRequest) (activities.TaskResult, error) {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.nextTaskID++
			pt.opened = append(pt.opened, renewalOpenedTask{TaskRequest: in, ID: pt.nextTaskID, At: env.Now()})
			return activities.TaskResult{TaskID: pt.nextTaskID, Created: true}, nil
		})
	env.OnActivity(pt.tasks.CloseTasks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseTasksRequest) error {
			pt.mu.Lock()
			defer pt.mu.Unlock()
			pt.closed = append(pt.closed, in)
			return nil
		})
}

// signal sends a signal at the test clock's start + after.
func (pt *processTest) signal(after time.Duration, name string, arg any) {
	pt.env.RegisterDelayedCallback(func() { pt.env.SignalWorkflow(name, arg) }, after)
}

// signalAt sends a signal when the test clock reaches at.
func (pt *processTest) signalAt(at time.Time, name string, arg any) {
	pt.signal(at.Sub(renewalStart), name, arg)
}

func (pt *processTest) tasksOf(kind string) []renewalOpenedTask {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var found []renewalOpenedTask
	for _, task := range pt.opened {
		if task.Kind == kind {
			found = append(found, task)
		}
	}
	return found
}

func (pt *processTest) lastRecord() activities.RenewalRecord {
	pt.t.Helper()
	if len(pt.records) == 0 {
		pt.t.Fatal("no renewal state was recorded")
	}
	return pt.records[len(pt.records)-1]
}

func renewalInput() RenewalInput {
	return RenewalInput{ContractNo: renewalContract, Customer: "Cancity", SalesAgent: "Moses Frase", EndDate: renewalEnd, Cycle: 1}
}

// runRenewal runs the workflow to its end and returns its status.
func (pt *processTest) runRenewal(in RenewalInput) RenewalStatus {
	pt.t.Helper()
	pt.env.ExecuteWorkflow(Renewal, in)
	if !pt.env.IsWorkflowCompleted() {
		pt.t.Fatal("renewal workflow did not complete")
	}
	if err := pt.env.GetWorkflowError(); err != nil {
		pt.t.Fatalf("renewal workflow failed: %v", err)
	}
	var status RenewalStatus
	if err := pt.env.GetWorkflowResult(&status); err != nil {
		pt.t.Fatalf("decode renewal result: %v", err)
	}
	return status
}

func key(purpose string, moment time.Time) string {
	return notificationKey(renewalID, purpose, moment)
}

func TestRenewalReminderFires(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.signalAt(renewalRemindAt.Add(24*time.Hour), SignalRenewalActed, RenewalActed{By: "Lin Fang", Note: "called the buyer"})
	var atReminder RenewalStatus
	pt.env.RegisterDelayedCallback(func() {
		encoded, err := pt.env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Errorf("query status: %v", err)
			return
		}
		if err := encoded.Get(&atReminder); err != nil {
			t.Errorf("decode status: %v", err)
		}
	}, renewalRemindAt.Add(time.Hour).Sub(renewalStart))
	status := pt.runRenewal(renewalInput())

	if pt.rulesAsked[0] != 0 {
		t.Errorf("first run asked for rules version %d, expected 0 (the newest)", pt.rulesAsked[0])
	}
	if status.RulesVersion != testRulesVer {
		t.Errorf("status rules version %d, expected %d", status.RulesVersion, testRulesVer)
	}
	renewalTasks := pt.tasksOf(activities.TaskRenewal)
	if len(renewalTasks) != 1 {
		t.Fatalf("opened %d renewal tasks, expected 1", len(renewalTasks))
	}
	task := renewalTasks[0]
	if !task.At.Equal(renewalRemindAt) {
		t.Errorf("renewal task opened at %s, expected the reminder moment %s", task.At, renewalRemindAt)
	}
	if task.Key != key("renewal-task", renewalRemindAt) {
		t.Errorf("renewal task key %q", task.Key)
	}
	if task.Assignee != "Lin Fang" || task.Email != "lin.fang@example.com" || task.AssigneeRole != rules.RoleCustomerSuccess {
		t.Errorf("renewal task for %q <%s> as %q, expected the customer success manager", task.Assignee, task.Email, task.AssigneeRole)
	}
	if task.Template != "renewal_task" || task.Subject != "contract:"+renewalContract {
		t.Errorf("renewal task template %q subject %q", task.Template, task.Subject)
	}
	if task.Due == nil || !task.Due.Equal(renewalRemindAt.Add(7*24*time.Hour)) {
		t.Errorf("renewal task due %v, expected 7 days after the reminder", task.Due)
	}

	sms := pt.tasksOf(activities.TaskCustomerSMS)
	if len(sms) != 1 {
		t.Fatalf("sent %d customer SMS, expected 1", len(sms))
	}
	if sms[0].Phone != "13800138000" || sms[0].Template != "renewal_sms" || !slices.Equal(sms[0].Channels, []string{"sms"}) {
		t.Errorf("SMS to %q with template %q on %v", sms[0].Phone, sms[0].Template, sms[0].Channels)
	}
	if sms[0].Key != key("customer-sms", renewalRemindAt) {
		t.Errorf("SMS key %q", sms[0].Key)
	}
	if len(pt.tags) == 0 || pt.tags[0].Color != store.ColorRed || pt.tags[0].Tag != store.TagRenewalDue {
		t.Fatalf("customer tags %+v, expected a red renewal_due tag", pt.tags)
	}
	if atReminder.State != store.RenewalReminded || atReminder.Owner != "Lin Fang" {
		t.Errorf("status after the reminder: state %q owner %q", atReminder.State, atReminder.Owner)
	}

	if len(pt.tasksOf(activities.TaskRenewalEscalation)) != 0 {
		t.Error("escalated although the reminder was acted on in time")
	}
	if status.ActedBy != "Lin Fang" || status.ActedAt == nil {
		t.Errorf("acted by %q at %v", status.ActedBy, status.ActedAt)
	}
	// Acted on, not renewed: the term ends as lapsed at its expiry.
	if status.State != store.RenewalLapsed {
		t.Errorf("final state %q, expected lapsed", status.State)
	}
	if got := pt.env.Now(); got.Before(renewalExpiry) {
		t.Errorf("workflow ended at %s, before the expiry %s", got, renewalExpiry)
	}
	if len(pt.untags) != 0 {
		t.Errorf("cleared the red tag of a lapsed contract: %+v", pt.untags)
	}
}

func TestRenewalActedThroughTask(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.env.RegisterDelayedCallback(func() {
		tasks := pt.tasksOf(activities.TaskRenewal)
		if len(tasks) != 1 {
			t.Errorf("opened %d renewal tasks before the completion, expected 1", len(tasks))
			return
		}
		pt.env.SignalWorkflow(SignalTaskCompleted, TaskCompletion{
			TaskID: tasks[0].ID, Kind: activities.TaskRenewal, Subject: "contract:" + renewalContract, By: "Lin Fang",
		})
	}, renewalRemindAt.Add(2*24*time.Hour).Sub(renewalStart))
	pt.signalAt(renewalRemindAt.Add(3*24*time.Hour), SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	status := pt.runRenewal(renewalInput())

	if status.ActedBy != "Lin Fang" {
		t.Errorf("acted by %q, expected the task's completer", status.ActedBy)
	}
	if len(pt.tasksOf(activities.TaskRenewalEscalation)) != 0 {
		t.Error("escalated although the task was completed in time")
	}
	if status.State != store.RenewalRenewed {
		t.Errorf("final state %q, expected renewed", status.State)
	}
}

func TestRenewalEscalates(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	status := pt.runRenewal(renewalInput())

	escalations := pt.tasksOf(activities.TaskRenewalEscalation)
	if len(escalations) != 1 {
		t.Fatalf("opened %d escalation tasks, expected exactly 1 (one level)", len(escalations))
	}
	escalation := escalations[0]
	if want := renewalRemindAt.Add(7 * 24 * time.Hour); !escalation.At.Equal(want) {
		t.Errorf("escalated at %s, expected %s", escalation.At, want)
	}
	if escalation.Assignee != "Zhao Lei" || escalation.AssigneeRole != rules.RoleSalesDirector {
		t.Errorf("escalated to %q as %q, expected the sales director", escalation.Assignee, escalation.AssigneeRole)
	}
	if escalation.Key != key("renewal-escalation", renewalRemindAt) {
		t.Errorf("escalation key %q", escalation.Key)
	}
	if status.EscalatedTo != "Zhao Lei" || status.EscalatedAt == nil {
		t.Errorf("status escalated to %q at %v", status.EscalatedTo, status.EscalatedAt)
	}
	if status.State != store.RenewalLapsed {
		t.Errorf("final state %q, expected lapsed", status.State)
	}
	states := make([]string, 0, len(pt.records))
	for _, record := range pt.records {
		states = append(states, record.State)
	}
	want := []string{store.RenewalScheduled, store.RenewalReminded, store.RenewalEscalated, store.RenewalLapsed}
	if !slices.Equal(states, want) {
		t.Errorf("recorded states %v, expected %v", states, want)
	}
	if last := pt.tags[len(pt.tags)-1]; last.Note == pt.tags[0].Note {
		t.Errorf("the lapsed contract's tag kept the note %q, expected one saying it ended", last.Note)
	}
}

func TestRenewalEscalatesToSupervisor(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.doc.Renewals.EscalateTo = rules.RoleSupervisor
	pt.runRenewal(renewalInput())

	escalations := pt.tasksOf(activities.TaskRenewalEscalation)
	if len(escalations) != 1 {
		t.Fatalf("opened %d escalation tasks, expected 1", len(escalations))
	}
	if escalations[0].Assignee != "Dustin Brinkmann" || escalations[0].Email != "dustin.brinkmann@example.com" {
		t.Errorf("escalated to %q <%s>, expected the sales agent's manager", escalations[0].Assignee, escalations[0].Email)
	}
}

func TestRenewalEndDateMovedEarlier(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	earlier := time.Date(2027, 6, 15, 0, 0, 0, 0, time.UTC)
	pt.signal(24*time.Hour, SignalEndDateChanged, EndDateChange{EndDate: earlier, By: "Lin Fang"})
	pt.signalAt(time.Date(2027, 5, 20, 0, 0, 0, 0, time.UTC), SignalRenewalActed, RenewalActed{By: "Lin Fang"})
	pt.signalAt(time.Date(2027, 5, 25, 0, 0, 0, 0, time.UTC), SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	status := pt.runRenewal(renewalInput())

	wantRemind := time.Date(2027, 5, 16, 1, 0, 0, 0, time.UTC)
	tasks := pt.tasksOf(activities.TaskRenewal)
	if len(tasks) != 1 {
		t.Fatalf("opened %d renewal tasks, expected 1", len(tasks))
	}
	if !tasks[0].At.Equal(wantRemind) || tasks[0].Key != key("renewal-task", wantRemind) {
		t.Errorf("renewal task at %s with key %q, expected %s", tasks[0].At, tasks[0].Key, wantRemind)
	}
	if !status.EndDate.Equal(earlier) {
		t.Errorf("status end date %s, expected %s", status.EndDate, earlier)
	}
	if rec := pt.records[1]; rec.EndDate == nil || !rec.EndDate.Equal(earlier) || !rec.RemindAt.Equal(wantRemind) {
		t.Errorf("recorded end date %v remind at %v after the move", rec.EndDate, rec.RemindAt)
	}
}

func TestRenewalEndDateMovedLater(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	later := time.Date(2027, 9, 30, 0, 0, 0, 0, time.UTC)
	pt.signal(24*time.Hour, SignalEndDateChanged, EndDateChange{EndDate: later, By: "Lin Fang"})
	pt.signalAt(time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC), SignalContractCancelled, ContractCancelled{By: "ops", Reason: "customer left"})
	status := pt.runRenewal(renewalInput())

	wantRemind := time.Date(2027, 8, 31, 1, 0, 0, 0, time.UTC)
	tasks := pt.tasksOf(activities.TaskRenewal)
	if len(tasks) != 1 {
		t.Fatalf("opened %d renewal tasks, expected 1 at the moved moment only", len(tasks))
	}
	if !tasks[0].At.Equal(wantRemind) {
		t.Errorf("renewal task at %s, expected %s", tasks[0].At, wantRemind)
	}
	if status.State != store.RenewalCancelled {
		t.Errorf("final state %q, expected cancelled", status.State)
	}
}

func TestRenewalEndDateMovedAfterReminder(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	later := time.Date(2027, 9, 30, 0, 0, 0, 0, time.UTC)
	// Two days after the reminder the end date moves three months later.
	pt.signalAt(renewalRemindAt.Add(48*time.Hour), SignalEndDateChanged, EndDateChange{EndDate: later, By: "Lin Fang"})
	pt.signalAt(time.Date(2027, 9, 2, 0, 0, 0, 0, time.UTC), SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	status := pt.runRenewal(renewalInput())

	tasks := pt.tasksOf(activities.TaskRenewal)
	if len(tasks) != 2 {
		t.Fatalf("opened %d renewal tasks, expected one per reminder moment", len(tasks))
	}
	secondRemind := time.Date(2027, 8, 31, 1, 0, 0, 0, time.UTC)
	if !tasks[1].At.Equal(secondRemind) || tasks[1].Key != key("renewal-task", secondRemind) {
		t.Errorf("second reminder at %s key %q, expected %s", tasks[1].At, tasks[1].Key, secondRemind)
	}
	if tasks[0].Key == tasks[1].Key {
		t.Error("both reminders share one key, so the second would never be sent")
	}
	if len(pt.tasksOf(activities.TaskRenewalEscalation)) != 0 {
		t.Error("escalated the first reminder after the end date moved")
	}
	if len(pt.untags) < 1 || pt.untags[0].Reason != "end date moved to 2027-09-30" {
		t.Errorf("untags %+v, expected the tag cleared when the end date moved", pt.untags)
	}
	if len(pt.closed) < 1 || pt.closed[0].Resolution != "end date moved to 2027-09-30" {
		t.Errorf("closed tasks %+v, expected the first reminder's tasks closed", pt.closed)
	}
	if status.State != store.RenewalRenewed {
		t.Errorf("final state %q, expected renewed", status.State)
	}
}

func TestRenewalEndDateMovedSlightlyAfterReminder(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	// Six days after the reminder the end date moves three days later.
	// The new reminder moment has passed already, so the reminder that
	// fired is kept and only the expiry moves.
	later := time.Date(2027, 7, 3, 0, 0, 0, 0, time.UTC)
	pt.signalAt(renewalRemindAt.Add(6*24*time.Hour), SignalEndDateChanged, EndDateChange{EndDate: later, By: "Lin Fang"})
	status := pt.runRenewal(renewalInput())

	if n := len(pt.tasksOf(activities.TaskRenewal)); n != 1 {
		t.Errorf("opened %d renewal tasks, expected the first reminder to stand", n)
	}
	if n := len(pt.tasksOf(activities.TaskRenewalEscalation)); n != 1 {
		t.Errorf("opened %d escalation tasks, expected the standing reminder to escalate", n)
	}
	wantExpiry := time.Date(2027, 7, 3, 16, 0, 0, 0, time.UTC)
	if got := pt.env.Now(); got.Before(wantExpiry) {
		t.Errorf("ended at %s, before the moved expiry %s", got, wantExpiry)
	}
	if status.State != store.RenewalLapsed || !status.EndDate.Equal(later) {
		t.Errorf("final state %q end date %s", status.State, status.EndDate)
	}
}

func TestRenewalRenewedContinuesAsNew(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	next := time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC)
	pt.signalAt(renewalRemindAt.Add(24*time.Hour), SignalRenewalRenewed, RenewalRenewed{NewEndDate: &next, By: "Lin Fang"})
	in := renewalInput()
	in.RulesVersion = 2
	pt.env.ExecuteWorkflow(Renewal, in)

	err := pt.env.GetWorkflowError()
	var canErr *workflow.ContinueAsNewError
	if !errors.As(err, &canErr) {
		t.Fatalf("workflow ended with %v, expected to continue as new", err)
	}
	if canErr.WorkflowType.Name != RenewalName {
		t.Errorf("continues as %q, expected %q", canErr.WorkflowType.Name, RenewalName)
	}
	var nextIn RenewalInput
	if err := decodeContinueInput(canErr, &nextIn); err != nil {
		t.Fatalf("decode the next run's input: %v", err)
	}
	if !nextIn.EndDate.Equal(next) || nextIn.Cycle != 2 || nextIn.RulesVersion != 0 {
		t.Errorf("next run input end %s cycle %d rules %d, expected %s, 2 and 0", nextIn.EndDate, nextIn.Cycle, nextIn.RulesVersion, next)
	}
	if pt.rulesAsked[0] != 2 {
		t.Errorf("asked for rules version %d, expected the input's 2", pt.rulesAsked[0])
	}
	last := pt.lastRecord()
	if last.State != store.RenewalRenewed || last.EndDate == nil || !last.EndDate.Equal(next) {
		t.Errorf("last record %+v, expected renewed with the new end date", last)
	}
	if len(pt.untags) != 1 || len(pt.closed) != 1 {
		t.Errorf("untagged %d and closed tasks %d times, expected once each", len(pt.untags), len(pt.closed))
	}
}

func TestRenewalRenewedWithoutDate(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.signal(time.Hour, SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	status := pt.runRenewal(renewalInput())

	if status.State != store.RenewalRenewed {
		t.Errorf("final state %q, expected renewed", status.State)
	}
	if n := len(pt.tasksOf(activities.TaskRenewal)) + len(pt.tasksOf(activities.TaskCustomerSMS)); n != 0 {
		t.Errorf("sent %d notifications for a contract renewed before its reminder", n)
	}
	if len(pt.untags) != 1 || pt.untags[0].Reason != "contract renewed by Lin Fang" {
		t.Errorf("untags %+v", pt.untags)
	}
}

func TestRenewalCancelled(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.signalAt(renewalRemindAt.Add(10*24*time.Hour), SignalContractCancelled, ContractCancelled{By: "ops", Reason: "customer withdrew"})
	status := pt.runRenewal(renewalInput())

	if status.State != store.RenewalCancelled {
		t.Errorf("final state %q, expected cancelled", status.State)
	}
	if len(pt.untags) != 1 {
		t.Errorf("cleared the tag %d times, expected once", len(pt.untags))
	}
	if len(pt.closed) != 1 || !slices.Equal(pt.closed[0].Kinds, []string{activities.TaskRenewal, activities.TaskRenewalEscalation}) {
		t.Errorf("closed tasks %+v", pt.closed)
	}
	if pt.lastRecord().State != store.RenewalCancelled {
		t.Errorf("last recorded state %q, expected cancelled", pt.lastRecord().State)
	}
}

func TestRenewalReminderOverdueAtStart(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	in := renewalInput()
	in.EndDate = time.Date(2027, 5, 20, 0, 0, 0, 0, time.UTC)
	pt.signal(time.Hour, SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	pt.runRenewal(in)

	tasks := pt.tasksOf(activities.TaskRenewal)
	if len(tasks) != 1 || !tasks[0].At.Equal(renewalStart) {
		t.Fatalf("renewal tasks %+v, expected one at the start because the notice period began already", tasks)
	}
	wantMoment := time.Date(2027, 4, 20, 1, 0, 0, 0, time.UTC)
	if tasks[0].Key != key("renewal-task", wantMoment) {
		t.Errorf("key %q, expected the scheduled moment %s in it", tasks[0].Key, wantMoment)
	}
}

func TestRenewalWithoutContactOrManager(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.contact = activities.CustomerContact{}
	delete(pt.doc.People.Roles, rules.RoleCustomerSuccess)
	pt.signalAt(renewalRemindAt.Add(time.Hour), SignalContractCancelled, ContractCancelled{By: "ops"})
	status := pt.runRenewal(renewalInput())

	if n := len(pt.tasksOf(activities.TaskRenewal)) + len(pt.tasksOf(activities.TaskCustomerSMS)); n != 0 {
		t.Errorf("opened %d tasks without a manager or a phone", n)
	}
	if len(pt.tags) != 1 {
		t.Errorf("tagged %d times, expected the red tag even without a manager", len(pt.tags))
	}
	if len(status.Notes) < 2 {
		t.Errorf("notes %+v, expected the missing manager and phone noted", status.Notes)
	}
}

func TestRenewalActedBeforeReminderIsNoted(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.signal(time.Hour, SignalRenewalActed, RenewalActed{By: "Lin Fang"})
	pt.signalAt(renewalRemindAt.Add(time.Hour), SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	status := pt.runRenewal(renewalInput())

	if len(pt.tasksOf(activities.TaskRenewal)) != 1 {
		t.Error("the reminder did not fire after an early action")
	}
	if status.ActedAt != nil {
		t.Errorf("an action before the reminder counted as acting on it at %s", status.ActedAt)
	}
}

func TestRenewalStartedBySignalWithoutEndDate(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	in := renewalInput()
	in.EndDate = time.Time{}
	// SignalWithStart puts the signal before the first workflow task.
	pt.signal(0, SignalEndDateChanged, EndDateChange{EndDate: renewalEnd, By: "Lin Fang"})
	pt.signalAt(renewalRemindAt.Add(time.Hour), SignalRenewalRenewed, RenewalRenewed{By: "Lin Fang"})
	status := pt.runRenewal(in)

	if len(pt.tasksOf(activities.TaskRenewal)) != 1 || !status.EndDate.Equal(renewalEnd) {
		t.Errorf("end date %s and %d reminders, expected the signalled date to be reminded", status.EndDate, len(pt.tasksOf(activities.TaskRenewal)))
	}
}

func TestRenewalWithoutEndDateEnds(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	in := renewalInput()
	in.EndDate = time.Time{}
	status := pt.runRenewal(in)
	if len(pt.opened) != 0 || len(status.Notes) != 1 {
		t.Errorf("opened %d tasks with notes %+v, expected none and one note", len(pt.opened), status.Notes)
	}
}

func TestRenewalRejectsIncompleteInput(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.env.ExecuteWorkflow(Renewal, RenewalInput{ContractNo: renewalContract})
	if err := pt.env.GetWorkflowError(); err == nil {
		t.Fatal("a renewal without a customer started")
	}
}

func TestRenewalScheduleFailureFailsWorkflow(t *testing.T) {
	pt := newProcessTest(t, renewalID)
	pt.doc.Calendar.TimeZone = "Mars/Olympus"
	pt.env.ExecuteWorkflow(Renewal, renewalInput())
	var appErr *temporal.ApplicationError
	if err := pt.env.GetWorkflowError(); !errors.As(err, &appErr) {
		t.Fatalf("workflow ended with %v, expected the invalid time zone to fail it", err)
	}
}

// decodeContinueInput decodes the first argument of a continue-as-new.
func decodeContinueInput(canErr *workflow.ContinueAsNewError, out any) error {
	return converter.GetDefaultDataConverter().FromPayloads(canErr.Input, out)
}
