package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
)

// This file holds the activity calls of the LeadSLA workflow: the rules,
// the tasks and the records in ordo's database.

// Pauses between two series of attempts of a rules activity: the first,
// doubled after each failed series up to the maximum.
const (
	rulesRetryPause    = time.Minute
	rulesRetryPauseMax = 10 * time.Minute
)

// callRules runs a rules activity as a local activity until it succeeds.
// Without rules no deadline can be computed, so a retryable failure, such
// as an unreachable database, delays the clock instead of failing the
// workflow. A series of attempts stays within one workflow task of eight
// seconds. After a failed series the workflow waits on a timer, which
// costs the server nothing while thousands of leads wait. A non-retryable
// failure, such as a rules version that does not exist, is returned.
func (l *leadSLA) callRules(what string, fn, input, result any) error {
	ctx := workflow.WithLocalActivityOptions(l.actCtx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 8 * time.Second,
		StartToCloseTimeout:    5 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2},
	})
	pause := rulesRetryPause
	for {
		err := workflow.ExecuteLocalActivity(ctx, fn, input).Get(ctx, result)
		if err == nil {
			return nil
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			return err
		}
		l.status.LastError = fmt.Sprintf("%s: %s; retrying in %s", what, rootMessage(err), pause)
		l.logger.Warn("Rules activity failed; retrying after a pause", "Activity", what, "Pause", pause, "Error", err)
		if err := workflow.Sleep(l.rootCtx, pause); err != nil {
			return err
		}
		pause = min(2*pause, rulesRetryPauseMax)
	}
}

// deadline computes start + within in the rule's hours through the rules
// activity, which applies the working calendar of the rules version.
func (l *leadSLA) deadline(start time.Time, within rules.Duration, hours rules.Hours) (time.Time, error) {
	var result activities.DeadlineResult
	request := activities.DeadlineRequest{Start: start, Within: within, Hours: hours, RulesVersion: l.status.RulesVersion}
	if err := l.callRules("compute a deadline", leadRules.Deadline, request, &result); err != nil {
		return time.Time{}, fmt.Errorf("compute the %s deadline of lead %s: %w", l.status.Kind, l.in.LeadID, err)
	}
	return result.Deadline, nil
}

func leadTaskKinds() []string {
	return []string{activities.TaskLeadReminder, activities.TaskLeadAlert, activities.TaskFollowUpReminder, activities.TaskFollowUpAlert}
}

func (l *leadSLA) subject() string { return "lead:" + l.status.LeadID }

// taskKey identifies one reminder or alert: the workflow, the clock kind
// and purpose, the clock's number and its deadline. A retried, replayed or
// restarted workflow sends the same key, so the task and its notification
// exist once. The number keeps two clocks with the same deadline apart,
// e.g. after a reassignment that restarts the clock at its old start.
func (l *leadSLA) taskKey(purpose string) string {
	deadline := ""
	if l.status.Deadline != nil {
		deadline = l.status.Deadline.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s/%s-%s/%d/%s", workflow.GetInfo(l.rootCtx).WorkflowExecution.ID, l.status.Kind, purpose, l.status.Clocks, deadline)
}

func (l *leadSLA) taskParams() map[string]string {
	s := l.status
	params := map[string]string{
		"lead_id": s.LeadID, "rep": s.Rep, "supervisor": s.Supervisor,
		"account": s.Account, "product": s.Product, "kind": s.Kind,
	}
	if s.Deadline != nil {
		params["deadline"] = s.Deadline.UTC().Format(time.RFC3339)
	}
	return params
}

// changeLocalTaskCalls names the workflow.GetVersion change that runs
// OpenTask and CloseTasks as local activities. A reminder then costs one
// workflow task instead of a round trip through an activity task queue,
// which matters when thousands of reminders fall due at once. Histories
// recorded before the change keep regular activities.
const changeLocalTaskCalls = "lead-sla-local-task-calls"

// callTask runs a task activity, as a local activity for workflows that
// started after changeLocalTaskCalls, retried with backoff for as long as
// the failure is retryable.
func (l *leadSLA) callTask(fn, input, result any) error {
	if workflow.GetVersion(l.actCtx, changeLocalTaskCalls, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return workflow.ExecuteActivity(l.taskCtx(), fn, input).Get(l.actCtx, result)
	}
	ctx := workflow.WithLocalActivityOptions(l.actCtx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		},
	})
	return workflow.ExecuteLocalActivity(ctx, fn, input).Get(ctx, result)
}

// openTask opens a task through the task activities. A failure retries
// cannot fix is logged and kept in the status, and the clock goes on.
func (l *leadSLA) openTask(request activities.TaskRequest) {
	var result activities.TaskResult
	if err := l.callTask(leadTasks.OpenTask, request, &result); err != nil {
		l.status.LastError = fmt.Sprintf("open %s task %s: %s", request.Kind, request.Key, rootMessage(err))
		l.logger.Error("Opening a lead task failed", "Key", request.Key, "Error", err)
	}
}

// closeTasks closes the open tasks of the given kinds about the lead.
func (l *leadSLA) closeTasks(resolution string, kinds ...string) {
	request := activities.CloseTasksRequest{Subject: l.subject(), Kinds: kinds, Resolution: resolution}
	if err := l.callTask(leadTasks.CloseTasks, request, nil); err != nil {
		l.status.LastError = fmt.Sprintf("close tasks of %s: %s", l.subject(), rootMessage(err))
		l.logger.Error("Closing lead tasks failed", "Subject", l.subject(), "Error", err)
	}
}

func (l *leadSLA) taskCtx() workflow.Context {
	return workflow.WithActivityOptions(l.actCtx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		},
	})
}

// recordState records the clock in ordo's database and shows the state in
// the Temporal Web UI. A failed record is logged and the workflow goes on:
// its own state stays right and the next record repairs the row.
func (l *leadSLA) recordState() error {
	s := l.status
	start := s.ClockStart
	record := activities.LeadSLARecord{
		LeadID: s.LeadID, Kind: s.Kind, State: s.State, Rep: s.Rep, RulesVersion: s.RulesVersion,
		StartedAt: &start, RemindAt: s.RemindAt, Deadline: s.Deadline, RemindedAt: s.ReminderSentAt, AlertedAt: s.AlertSentAt,
	}
	ctx := l.recordCtx()
	if err := workflow.ExecuteLocalActivity(ctx, leadStore.RecordLeadSLA, record).Get(ctx, nil); err != nil {
		l.logger.Error("Recording the lead SLA failed", "State", s.State, "Error", err)
	}
	l.upsertState()
	return nil
}

// recordContact records a contact in ordo's database; see recordState for
// failures.
func (l *leadSLA) recordContact(at time.Time, signal LeadContactedSignal) {
	record := activities.LeadContactRecord{LeadID: l.status.LeadID, At: at, By: signal.By, Channel: signal.Channel}
	ctx := l.recordCtx()
	if err := workflow.ExecuteLocalActivity(ctx, leadStore.RecordLeadContact, record).Get(ctx, nil); err != nil {
		l.logger.Error("Recording the lead contact failed", "At", at, "Error", err)
	}
}

func (l *leadSLA) recordCtx() workflow.Context {
	return workflow.WithLocalActivityOptions(l.actCtx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		},
	})
}

// upsertState shows the clock's state in the Temporal Web UI, e.g.
// OrdoKind = "lead" AND OrdoState = "overdue".
func (l *leadSLA) upsertState() {
	if !l.in.Options.SearchAttributes {
		return
	}
	err := workflow.UpsertTypedSearchAttributes(l.actCtx, OrdoKind.ValueSet(LeadKind), OrdoState.ValueSet(l.status.State))
	if err != nil {
		l.logger.Warn("Search attribute upsert failed", "Error", err)
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}
