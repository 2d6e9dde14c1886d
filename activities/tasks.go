package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/store"
)

// TaskActivities create tasks for named people in ordo's database and send
// their notifications through the configured channels, each exactly once
// per Key.
//
// Exactly once holds for everything but one window, between the moment a
// channel delivered a message and the moment the notification is marked
// sent. A worker that dies in it, a database write that fails in it, or an
// SMTP reply lost after the server accepted the message all make the next
// attempt send the message again. The resend carries the same message
// id, derived from the notification key: for email the same Message-ID
// header, which RFC 5322 section 3.6.4 defines as the unique identifier of
// one message, so the SMTP sink counts the copy as a duplicate and a mail
// client can recognise it. The mark is written with a context that the
// activity's cancellation does not end, which keeps the window to a crash
// or a database failure.
type TaskActivities struct {
	Store *store.Store
	// Channels are the configured notification channels by name.
	Channels *notify.Registry
	// Renderer fills titles and bodies in the configured locale.
	Renderer *notify.Renderer
	// DefaultChannels notify the assignee of a request that names no
	// channels, e.g. [email, log]. Customer SMS tasks default to [sms, log].
	DefaultChannels []string
	// BaseURL is the API's public URL. A task's link is its signed page,
	// BaseURL/t/ID?sig=..., or BaseURL/api/v1/tasks/ID when LinkSecret is
	// empty. No link is set when BaseURL is empty.
	BaseURL string
	// LinkSecret signs the links of task pages; see package tasklink.
	LinkSecret []byte
	Logger     *logrus.Logger
	// Outbox, when set, is kicked when a notification of a paced channel
	// is recorded, so it goes out without waiting for the next pass.
	Outbox interface{ Kick() }
}

// Log field names of the task activities.
const (
	keyTaskID   = "task_id"
	keyTaskKey  = "task_key"
	keyChannel  = "channel"
	keyTemplate = "template"
	keyMissing  = "missing_params"
)

// Task kinds.
const (
	TaskLeadReminder      = "lead_reminder"
	TaskLeadAlert         = "lead_alert"
	TaskFollowUpReminder  = "follow_up_reminder"
	TaskFollowUpAlert     = "follow_up_alert"
	TaskRenewal           = "renewal"
	TaskRenewalEscalation = "renewal_escalation"
	TaskTicket            = "ticket"
	TaskTicketEscalation  = "ticket_escalation"
	TaskApproval          = "approval"
	TaskVerification      = "verification"
	TaskCustomerSMS       = "customer_sms"
)

// TaskRequest opens a task for a person and notifies them.
type TaskRequest struct {
	// Key makes the request idempotent: the same key never opens a second
	// task or sends a second notification, after retries, replays or a
	// worker restart. Build it from the workflow ID, the purpose and the
	// deadline, e.g. "lead-SLA-1C1I7A6R/reminder/2026-12-05T10:00:00Z".
	Key string `json:"key"`
	// Kind is one of the Task* constants.
	Kind string `json:"kind"`
	// Assignee is the person's name; AssigneeRole the role they act in.
	Assignee     string `json:"assignee"`
	AssigneeRole string `json:"assignee_role,omitempty"`
	// Email and Phone are where the assignee is notified; workflows take
	// them from rules.People so the address is part of the history.
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Subject is the record the task is about: "lead:ID", "contract:NO",
	// "ticket:ID", "approval:ID", "customer:NAME".
	Subject string `json:"subject"`
	// Template names the notification text; Params fill it.
	Template string            `json:"template"`
	Params   map[string]string `json:"params,omitempty"`
	Due      *time.Time        `json:"due,omitempty"`
	// Channels to notify through, e.g. "email", "log", "sms"; empty uses
	// the person's default channels.
	Channels []string `json:"channels,omitempty"`
}

// The activity records the calling workflow's ID with the task; when a
// person completes the task through the API or CLI, ordo sends that
// workflow the workflows.SignalTaskCompleted signal.

// TaskResult names the task. Created is false when Key already existed
// before this activity execution's first attempt, so a retry of the
// execution that opened the task still reports true.
type TaskResult struct {
	TaskID  int64 `json:"task_id"`
	Created bool  `json:"created"`
}

// OpenTask opens the task and sends its notifications. A second call with
// the same Key returns the first task and sends only the notifications
// that are still pending. A notification that can never be sent (no
// address, a 5xx reply, an unconfigured channel) is marked failed and does
// not fail the call. A temporary failure of any channel returns a
// retryable error after every other channel was tried.
func (a *TaskActivities) OpenTask(ctx context.Context, in TaskRequest) (TaskResult, error) {
	template, err := validateTaskRequest(&in)
	if err != nil {
		return TaskResult{}, err
	}
	info := activity.GetInfo(ctx)
	rendered, err := a.Renderer.Render(template, in.Params, in.Due)
	if err != nil {
		return TaskResult{}, invalidInput("task %s: %v", in.Key, err)
	}

	task := &store.Task{
		Key: in.Key, Kind: in.Kind, Assignee: in.Assignee, AssigneeRole: in.AssigneeRole,
		Email: in.Email, Phone: in.Phone, Subject: in.Subject,
		WorkflowID:  info.WorkflowExecution.ID,
		ActivityRef: info.WorkflowExecution.RunID + "/" + info.ActivityID,
		Template:    template, Locale: a.Renderer.Locale(),
		Title: rendered.Title, Body: rendered.Body, DueAt: in.Due,
	}
	inserted, err := a.insertTask(ctx, task)
	if err != nil {
		return TaskResult{}, err
	}
	log := a.Logger.WithFields(logrus.Fields{
		logging.KeyWorkflowID: task.WorkflowID, keyTaskID: task.ID, keyTaskKey: task.Key,
	})
	if inserted {
		log.WithFields(logrus.Fields{"kind": task.Kind, "assignee": task.Assignee}).Info("task opened")
		if len(rendered.Missing) > 0 {
			log.WithFields(logrus.Fields{keyTemplate: template, keyMissing: strings.Join(rendered.Missing, ",")}).
				Warn("task text rendered with placeholders: the request lacks params of its template")
		}
	}

	channels := in.Channels
	if len(channels) == 0 {
		channels = a.defaultChannels(in.Kind)
	}
	var retryable []error
	for _, name := range dedupe(channels) {
		if err := a.sendNotification(ctx, log, task, name, in.Params); err != nil {
			retryable = append(retryable, err)
		}
	}
	if len(retryable) > 0 {
		return TaskResult{}, fmt.Errorf("notify about task %d (%s): %w", task.ID, task.Key, errors.Join(retryable...))
	}
	return TaskResult{TaskID: task.ID, Created: inserted || task.ActivityRef == info.WorkflowExecution.RunID+"/"+info.ActivityID}, nil
}

// CloseTasksRequest closes the open tasks about Subject, optionally only
// those of the given kinds.
type CloseTasksRequest struct {
	Subject    string   `json:"subject"`
	Kinds      []string `json:"kinds,omitempty"`
	Resolution string   `json:"resolution"`
}

// CloseTasks closes tasks that the process no longer needs: their state
// becomes cancelled with the resolution. Done and cancelled tasks stay as
// they are, so a repeated call changes nothing.
func (a *TaskActivities) CloseTasks(ctx context.Context, in CloseTasksRequest) error {
	if strings.TrimSpace(in.Subject) == "" {
		return invalidInput("close tasks: subject is required, e.g. \"lead:ID\"")
	}
	ids, err := store.CancelTasks(ctx, a.Store.DB, in.Subject, in.Kinds, in.Resolution, store.Now())
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		a.Logger.WithFields(logrus.Fields{
			logging.KeyWorkflowID: activity.GetInfo(ctx).WorkflowExecution.ID,
			"subject":             in.Subject, logging.KeyCount: len(ids),
		}).Info("open tasks cancelled")
	}
	return nil
}
