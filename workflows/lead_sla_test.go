package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// leadStart is the workflow clock at the start of every lead test.
var leadStart = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

const (
	hour = time.Hour
	day  = 24 * time.Hour
)

// leadRulesDoc is the rules version of the lead tests: first contact
// within 48h with a reminder 24h before, follow-up within 7d with a
// reminder 1d before, calendar hours.
func leadRulesDoc() rules.Document {
	return rules.Document{
		Leads: rules.Leads{
			FirstContact: rules.Deadline{
				Within: rules.Duration(48 * hour), Hours: rules.CalendarHours, RemindBefore: rules.Duration(24 * hour),
				ReminderTemplate: "lead_reminder", EscalationTemplate: "lead_alert",
			},
			FollowUp: rules.Deadline{
				Within: rules.Duration(7 * day), Hours: rules.CalendarHours, RemindBefore: rules.Duration(day),
				ReminderTemplate: "follow_up_reminder", EscalationTemplate: "follow_up_alert",
			},
		},
		People: rules.People{
			EmailDomain: "example.com",
			Roles:       map[string]rules.Person{rules.RoleSalesDirector: {Name: "Celia Rouche", Phone: "13800000000"}},
		},
	}
}

func leadInput() LeadSLAInput {
	return LeadSLAInput{
		LeadID: "P1LEAD", Rep: "Anna Snelling", Supervisor: "Dustin Brinkmann",
		Account: "Cancity", Product: "GTX Pro", Kind: store.LeadSLAFirstContact, ClockStart: leadStart,
	}
}

// openedTask is an OpenTask call with the workflow time it ran at.
type openedTask struct {
	at      time.Time
	request activities.TaskRequest
}

// leadTest wires a test environment with every activity mocked: the rules
// return doc as version, Deadline adds calendar time unless deadlineFn
// is set, and the task and store activities record their calls.
type leadTest struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	doc        rules.Document
	version    int
	deadlineFn func(activities.DeadlineRequest) time.Time

	// rulesErr, when set, is the error Rules returns until the workflow
	// clock reaches rulesUntil.
	rulesErr   error
	rulesUntil time.Time

	mu            sync.Mutex
	rulesRequests []activities.RulesRequest
	deadlines     []activities.DeadlineRequest
	opened        []openedTask
	closed        []activities.CloseTasksRequest
	records       []activities.LeadSLARecord
	contacts      []activities.LeadContactRecord
	openTaskErr   error
}

func newLeadTest(t *testing.T) *leadTest {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	lt := &leadTest{t: t, env: suite.NewTestWorkflowEnvironment(), doc: leadRulesDoc(), version: 7}
	lt.env.SetStartTime(leadStart)
	lt.env.RegisterWorkflowWithOptions(LeadSLA, workflow.RegisterOptions{Name: LeadSLAName})
	lt.env.RegisterActivity(leadRules)
	lt.env.RegisterActivity(leadTasks)
	lt.env.RegisterActivity(leadStore)
	return lt
}

func (lt *leadTest) mockActivities() {
	env := lt.env
	env.OnActivity(leadRules.Rules, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RulesRequest) (activities.RulesVersion, error) {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			lt.rulesRequests = append(lt.rulesRequests, in)
			if lt.rulesErr != nil && env.Now().Before(lt.rulesUntil) {
				return activities.RulesVersion{}, lt.rulesErr
			}
			version := lt.version
			if in.Version != 0 {
				version = in.Version
			}
			return activities.RulesVersion{Version: version, Document: lt.doc}, nil
		})
	env.OnActivity(leadRules.Deadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeadlineRequest) (activities.DeadlineResult, error) {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			lt.deadlines = append(lt.deadlines, in)
			deadline := in.Start.Add(in.Within.D())
			if lt.deadlineFn != nil {
				deadline = lt.deadlineFn(in)
			}
			return activities.DeadlineResult{Deadline: deadline, Now: env.Now()}, nil
		})
	env.OnActivity(leadTasks.OpenTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TaskRequest) (activities.TaskResult, error) {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			if lt.openTaskErr != nil {
				return activities.TaskResult{}, lt.openTaskErr
			}
			lt.opened = append(lt.opened, openedTask{at: env.Now(), request: in})
			return activities.TaskResult{TaskID: int64(len(lt.opened)), Created: true}, nil
		})
	env.OnActivity(leadTasks.CloseTasks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseTasksRequest) error {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			lt.closed = append(lt.closed, in)
			return nil
		})
	env.OnActivity(leadStore.RecordLeadSLA, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LeadSLARecord) error {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			lt.records = append(lt.records, in)
			return nil
		})
	env.OnActivity(leadStore.RecordLeadContact, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LeadContactRecord) error {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			lt.contacts = append(lt.contacts, in)
			return nil
		})
}

// signal sends a signal at workflow time leadStart+after.
func (lt *leadTest) signal(after time.Duration, name string, arg any) {
	lt.env.RegisterDelayedCallback(func() { lt.env.SignalWorkflow(name, arg) }, after)
}

func (lt *leadTest) contactAt(after time.Duration, by string) {
	lt.signal(after, SignalLeadContacted, LeadContactedSignal{At: leadStart.Add(after), By: by, Channel: "phone"})
}

func (lt *leadTest) closeAt(after time.Duration) {
	lt.signal(after, SignalLeadClosed, LeadClosedSignal{At: leadStart.Add(after), Reason: "deal won"})
}

// run executes the workflow to its end and returns its result.
func (lt *leadTest) run(in LeadSLAInput) LeadSLAStatus {
	lt.t.Helper()
	lt.mockActivities()
	lt.env.ExecuteWorkflow(LeadSLA, in)
	if !lt.env.IsWorkflowCompleted() {
		lt.t.Fatal("workflow did not complete")
	}
	if err := lt.env.GetWorkflowError(); err != nil {
		lt.t.Fatalf("workflow failed: %v", err)
	}
	var status LeadSLAStatus
	if err := lt.env.GetWorkflowResult(&status); err != nil {
		lt.t.Fatalf("read workflow result: %v", err)
	}
	return status
}

func (lt *leadTest) openedTasks() []openedTask {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return append([]openedTask(nil), lt.opened...)
}

func (lt *leadTest) closeRequests() []activities.CloseTasksRequest {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return append([]activities.CloseTasksRequest(nil), lt.closed...)
}

// recordedStates returns the recorded SLA states, repeats removed.
func (lt *leadTest) recordedStates() []string {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	var states []string
	for _, r := range lt.records {
		if len(states) == 0 || states[len(states)-1] != r.Kind+"/"+r.State {
			states = append(states, r.Kind+"/"+r.State)
		}
	}
	return states
}

// checkTasks compares the opened tasks with want: kind, assignee and the
// offset from leadStart at which each opened.
func checkTasks(t *testing.T, got []openedTask, want []wantTask) {
	t.Helper()
	if len(got) != len(want) {
		var summary []string
		for _, g := range got {
			summary = append(summary, g.request.Kind+" for "+g.request.Assignee+" at +"+g.at.Sub(leadStart).String())
		}
		t.Fatalf("opened %d tasks %v, expected %d", len(got), summary, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.request.Kind != w.kind || g.request.Assignee != w.assignee {
			t.Errorf("task %d is %s for %s, expected %s for %s", i, g.request.Kind, g.request.Assignee, w.kind, w.assignee)
		}
		if at := g.at.Sub(leadStart); at != w.at {
			t.Errorf("task %d (%s) opened at +%s, expected +%s", i, w.kind, at, w.at)
		}
		if g.request.Subject != "lead:P1LEAD" {
			t.Errorf("task %d subject %q, expected lead:P1LEAD", i, g.request.Subject)
		}
	}
}

type wantTask struct {
	kind     string
	assignee string
	at       time.Duration
}

func checkStates(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("recorded states\n  %v\nexpected\n  %v", got, want)
	}
}

func TestLeadContactedBeforeReminder(t *testing.T) {
	lt := newLeadTest(t)
	lt.contactAt(2*hour, "Anna Snelling")
	lt.closeAt(3 * hour)

	status := lt.run(leadInput())

	checkTasks(t, lt.openedTasks(), nil)
	if status.FirstContactAt == nil || !status.FirstContactAt.Equal(leadStart.Add(2*hour)) {
		t.Errorf("first contact %v, expected +2h", status.FirstContactAt)
	}
	if status.Kind != store.LeadSLAFollowUp || status.State != store.SLAClosed {
		t.Errorf("ended as %s/%s, expected follow_up/closed", status.Kind, status.State)
	}
	if len(lt.contacts) != 1 || !lt.contacts[0].At.Equal(leadStart.Add(2*hour)) || lt.contacts[0].Channel != "phone" {
		t.Errorf("recorded contacts %+v, expected one by phone at +2h", lt.contacts)
	}
	checkStates(t, lt.recordedStates(), []string{
		"first_contact/waiting", "follow_up/waiting", "follow_up/closed",
	})
	closes := lt.closeRequests()
	if len(closes) == 0 || closes[0].Subject != "lead:P1LEAD" || !strings.Contains(closes[0].Resolution, "first contact") {
		t.Errorf("close requests %+v, expected the first to close the first-contact tasks", closes)
	}
}

func TestLeadContactEndsWithoutFollowUpRule(t *testing.T) {
	lt := newLeadTest(t)
	lt.doc.Leads.FollowUp = rules.Deadline{}
	lt.contactAt(30*hour, "Anna Snelling")

	status := lt.run(leadInput())

	if status.State != store.SLAContacted {
		t.Errorf("state %s, expected contacted", status.State)
	}
	checkTasks(t, lt.openedTasks(), []wantTask{{activities.TaskLeadReminder, "Anna Snelling", 24 * hour}})
	checkStates(t, lt.recordedStates(), []string{"first_contact/waiting", "first_contact/reminded", "first_contact/contacted"})
}

func TestLeadContactedAfterReminder(t *testing.T) {
	lt := newLeadTest(t)
	lt.contactAt(30*hour, "Anna Snelling")
	lt.closeAt(31 * hour)

	status := lt.run(leadInput())

	tasks := lt.openedTasks()
	checkTasks(t, tasks, []wantTask{{activities.TaskLeadReminder, "Anna Snelling", 24 * hour}})
	reminder := tasks[0].request
	if reminder.Email != "anna.snelling@example.com" || reminder.Template != "lead_reminder" {
		t.Errorf("reminder to %q with template %q, expected anna.snelling@example.com and lead_reminder", reminder.Email, reminder.Template)
	}
	wantKey := "default-test-workflow-id/first_contact-reminder/1/2026-12-09T09:00:00Z"
	if reminder.Key != wantKey {
		t.Errorf("reminder key %q, expected %q", reminder.Key, wantKey)
	}
	if reminder.Due == nil || !reminder.Due.Equal(leadStart.Add(48*hour)) {
		t.Errorf("reminder due %v, expected the deadline +48h", reminder.Due)
	}
	if status.ReminderSentAt != nil || status.Kind != store.LeadSLAFollowUp {
		t.Errorf("status %+v, expected the follow-up clock with no reminder sent", status)
	}
	checkStates(t, lt.recordedStates(), []string{
		"first_contact/waiting", "first_contact/reminded", "follow_up/waiting", "follow_up/closed",
	})
}

func TestLeadContactedAfterAlert(t *testing.T) {
	lt := newLeadTest(t)
	lt.contactAt(60*hour, "Anna Snelling")
	lt.closeAt(61 * hour)

	status := lt.run(leadInput())

	tasks := lt.openedTasks()
	checkTasks(t, tasks, []wantTask{
		{activities.TaskLeadReminder, "Anna Snelling", 24 * hour},
		{activities.TaskLeadAlert, "Dustin Brinkmann", 48 * hour},
	})
	alert := tasks[1].request
	if alert.AssigneeRole != rules.RoleSupervisor || alert.Email != "dustin.brinkmann@example.com" || alert.Template != "lead_alert" {
		t.Errorf("alert as %q to %q with %q, expected supervisor, dustin.brinkmann@example.com, lead_alert", alert.AssigneeRole, alert.Email, alert.Template)
	}
	if alert.Key == tasks[0].request.Key {
		t.Errorf("alert and reminder share key %q", alert.Key)
	}
	if status.FirstContactAt == nil || !status.FirstContactAt.Equal(leadStart.Add(60*hour)) {
		t.Errorf("first contact %v, expected +60h", status.FirstContactAt)
	}
	closes := lt.closeRequests()
	if len(closes) < 1 || strings.Join(closes[0].Kinds, ",") != "lead_reminder,lead_alert" {
		t.Errorf("first close request %+v, expected the reminder and alert of the first contact", closes)
	}
}

func TestLeadReminderAlertContactStatus(t *testing.T) {
	lt := newLeadTest(t)
	var afterReminder, afterAlert LeadSLAStatus
	lt.env.RegisterDelayedCallback(func() { afterReminder = queryLeadStatus(t, lt.env) }, 30*hour)
	lt.env.RegisterDelayedCallback(func() { afterAlert = queryLeadStatus(t, lt.env) }, 50*hour)
	lt.contactAt(70*hour, "Anna Snelling")
	lt.closeAt(71 * hour)

	lt.run(leadInput())

	if afterReminder.State != store.SLAReminded || afterReminder.ReminderSentAt == nil || afterReminder.AlertSentAt != nil {
		t.Errorf("status after the reminder %+v, expected reminded with no alert", afterReminder)
	}
	if afterReminder.Deadline == nil || !afterReminder.Deadline.Equal(leadStart.Add(48*hour)) || afterReminder.RulesVersion != 7 {
		t.Errorf("status after the reminder has deadline %v rules version %d, expected +48h and 7", afterReminder.Deadline, afterReminder.RulesVersion)
	}
	if afterAlert.State != store.SLAOverdue || afterAlert.AlertSentAt == nil || !afterAlert.AlertSentAt.Equal(leadStart.Add(48*hour)) {
		t.Errorf("status after the alert %+v, expected overdue with the alert at +48h", afterAlert)
	}
	checkStates(t, lt.recordedStates(), []string{
		"first_contact/waiting", "first_contact/reminded", "first_contact/overdue", "follow_up/waiting", "follow_up/closed",
	})
	last := lt.records[len(lt.records)-1]
	if last.RemindedAt != nil || last.AlertedAt != nil || last.Deadline == nil || !last.Deadline.Equal(leadStart.Add(70*hour+7*day)) {
		t.Errorf("last record %+v, expected the follow-up clock from the contact at +70h", last)
	}
}

func queryLeadStatus(t *testing.T, env *testsuite.TestWorkflowEnvironment) LeadSLAStatus {
	t.Helper()
	encoded, err := env.QueryWorkflow(QueryStatus)
	if err != nil {
		t.Fatalf("query status: %v", err)
	}
	var status LeadSLAStatus
	if err := encoded.Get(&status); err != nil {
		t.Fatalf("decode status: %v", err)
	}
	return status
}

func TestLeadReassignedBeforeAlert(t *testing.T) {
	lt := newLeadTest(t)
	lt.signal(30*hour, SignalLeadReassigned, LeadReassignedSignal{
		NewRep: "Moses Frase", NewSupervisor: "Cara Losch", By: "Dustin Brinkmann", At: leadStart.Add(30 * hour),
	})
	lt.closeAt(100 * hour)

	status := lt.run(leadInput())

	checkTasks(t, lt.openedTasks(), []wantTask{
		{activities.TaskLeadReminder, "Anna Snelling", 24 * hour},
		{activities.TaskLeadReminder, "Moses Frase", 54 * hour},
		{activities.TaskLeadAlert, "Cara Losch", 78 * hour},
	})
	closes := lt.closeRequests()
	if len(closes) < 1 || !strings.Contains(closes[0].Resolution, "reassigned from Anna Snelling to Moses Frase") || len(closes[0].Kinds) != 4 {
		t.Errorf("first close request %+v, expected every lead task of Anna Snelling closed on the reassignment", closes)
	}
	if status.Rep != "Moses Frase" || status.Reassignments != 1 || status.Clocks != 2 {
		t.Errorf("rep %s after %d reassignments and %d clocks, expected Moses Frase, 1, 2", status.Rep, status.Reassignments, status.Clocks)
	}
	if !status.ClockStart.Equal(leadStart.Add(30 * hour)) {
		t.Errorf("clock start %s, expected the reassignment at +30h", status.ClockStart)
	}
}

func TestLeadReassignedAfterAlert(t *testing.T) {
	lt := newLeadTest(t)
	lt.signal(50*hour, SignalLeadReassigned, LeadReassignedSignal{NewRep: "Moses Frase", NewSupervisor: "Cara Losch", By: "Dustin Brinkmann"})
	lt.contactAt(80*hour, "Moses Frase")
	lt.closeAt(81 * hour)

	status := lt.run(leadInput())

	checkTasks(t, lt.openedTasks(), []wantTask{
		{activities.TaskLeadReminder, "Anna Snelling", 24 * hour},
		{activities.TaskLeadAlert, "Dustin Brinkmann", 48 * hour},
		{activities.TaskLeadReminder, "Moses Frase", 74 * hour},
	})
	if status.FirstContactAt == nil || !status.FirstContactAt.Equal(leadStart.Add(80*hour)) {
		t.Errorf("first contact %v, expected +80h by the new rep", status.FirstContactAt)
	}
	checkStates(t, lt.recordedStates(), []string{
		"first_contact/waiting", "first_contact/reminded", "first_contact/overdue",
		"first_contact/waiting", "first_contact/reminded", "follow_up/waiting", "follow_up/closed",
	})
}

func TestLeadReassignedToSameRep(t *testing.T) {
	lt := newLeadTest(t)
	lt.signal(10*hour, SignalLeadReassigned, LeadReassignedSignal{NewRep: "Anna Snelling", NewSupervisor: "Dustin Brinkmann"})
	lt.signal(11*hour, SignalLeadReassigned, LeadReassignedSignal{NewRep: "", By: "nobody"})
	lt.closeAt(30 * hour)

	status := lt.run(leadInput())

	if status.Clocks != 1 || status.Reassignments != 0 {
		t.Errorf("%d clocks and %d reassignments, expected the first clock only", status.Clocks, status.Reassignments)
	}
	checkTasks(t, lt.openedTasks(), []wantTask{{activities.TaskLeadReminder, "Anna Snelling", 24 * hour}})
}

func TestLeadFollowUpCycles(t *testing.T) {
	lt := newLeadTest(t)
	in := leadInput()
	in.Kind = store.LeadSLAFollowUp
	// Reminded at +6d, contacted at +6d12h: the next clock reminds at
	// +12d12h and alerts at +13d12h. A contact reported late, from before
	// that clock, leaves it alone.
	lt.contactAt(6*day+12*hour, "Anna Snelling")
	lt.signal(7*day, SignalLeadContacted, LeadContactedSignal{At: leadStart.Add(5 * day), By: "Anna Snelling"})
	lt.contactAt(14*day, "Anna Snelling")
	lt.closeAt(15 * day)

	status := lt.run(in)

	tasks := lt.openedTasks()
	checkTasks(t, tasks, []wantTask{
		{activities.TaskFollowUpReminder, "Anna Snelling", 6 * day},
		{activities.TaskFollowUpReminder, "Anna Snelling", 12*day + 12*hour},
		{activities.TaskFollowUpAlert, "Dustin Brinkmann", 13*day + 12*hour},
	})
	if tasks[0].request.Key == tasks[1].request.Key {
		t.Errorf("two follow-up reminders share key %q", tasks[0].request.Key)
	}
	if tasks[0].request.Template != "follow_up_reminder" || tasks[2].request.Template != "follow_up_alert" {
		t.Errorf("templates %q and %q, expected the follow-up ones", tasks[0].request.Template, tasks[2].request.Template)
	}
	if status.Clocks != 3 || status.FirstContactAt != nil {
		t.Errorf("%d clocks, first contact %v; expected 3 clocks and no first contact on a follow-up lead", status.Clocks, status.FirstContactAt)
	}
	if status.LastContactAt == nil || !status.LastContactAt.Equal(leadStart.Add(14*day)) {
		t.Errorf("last contact %v, expected +14d", status.LastContactAt)
	}
	if len(lt.contacts) != 3 {
		t.Errorf("recorded %d contacts, expected 3 including the late one", len(lt.contacts))
	}
}

func TestLeadWorkingHoursAcrossSpringFestival(t *testing.T) {
	lt := newLeadTest(t)
	lt.doc.Leads.FirstContact.Hours = rules.WorkingHours
	shanghai := time.FixedZone("CST", 8*3600)
	// Assigned on Friday 13 February 2026 at 16:00, before the Spring
	// Festival holiday of 15 to 23 February. The calendar (mocked here)
	// skips the holiday, so 24 and 48 working hours end in the week after.
	start := time.Date(2026, 2, 13, 16, 0, 0, 0, shanghai)
	remindAt := time.Date(2026, 2, 26, 16, 0, 0, 0, shanghai)
	deadline := time.Date(2026, 3, 4, 16, 0, 0, 0, shanghai)
	lt.env.SetStartTime(start)
	lt.deadlineFn = func(in activities.DeadlineRequest) time.Time {
		if in.Within.D() == 24*hour {
			return remindAt
		}
		return deadline
	}
	in := leadInput()
	in.ClockStart = start
	lt.signal(deadline.Sub(start)+hour, SignalLeadClosed, LeadClosedSignal{Reason: "deal lost"})

	status := lt.run(in)

	tasks := lt.openedTasks()
	if len(tasks) != 2 {
		t.Fatalf("opened %d tasks, expected a reminder and an alert", len(tasks))
	}
	if !tasks[0].at.Equal(remindAt) || !tasks[1].at.Equal(deadline) {
		t.Errorf("reminder at %s and alert at %s, expected %s and %s from the calendar", tasks[0].at, tasks[1].at, remindAt, deadline)
	}
	for _, request := range lt.deadlines {
		if request.Hours != rules.WorkingHours || !request.Start.Equal(start) || request.RulesVersion != 7 {
			t.Errorf("deadline request %+v, expected working hours from %s under rules version 7", request, start)
		}
	}
	if status.State != store.SLAClosed {
		t.Errorf("state %s, expected closed", status.State)
	}
}

func TestLeadRulesVersionFixedAtStart(t *testing.T) {
	lt := newLeadTest(t)
	lt.contactAt(2*hour, "Anna Snelling")
	lt.signal(3*hour, SignalLeadReassigned, LeadReassignedSignal{NewRep: "Moses Frase", NewSupervisor: "Cara Losch"})
	lt.closeAt(4 * hour)

	status := lt.run(leadInput())

	if len(lt.rulesRequests) != 1 || lt.rulesRequests[0].Version != 0 {
		t.Errorf("rules requests %+v, expected one for the newest version", lt.rulesRequests)
	}
	if status.RulesVersion != 7 {
		t.Errorf("status rules version %d, expected 7", status.RulesVersion)
	}
	if len(lt.deadlines) < 6 {
		t.Fatalf("%d deadline requests, expected two for each of three clocks", len(lt.deadlines))
	}
	for _, request := range lt.deadlines {
		if request.RulesVersion != 7 {
			t.Errorf("deadline request under rules version %d, expected 7", request.RulesVersion)
		}
	}
	for _, record := range lt.records {
		if record.RulesVersion != 7 {
			t.Errorf("record %s/%s under rules version %d, expected 7", record.Kind, record.State, record.RulesVersion)
		}
	}
}

func TestLeadRulesVersionFromInput(t *testing.T) {
	lt := newLeadTest(t)
	lt.closeAt(hour)
	in := leadInput()
	in.RulesVersion = 5

	status := lt.run(in)

	if len(lt.rulesRequests) != 1 || lt.rulesRequests[0].Version != 5 || status.RulesVersion != 5 {
		t.Errorf("rules requests %+v and status version %d, expected version 5 throughout", lt.rulesRequests, status.RulesVersion)
	}
}

func TestLeadContinueAsNewKeepsClock(t *testing.T) {
	lt := newLeadTest(t)
	lt.env.SetContinueAsNewSuggested(true)
	lt.mockActivities()
	lt.env.ExecuteWorkflow(LeadSLA, leadInput())

	var next *workflow.ContinueAsNewError
	if err := lt.env.GetWorkflowError(); !errors.As(err, &next) {
		t.Fatalf("workflow ended with %v, expected continue-as-new", err)
	}
	var in LeadSLAInput
	if err := converter.GetDefaultDataConverter().FromPayloads(next.Input, &in); err != nil {
		t.Fatalf("decode the next run's input: %v", err)
	}
	if in.Resume == nil || in.Resume.Deadline == nil || !in.Resume.Deadline.Equal(leadStart.Add(48*hour)) || in.RulesVersion != 7 {
		t.Fatalf("next input %+v, expected the clock with deadline +48h under rules version 7", in)
	}

	// The next run keeps the clock: it computes no deadline, reminds at
	// +24h and handles the contact carried over from the previous run.
	second := newLeadTest(t)
	in.Pending = []LeadEvent{{Contacted: &LeadContactedSignal{At: leadStart.Add(30 * hour), By: "Anna Snelling"}}}
	second.env.RegisterDelayedCallback(func() {
		second.env.SignalWorkflow(SignalLeadClosed, LeadClosedSignal{Reason: "deal won"})
	}, 40*hour)
	status := second.run(in)

	if len(second.rulesRequests) != 1 || second.rulesRequests[0].Version != 7 {
		t.Errorf("rules requests of the next run %+v, expected version 7", second.rulesRequests)
	}
	if status.FirstContactAt == nil || !status.FirstContactAt.Equal(leadStart.Add(30*hour)) {
		t.Errorf("first contact %v, expected the carried contact at +30h", status.FirstContactAt)
	}
	if status.Clocks != 2 {
		t.Errorf("%d clocks, expected the carried first clock and the follow-up", status.Clocks)
	}
	for _, request := range second.deadlines {
		if request.Start.Equal(leadStart) {
			t.Errorf("the next run recomputed the first clock's deadline: %+v", request)
		}
	}
}

func TestLeadCancelledClosesTasks(t *testing.T) {
	lt := newLeadTest(t)
	lt.env.RegisterDelayedCallback(lt.env.CancelWorkflow, 30*hour)
	lt.mockActivities()
	lt.env.ExecuteWorkflow(LeadSLA, leadInput())

	err := lt.env.GetWorkflowError()
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("workflow ended with %v, expected a cancellation", err)
	}
	closes := lt.closeRequests()
	if len(closes) != 1 || !strings.Contains(closes[0].Resolution, "cancelled") {
		t.Errorf("close requests %+v, expected one for the cancellation", closes)
	}
	states := lt.recordedStates()
	if states[len(states)-1] != "first_contact/cancelled" {
		t.Errorf("recorded states %v, expected to end cancelled", states)
	}
}

func TestLeadTaskFailureKeepsClock(t *testing.T) {
	lt := newLeadTest(t)
	lt.openTaskErr = temporal.NewNonRetryableApplicationError("template lead_reminder is unknown", activities.ErrTypeValidation, nil)
	lt.closeAt(50 * hour)

	status := lt.run(leadInput())

	if !strings.Contains(status.LastError, "template lead_reminder is unknown") {
		t.Errorf("last error %q, expected the task failure", status.LastError)
	}
	checkStates(t, lt.recordedStates(), []string{
		"first_contact/waiting", "first_contact/reminded", "first_contact/overdue", "first_contact/closed",
	})
}

func TestLeadAlertWithoutSupervisor(t *testing.T) {
	t.Run("sales director", func(t *testing.T) {
		lt := newLeadTest(t)
		lt.closeAt(50 * hour)
		in := leadInput()
		in.Supervisor = ""

		lt.run(in)

		tasks := lt.openedTasks()
		if len(tasks) != 2 || tasks[1].request.Assignee != "Celia Rouche" || tasks[1].request.AssigneeRole != rules.RoleSalesDirector {
			t.Fatalf("tasks %+v, expected the alert to go to the sales director Celia Rouche", tasks)
		}
		if tasks[1].request.Phone != "13800000000" || tasks[1].request.Email != "celia.rouche@example.com" {
			t.Errorf("alert to phone %q email %q, expected the director's from the rules", tasks[1].request.Phone, tasks[1].request.Email)
		}
	})
	t.Run("nobody", func(t *testing.T) {
		lt := newLeadTest(t)
		lt.doc.People.Roles = nil
		lt.closeAt(50 * hour)
		in := leadInput()
		in.Supervisor = ""

		status := lt.run(in)

		if n := len(lt.openedTasks()); n != 1 {
			t.Errorf("opened %d tasks, expected the reminder only", n)
		}
		if status.State != store.SLAClosed || !strings.Contains(status.LastError, "no alert was sent") {
			t.Errorf("state %s last error %q, expected closed with the missing supervisor noted", status.State, status.LastError)
		}
	})
}

func TestLeadUntimedRule(t *testing.T) {
	lt := newLeadTest(t)
	lt.doc.Leads.FirstContact = rules.Deadline{}
	lt.contactAt(100*hour, "Anna Snelling")
	lt.closeAt(101 * hour)

	status := lt.run(leadInput())

	checkTasks(t, lt.openedTasks(), nil)
	checkStates(t, lt.recordedStates(), []string{"first_contact/untimed", "follow_up/waiting", "follow_up/closed"})
	if status.FirstContactAt == nil {
		t.Error("first contact missing from the status")
	}
}

func TestLeadReminderAsLongAsDeadline(t *testing.T) {
	lt := newLeadTest(t)
	lt.doc.Leads.FirstContact.RemindBefore = rules.Duration(72 * hour)
	lt.closeAt(49 * hour)

	lt.run(leadInput())

	checkTasks(t, lt.openedTasks(), []wantTask{
		{activities.TaskLeadReminder, "Anna Snelling", 0},
		{activities.TaskLeadAlert, "Dustin Brinkmann", 48 * hour},
	})
}

func TestLeadInvalidInput(t *testing.T) {
	cases := []struct {
		name  string
		input func(*LeadSLAInput)
	}{
		{"no lead id", func(in *LeadSLAInput) { in.LeadID = "" }},
		{"no rep", func(in *LeadSLAInput) { in.Rep = "" }},
		{"unknown kind", func(in *LeadSLAInput) { in.Kind = "renewal" }},
		{"no clock start", func(in *LeadSLAInput) { in.ClockStart = time.Time{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lt := newLeadTest(t)
			lt.mockActivities()
			in := leadInput()
			tc.input(&in)
			lt.env.ExecuteWorkflow(LeadSLA, in)
			var appErr *temporal.ApplicationError
			if err := lt.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeInput {
				t.Errorf("workflow ended with %v, expected an %s error", err, activities.ErrTypeInput)
			}
		})
	}
}

func TestLeadUpsertsState(t *testing.T) {
	lt := newLeadTest(t)
	var states []string
	lt.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		attrs := args.Get(0).(temporal.SearchAttributes)
		kind, _ := attrs.GetKeyword(OrdoKind)
		state, _ := attrs.GetKeyword(OrdoState)
		states = append(states, kind+"/"+state)
	}).Return(nil)
	lt.closeAt(50 * hour)
	in := leadInput()
	in.Options.SearchAttributes = true

	lt.run(in)

	want := []string{"lead/waiting", "lead/reminded", "lead/overdue", "lead/closed"}
	if strings.Join(states, " ") != strings.Join(want, " ") {
		t.Errorf("upserted %v, expected %v", states, want)
	}
}

func TestLeadRulesUnavailableDelaysClock(t *testing.T) {
	lt := newLeadTest(t)
	lt.rulesErr = errors.New("database unreachable")
	lt.rulesUntil = leadStart.Add(8 * time.Minute)
	lt.closeAt(50 * hour)

	status := lt.run(leadInput())

	if len(lt.rulesRequests) < 3 {
		t.Errorf("%d rules requests, expected retries over eight minutes", len(lt.rulesRequests))
	}
	if !strings.Contains(status.LastError, "database unreachable") {
		t.Errorf("last error %q, expected the rules failure", status.LastError)
	}
	// The clock counts from the assignment, not from when the rules came
	// back.
	checkTasks(t, lt.openedTasks(), []wantTask{
		{activities.TaskLeadReminder, "Anna Snelling", 24 * hour},
		{activities.TaskLeadAlert, "Dustin Brinkmann", 48 * hour},
	})
}

func TestLeadUnknownRulesVersionFails(t *testing.T) {
	lt := newLeadTest(t)
	lt.rulesErr = temporal.NewNonRetryableApplicationError("rules version 9 does not exist", activities.ErrTypeNotFound, nil)
	lt.rulesUntil = leadStart.Add(1000 * hour)
	lt.mockActivities()
	in := leadInput()
	in.RulesVersion = 9
	lt.env.ExecuteWorkflow(LeadSLA, in)

	err := lt.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "rules version 9 does not exist") {
		t.Errorf("workflow ended with %v, expected the missing rules version", err)
	}
	if len(lt.rulesRequests) != 1 {
		t.Errorf("%d rules requests, expected one: a missing version is not retried", len(lt.rulesRequests))
	}
}
