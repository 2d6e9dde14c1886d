package app_test

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	smtpsim "github.com/ordo-project/ordo/internal/simulators/smtp"
	wecomsim "github.com/ordo-project/ordo/internal/simulators/wecom"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// taskProbeInput is the input of taskProbe.
type taskProbeInput struct {
	// TaskQueue is the stack's chains queue, where OpenTask is registered.
	TaskQueue string
	Request   activities.TaskRequest
	// Wait makes the workflow wait for the task's completion signal.
	Wait bool
}

// taskProbe replaces a process workflow in tests. It opens a task through
// the stack's worker and, when Wait is set, waits until a person completes
// the task.
func taskProbe(ctx workflow.Context, in taskProbeInput) (workflows.TaskCompletion, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           in.TaskQueue,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: time.Second},
	})
	var result activities.TaskResult
	if err := workflow.ExecuteActivity(ctx, "OpenTask", in.Request).Get(ctx, &result); err != nil {
		return workflows.TaskCompletion{}, err
	}
	var completion workflows.TaskCompletion
	if in.Wait {
		workflow.GetSignalChannel(ctx, workflows.SignalTaskCompleted).Receive(ctx, &completion)
	}
	return completion, nil
}

const taskProbeQueue = "task-probe"

// startProbeWorker runs taskProbe on its own queue against the stack's
// Temporal server until the returned function stops it.
func startProbeWorker(t *testing.T, c client.Client) func() {
	t.Helper()
	w := worker.New(c, taskProbeQueue, worker.Options{})
	w.RegisterWorkflow(taskProbe)
	if err := w.Start(); err != nil {
		t.Fatalf("start probe worker: %v", err)
	}
	return w.Stop
}

// waitTaskNotified waits until the subject's task exists and its email
// notification is no longer pending, and returns the task's view.
func waitTaskNotified(t *testing.T, c *apiclient.Client, subject string) api.TaskView {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list api.TaskList
		if err := c.Get(ctx, "/api/v1/tasks", url.Values{"subject": {subject}}, &list); err != nil {
			t.Fatalf("list tasks of %s: %v", subject, err)
		}
		if len(list.Tasks) > 0 {
			var view api.TaskView
			if err := c.Get(ctx, "/api/v1/tasks/"+itoa(list.Tasks[0].ID), nil, &view); err != nil {
				t.Fatalf("show task %d: %v", list.Tasks[0].ID, err)
			}
			for _, n := range view.Notifications {
				if n.Channel == "email" && n.State != store.NotificationPending {
					return view
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notified task about %s after 30s", subject)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mailLedger(t *testing.T, c *apiclient.Client) smtpsim.MailSummary {
	t.Helper()
	var ledger struct {
		Mail *smtpsim.MailSummary `json:"mail"`
	}
	if err := c.Get(context.Background(), "/api/v1/dev/ledger", nil, &ledger); err != nil {
		t.Fatalf("read the dev ledger: %v", err)
	}
	if ledger.Mail == nil {
		t.Fatalf("the dev ledger has no mail summary: is the SMTP sink running?")
	}
	return *ledger.Mail
}

// waitWeComDelivered waits up to within until the WeCom simulator
// delivered at least want messages, and returns its summary.
func waitWeComDelivered(t *testing.T, c *apiclient.Client, want int, within time.Duration) wecomsim.Summary {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var ledger struct {
			WeCom *wecomsim.Summary `json:"wecom"`
		}
		if err := c.Get(context.Background(), "/api/v1/dev/ledger", nil, &ledger); err != nil {
			t.Fatalf("read the dev ledger: %v", err)
		}
		if ledger.WeCom == nil {
			t.Fatalf("the dev ledger has no WeCom summary: is the WeCom simulator running?")
		}
		if ledger.WeCom.Delivered >= want || time.Now().After(deadline) {
			return *ledger.WeCom
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestTaskOnceAcrossRestart opens a task from a workflow through the real
// worker, checks that one email reached the SMTP sink, restarts the stack,
// requests the same task again and checks that no second email was sent,
// then completes the task through the API and checks that the workflow
// received the completion.
func TestTaskOnceAcrossRestart(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	ctx := context.Background()
	due := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	request := activities.TaskRequest{
		Key: "lead-SLA-E2E/reminder/" + due.Format(time.RFC3339), Kind: activities.TaskLeadReminder,
		Assignee: "Moses Frase", Email: "moses.frase@example.com", Subject: "lead:E2E",
		Params: map[string]string{"lead_id": "E2E", "account": "Acme Corporation", "product": "GTX Basic", "rep": "Moses Frase"},
		Due:    &due,
	}

	c := s.TemporalClient()
	stopWorker := startProbeWorker(t, c)
	first, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "lead-SLA-E2E", TaskQueue: taskProbeQueue},
		taskProbe, taskProbeInput{TaskQueue: s.Config.TaskQueue, Request: request, Wait: true})
	if err != nil {
		t.Fatalf("start the first probe: %v", err)
	}
	view := waitTaskNotified(t, s.API, "lead:E2E")
	if view.Task.WorkflowID != "lead-SLA-E2E" {
		t.Errorf("task workflow = %q, expected lead-SLA-E2E", view.Task.WorkflowID)
	}
	if view.Task.Title != "请联系线索 E2E（Acme Corporation）" {
		t.Errorf("task title = %q, expected the zh-CN default", view.Task.Title)
	}
	if mail := mailLedger(t, s.API); mail.Messages != 1 {
		t.Fatalf("mail before the restart %+v, expected one message", mail)
	}
	if messages := waitWeComDelivered(t, s.API, 1, 30*time.Second); messages.Delivered != 1 {
		t.Fatalf("WeCom messages before the restart %+v, expected one", messages)
	}

	stopWorker()
	s.Stop()
	s.Start()
	c = s.TemporalClient()
	defer startProbeWorker(t, c)()

	second, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "lead-SLA-E2E-again", TaskQueue: taskProbeQueue},
		taskProbe, taskProbeInput{TaskQueue: s.Config.TaskQueue, Request: request})
	if err != nil {
		t.Fatalf("start the second probe: %v", err)
	}
	if err := second.Get(ctx, nil); err != nil {
		t.Fatalf("second probe: %v", err)
	}
	var list api.TaskList
	if err := s.API.Get(ctx, "/api/v1/tasks", url.Values{"subject": {"lead:E2E"}}, &list); err != nil {
		t.Fatalf("list tasks: %v", err)
	}
	if len(list.Tasks) != 1 {
		t.Errorf("%d tasks about lead:E2E, expected 1", len(list.Tasks))
	}
	if mail := mailLedger(t, s.API); mail.Messages != 1 || mail.Duplicated != 0 {
		t.Errorf("mail after the restart %+v, expected still one message", mail)
	}
	if messages := waitWeComDelivered(t, s.API, 1, 30*time.Second); messages.Delivered != 1 || messages.DuplicateCopies != 0 {
		t.Errorf("WeCom messages after the restart %+v, expected still one", messages)
	}

	var done api.CompleteTaskResponse
	if err := s.API.Post(ctx, "/api/v1/tasks/"+itoa(view.Task.ID)+"/complete",
		api.CompleteTaskRequest{By: "Moses Frase", Note: "called"}, &done); err != nil {
		t.Fatalf("complete task: %v", err)
	}
	if done.Signal != api.SignalSent {
		t.Errorf("signal = %q, expected sent", done.Signal)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var completion workflows.TaskCompletion
	if err := c.GetWorkflow(waitCtx, first.GetID(), "").Get(waitCtx, &completion); err != nil {
		t.Fatalf("first probe: %v", err)
	}
	if completion.TaskID != view.Task.ID || completion.By != "Moses Frase" || completion.Note != "called" {
		t.Errorf("completion = %+v, expected task %d completed by Moses Frase", completion, view.Task.ID)
	}
}

func itoa(id int64) string {
	return strconv.FormatInt(id, 10)
}
