package workflows

import "time"

// SignalTaskCompleted is sent to the workflow that opened a task when a
// person completes it through the API or CLI.
const SignalTaskCompleted = "task-completed"

// TaskCompletion is the payload of SignalTaskCompleted.
type TaskCompletion struct {
	TaskID  int64     `json:"task_id"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	By      string    `json:"by"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}
