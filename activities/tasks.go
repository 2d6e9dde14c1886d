package activities

import (
	"context"
	"errors"
	"time"
)

// TaskActivities create tasks for named people in ordo's database and send
// their notifications through the configured channels, each exactly once
// per Key.
//
// STUB: owned by the tasks work; bodies are placeholders.
type TaskActivities struct{}

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

// TaskResult names the task; Created is false when Key already existed.
type TaskResult struct {
	TaskID  int64 `json:"task_id"`
	Created bool  `json:"created"`
}

// OpenTask opens the task and sends its notifications.
func (a *TaskActivities) OpenTask(ctx context.Context, in TaskRequest) (TaskResult, error) {
	return TaskResult{}, errors.New("not implemented")
}

// CloseTasksRequest closes the open tasks about Subject, optionally only
// those of the given kinds.
type CloseTasksRequest struct {
	Subject    string   `json:"subject"`
	Kinds      []string `json:"kinds,omitempty"`
	Resolution string   `json:"resolution"`
}

// CloseTasks closes tasks that the process no longer needs.
func (a *TaskActivities) CloseTasks(ctx context.Context, in CloseTasksRequest) error {
	return errors.New("not implemented")
}
