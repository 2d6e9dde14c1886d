package activities

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/simulators"
	smtpsim "github.com/ordo-project/ordo/internal/simulators/smtp"
	"github.com/ordo-project/ordo/internal/sqlitedb"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// taskFixture is the task activities on a real store, with the email
// channel sending to the SMTP sink simulator on a loopback port.
type taskFixture struct {
	acts  *TaskActivities
	store *store.Store
	sink  *smtpsim.Simulator
}

func newTaskFixture(t *testing.T, st *store.Store) *taskFixture {
	t.Helper()
	ctx := context.Background()
	simDB, err := sqlitedb.Open(filepath.Join(t.TempDir(), "simulators.db"), 1)
	if err != nil {
		t.Fatalf("open simulators database: %v", err)
	}
	t.Cleanup(func() { _ = simDB.Close() })
	sink, err := smtpsim.New(ctx, smtpsim.Config{DB: simDB})
	if err != nil {
		t.Fatalf("new SMTP sink: %v", err)
	}
	if err := sink.Start(); err != nil {
		t.Fatalf("start SMTP sink: %v", err)
	}
	t.Cleanup(func() { _ = sink.Close() })

	logger := logging.Discard()
	email, err := notify.NewEmailChannel(notify.EmailConfig{Address: sink.Address(), From: "ordo <ordo@ordo.example>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("new email channel: %v", err)
	}
	channels, err := notify.NewRegistry(email, &notify.LogChannel{Logger: logger}, &notify.SMSLogChannel{Logger: logger})
	if err != nil {
		t.Fatalf("new channel registry: %v", err)
	}
	renderer, err := notify.NewRenderer(notify.LocaleChinese, time.UTC)
	if err != nil {
		t.Fatalf("new renderer: %v", err)
	}
	return &taskFixture{
		acts: &TaskActivities{
			Store: st, Channels: channels, Renderer: renderer,
			DefaultChannels: []string{notify.ChannelEmail, notify.ChannelLog},
			BaseURL:         "http://127.0.0.1:8080/", Logger: logger,
		},
		store: st,
		sink:  sink,
	}
}

// open runs OpenTask once in a test activity environment.
func (f *taskFixture) open(t *testing.T, in TaskRequest) (TaskResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	encoded, err := env.ExecuteActivity(f.acts.OpenTask, in)
	if err != nil {
		return TaskResult{}, err
	}
	var result TaskResult
	if err := encoded.Get(&result); err != nil {
		t.Fatalf("decode task result: %v", err)
	}
	return result, nil
}

// notifications returns the task's notifications by channel.
func (f *taskFixture) notifications(t *testing.T, taskID int64) map[string]store.Notification {
	t.Helper()
	list, err := f.store.TaskNotifications(context.Background(), taskID)
	if err != nil {
		t.Fatalf("read notifications of task %d: %v", taskID, err)
	}
	byChannel := make(map[string]store.Notification, len(list))
	for _, n := range list {
		byChannel[n.Channel] = n
	}
	return byChannel
}

func (f *taskFixture) mailSummary(t *testing.T) smtpsim.MailSummary {
	t.Helper()
	summary, err := f.sink.Summary(context.Background())
	if err != nil {
		t.Fatalf("sink summary: %v", err)
	}
	return summary
}

func leadReminder(key string) TaskRequest {
	due := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	return TaskRequest{
		Key: key, Kind: TaskLeadReminder, Assignee: "Moses Frase", AssigneeRole: "sales_rep",
		Email: "moses.frase@example.com", Subject: "lead:1C1I7A6R",
		Params: map[string]string{"lead_id": "1C1I7A6R", "account": "Acme Corporation", "product": "GTX Basic", "rep": "Moses Frase"},
		Due:    &due,
	}
}

func TestOpenTaskOnce(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, st *store.Store) {
		f := newTaskFixture(t, st)
		request := leadReminder("lead-SLA-1C1I7A6R/reminder/2026-12-05T10:00:00Z")

		first, err := f.open(t, request)
		if err != nil {
			t.Fatalf("first OpenTask: %v", err)
		}
		if !first.Created || first.TaskID == 0 {
			t.Fatalf("first OpenTask = %+v, expected a created task", first)
		}
		second, err := f.open(t, request)
		if err != nil {
			t.Fatalf("second OpenTask: %v", err)
		}
		if second.TaskID != first.TaskID {
			t.Errorf("second OpenTask returned task %d, expected %d", second.TaskID, first.TaskID)
		}

		tasks, err := f.store.ListTasks(context.Background(), store.TaskFilter{})
		if err != nil {
			t.Fatalf("list tasks: %v", err)
		}
		if len(tasks) != 1 {
			t.Fatalf("%d tasks stored, expected 1", len(tasks))
		}
		task := tasks[0]
		if task.Title != "请联系线索 1C1I7A6R（Acme Corporation）" {
			t.Errorf("title = %q", task.Title)
		}
		if !strings.Contains(task.Body, "2026-12-05 10:00") {
			t.Errorf("body %q lacks the deadline filled from the due time", task.Body)
		}
		if task.Link != "http://127.0.0.1:8080/api/v1/tasks/"+strconv.FormatInt(task.ID, 10) {
			t.Errorf("link = %q", task.Link)
		}
		if task.WorkflowID == "" {
			t.Errorf("workflow ID not recorded")
		}
		if task.Locale != notify.LocaleChinese || task.Template != notify.TemplateLeadReminder {
			t.Errorf("locale %q, template %q", task.Locale, task.Template)
		}

		summary := f.mailSummary(t)
		if summary.Messages != 1 || summary.Duplicated != 0 {
			t.Errorf("sink summary %+v, expected exactly one message", summary)
		}
		notifications := f.notifications(t, task.ID)
		for _, channel := range []string{notify.ChannelEmail, notify.ChannelLog} {
			n, ok := notifications[channel]
			if !ok {
				t.Errorf("no %s notification", channel)
				continue
			}
			if n.State != store.NotificationSent || n.Attempts != 1 || n.MessageID == "" {
				t.Errorf("%s notification = %+v, expected sent once with a message id", channel, n)
			}
		}
		mails, err := f.sink.Messages(context.Background(), notifications[notify.ChannelEmail].MessageID)
		if err != nil || len(mails) != 1 {
			t.Fatalf("sink copies of the email: %d, error %v; expected 1", len(mails), err)
		}
		if mails[0].To != "moses.frase@example.com" || !strings.Contains(mails[0].Body, task.Link) {
			t.Errorf("mail to %q with body %q, expected the assignee and the link", mails[0].To, mails[0].Body)
		}
	})
}

func TestOpenTaskRetriesTemporaryFailure(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	request := leadReminder("lead-SLA-TEMP/reminder")
	f.sink.FailNext(1)

	_, err := f.open(t, request)
	if err == nil {
		t.Fatalf("OpenTask during a 451: expected an error")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Fatalf("a 451 must be retryable, got a non-retryable error: %v", err)
	}
	tasks, err := f.store.ListTasks(context.Background(), store.TaskFilter{})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks after the failed attempt: %d, error %v; expected the task to exist", len(tasks), err)
	}
	pending := f.notifications(t, tasks[0].ID)
	if n := pending[notify.ChannelEmail]; n.State != store.NotificationPending || n.Attempts != 1 || !strings.Contains(n.LastError, "451") {
		t.Errorf("email notification after the 451 = %+v, expected pending with the error", n)
	}
	if n := pending[notify.ChannelLog]; n.State != store.NotificationSent {
		t.Errorf("log notification = %+v, expected sent although email failed", n)
	}

	result, err := f.open(t, request)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if result.TaskID != tasks[0].ID {
		t.Errorf("retry returned task %d, expected %d", result.TaskID, tasks[0].ID)
	}
	if summary := f.mailSummary(t); summary.Messages != 1 {
		t.Errorf("sink summary %+v, expected one message", summary)
	}
	sent := f.notifications(t, tasks[0].ID)
	if n := sent[notify.ChannelEmail]; n.State != store.NotificationSent || n.Attempts != 2 {
		t.Errorf("email notification after the retry = %+v, expected sent on attempt 2", n)
	}
	if n := sent[notify.ChannelLog]; n.Attempts != 1 {
		t.Errorf("log notification sent %d times, expected once", n.Attempts)
	}
}

func TestOpenTaskLostReplyResendsSameID(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	request := leadReminder("lead-SLA-LOST/reminder")
	f.sink.Injector().SetConfig(simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultLostReply}})

	if _, err := f.open(t, request); err == nil {
		t.Fatalf("OpenTask with a lost reply: expected an error")
	}
	f.sink.Injector().SetConfig(simulators.FaultConfig{})
	if _, err := f.open(t, request); err != nil {
		t.Fatalf("retry: %v", err)
	}

	// The sink got the message twice, and the second copy carries the
	// first one's Message-ID, so it is recognisable as a resend.
	summary := f.mailSummary(t)
	if summary.Messages != 2 || summary.MessageIDs != 1 || summary.Duplicated != 1 {
		t.Errorf("sink summary %+v, expected two copies of one Message-ID", summary)
	}
}

func TestOpenTaskPermanentFailures(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	cases := []struct {
		name, email, reason string
	}{
		{"rejected recipient", "nobody@example.invalid", "550"},
		{"no address", "", "no address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			request := leadReminder("permanent/" + c.name)
			request.Email = c.email
			result, err := f.open(t, request)
			if err != nil {
				t.Fatalf("OpenTask: %v; a permanent notification failure must not fail the task", err)
			}
			notifications := f.notifications(t, result.TaskID)
			email := notifications[notify.ChannelEmail]
			if email.State != store.NotificationFailed || !strings.Contains(email.LastError, c.reason) {
				t.Errorf("email notification = %+v, expected failed with %q", email, c.reason)
			}
			if notifications[notify.ChannelLog].State != store.NotificationSent {
				t.Errorf("log notification = %+v, expected sent", notifications[notify.ChannelLog])
			}

			// A repeat does not try the failed notification again.
			if _, err := f.open(t, request); err != nil {
				t.Fatalf("repeat: %v", err)
			}
			if again := f.notifications(t, result.TaskID)[notify.ChannelEmail]; again.Attempts != 1 {
				t.Errorf("failed notification attempted %d times, expected once", again.Attempts)
			}
		})
	}
}

func TestOpenTaskChannels(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))

	sms := TaskRequest{
		Key: "renewal/CT-1/sms", Kind: TaskCustomerSMS, Assignee: "Acme Corporation", Phone: "13812345678",
		Subject: "customer:Acme Corporation",
		Params:  map[string]string{"company": "ordo", "account": "Acme Corporation", "contract_no": "CT-1", "end_date": "2027-01-04"},
	}
	result, err := f.open(t, sms)
	if err != nil {
		t.Fatalf("customer SMS: %v", err)
	}
	notifications := f.notifications(t, result.TaskID)
	if len(notifications) != 2 || notifications[notify.ChannelSMS].State != store.NotificationSent {
		t.Errorf("customer SMS notifications = %+v, expected sms and log sent", notifications)
	}
	if notifications[notify.ChannelSMS].Address != "13812345678" {
		t.Errorf("sms address = %q", notifications[notify.ChannelSMS].Address)
	}

	unknown := leadReminder("unknown-channel")
	unknown.Channels = []string{"wecom", notify.ChannelLog, notify.ChannelLog}
	result, err = f.open(t, unknown)
	if err != nil {
		t.Fatalf("unconfigured channel: %v; it must not fail the task", err)
	}
	notifications = f.notifications(t, result.TaskID)
	if len(notifications) != 2 {
		t.Errorf("notifications = %+v, expected wecom and one log", notifications)
	}
	if n := notifications["wecom"]; n.State != store.NotificationFailed || !strings.Contains(n.LastError, "not configured") {
		t.Errorf("wecom notification = %+v, expected failed as not configured", n)
	}
	if summary := f.mailSummary(t); summary.Messages != 0 {
		t.Errorf("sink got %d messages, expected none", summary.Messages)
	}
}

func TestOpenTaskRejectsInvalidRequest(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	cases := []struct {
		name   string
		change func(*TaskRequest)
		word   string
	}{
		{"no key", func(r *TaskRequest) { r.Key = "" }, "key is required"},
		{"unknown kind", func(r *TaskRequest) { r.Kind = "reminder" }, "kind"},
		{"no assignee", func(r *TaskRequest) { r.Assignee = " " }, "assignee"},
		{"no subject", func(r *TaskRequest) { r.Subject = "" }, "subject"},
		{"unknown template", func(r *TaskRequest) { r.Template = "lead_nudge" }, "lead_nudge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			request := leadReminder("invalid/" + c.name)
			c.change(&request)
			_, err := f.open(t, request)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != ErrTypeInput {
				t.Fatalf("error %v, expected a non-retryable %s", err, ErrTypeInput)
			}
			if !strings.Contains(err.Error(), c.word) {
				t.Errorf("error %q does not mention %q", err, c.word)
			}
		})
	}
	tasks, err := f.store.ListTasks(context.Background(), store.TaskFilter{})
	if err != nil || len(tasks) != 0 {
		t.Errorf("invalid requests stored %d tasks (error %v), expected none", len(tasks), err)
	}
}

func TestCloseTasksBySubjectAndKind(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	reminder := leadReminder("close/reminder")
	reminder.Channels = []string{notify.ChannelLog}
	alert := leadReminder("close/alert")
	alert.Kind, alert.Channels = TaskLeadAlert, []string{notify.ChannelLog}
	for _, request := range []TaskRequest{reminder, alert} {
		if _, err := f.open(t, request); err != nil {
			t.Fatalf("open %s: %v", request.Key, err)
		}
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	close := CloseTasksRequest{Subject: reminder.Subject, Kinds: []string{TaskLeadAlert}, Resolution: "first contact recorded"}
	if _, err := env.ExecuteActivity(f.acts.CloseTasks, close); err != nil {
		t.Fatalf("close alerts: %v", err)
	}
	open, err := f.store.ListTasks(context.Background(), store.TaskFilter{State: store.TaskOpen})
	if err != nil {
		t.Fatalf("list open tasks: %v", err)
	}
	if len(open) != 1 || open[0].Kind != TaskLeadReminder {
		t.Errorf("open tasks = %+v, expected only the reminder", open)
	}

	if _, err := env.ExecuteActivity(f.acts.CloseTasks, CloseTasksRequest{Subject: reminder.Subject, Resolution: "lead closed"}); err != nil {
		t.Fatalf("close all: %v", err)
	}
	open, err = f.store.ListTasks(context.Background(), store.TaskFilter{State: store.TaskOpen})
	if err != nil || len(open) != 0 {
		t.Errorf("open tasks after closing the subject: %d (error %v), expected none", len(open), err)
	}

	_, err = env.ExecuteActivity(f.acts.CloseTasks, CloseTasksRequest{})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("close without a subject: error %v, expected a non-retryable error", err)
	}
}

// openTaskWorkflow opens one task the way the process workflows do.
func openTaskWorkflow(ctx workflow.Context, in TaskRequest) (TaskResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
	var acts *TaskActivities
	var result TaskResult
	err := workflow.ExecuteActivity(ctx, acts.OpenTask, in).Get(ctx, &result)
	return result, err
}

func TestOpenTaskFromWorkflow(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	f.sink.FailNext(1)

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(openTaskWorkflow)
	env.RegisterActivity(f.acts)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "lead-SLA-1C1I7A6R"})
	env.ExecuteWorkflow(openTaskWorkflow, leadReminder("lead-SLA-1C1I7A6R/reminder"))

	if !env.IsWorkflowCompleted() {
		t.Fatalf("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var result TaskResult
	if err := env.GetWorkflowResult(&result); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	if !result.Created {
		t.Errorf("Created = false after a retried first execution, expected true")
	}
	task, err := f.store.GetTask(context.Background(), result.TaskID)
	if err != nil {
		t.Fatalf("read task: %v", err)
	}
	if task.WorkflowID != "lead-SLA-1C1I7A6R" {
		t.Errorf("workflow ID = %q, expected the calling workflow's", task.WorkflowID)
	}
	// The first attempt met the 451 and Temporal retried it.
	if summary := f.mailSummary(t); summary.Messages != 1 {
		t.Errorf("sink summary %+v, expected one message after the retry", summary)
	}
	if n := f.notifications(t, task.ID)[notify.ChannelEmail]; n.Attempts != 2 || n.State != store.NotificationSent {
		t.Errorf("email notification = %+v, expected sent on attempt 2", n)
	}
}
