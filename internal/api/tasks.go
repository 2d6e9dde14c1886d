package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/serviceerror"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// TaskList is one page of tasks.
type TaskList struct {
	Tasks []store.Task `json:"tasks"`
	// Next is the value of "after" for the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

// TaskView is one task with its notifications.
type TaskView struct {
	Task          *store.Task          `json:"task"`
	Notifications []store.Notification `json:"notifications"`
}

// CompleteTaskRequest is the body of POST /api/v1/tasks/{id}/complete.
type CompleteTaskRequest struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// Values of CompleteTaskResponse.Signal.
const (
	SignalSent               = "sent"
	SignalWorkflowNotRunning = "workflow_not_running"
	SignalNoWorkflow         = "no_workflow"
)

// CompleteTaskResponse is the completed task and the outcome of the signal
// to its workflow.
type CompleteTaskResponse struct {
	Task *store.Task `json:"task"`
	// Changed is false when the task was done before this request, in which
	// case the task keeps its first completion.
	Changed bool `json:"changed"`
	// Signal is SignalSent when the workflow that opened the task received
	// the completion, SignalWorkflowNotRunning when that workflow has ended
	// or does not exist, and SignalNoWorkflow when no workflow opened it.
	Signal string `json:"signal"`
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := store.TaskFilter{
		Assignee: q.Get("assignee"), State: q.Get("state"), Kind: q.Get("kind"), Subject: q.Get("subject"),
	}
	switch filter.State {
	case "", store.TaskOpen, store.TaskDone, store.TaskCancelled:
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument", "unknown state "+strconv.Quote(filter.State)+": use open, done or cancelled")
		return
	}
	var ok bool
	if filter.Limit, ok = pageLimit(w, q, store.DefaultPageLimit); !ok {
		return
	}
	if filter.After, ok = pageAfterID(w, q, "task"); !ok {
		return
	}
	if text := q.Get("due_before"); text != "" {
		due, err := time.Parse(time.RFC3339, text)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "due_before must be an RFC 3339 time such as 2026-12-05T18:00:00+08:00")
			return
		}
		filter.DueBefore = &due
	}

	tasks, err := s.Store.ListTasks(r.Context(), filter)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	list := TaskList{
		Tasks: nonNil(tasks),
		Next:  nextCursor(tasks, filter.Limit, func(t store.Task) string { return strconv.FormatInt(t.ID, 10) }),
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) showTask(w http.ResponseWriter, r *http.Request) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	task, err := s.Store.GetTask(r.Context(), id)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	notifications, err := s.Store.TaskNotifications(r.Context(), id)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TaskView{Task: task, Notifications: nonNil(notifications)})
}

// completeTask marks the task done and signals the workflow that opened
// it; see completeAndSignal.
func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	var req CompleteTaskRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	response, failure := s.completeAndSignal(r, id, req.By, req.Note)
	if failure != nil {
		s.writeCompletionError(w, failure)
		return
	}
	writeJSON(w, http.StatusOK, response)
}

// completionError is a task completion that was rejected or failed, with
// the status and error code of its API response.
type completionError struct {
	status  int
	code    string
	message string
	// err, when set, is the store error behind the failure, and
	// writeStoreError writes the response.
	err error
	// task is the task as read, when it was read.
	task *store.Task
	// manager is the manager of the assignee on a rejection of someone
	// else, "" when the assignee has none.
	manager string
}

func (s *Server) writeCompletionError(w http.ResponseWriter, failure *completionError) {
	if failure.err != nil {
		s.writeStoreError(w, failure.err)
		return
	}
	writeError(w, failure.status, failure.code, failure.message)
}

// completeAndSignal marks task id done by the person by with note and
// signals the workflow that opened it, the one completion path of the
// API and the task page. A repeated request signals again with the first
// completion, so a client that lost the response, or got 503 because
// Temporal was down, can retry. Workflows must therefore ignore a second
// completion of a task they already handled.
func (s *Server) completeAndSignal(r *http.Request, id int64, by, note string) (CompleteTaskResponse, *completionError) {
	by = strings.TrimSpace(by)
	if by == "" {
		return CompleteTaskResponse{}, &completionError{status: http.StatusBadRequest, code: "invalid_argument",
			message: "by is required: name the person who completed the task"}
	}
	current, err := s.Store.GetTask(r.Context(), id)
	if err != nil {
		return CompleteTaskResponse{}, &completionError{err: err}
	}
	if failure := s.authorizeCompletion(r, current, by); failure != nil {
		return CompleteTaskResponse{}, failure
	}

	task, changed, err := s.Store.CompleteTask(r.Context(), id, by, note, s.Now())
	if errors.Is(err, store.ErrTaskCancelled) {
		return CompleteTaskResponse{}, &completionError{status: http.StatusConflict, code: "conflict", message: cancelledMessage(task), task: task}
	}
	if err != nil {
		return CompleteTaskResponse{}, &completionError{err: err}
	}

	response := CompleteTaskResponse{Task: task, Changed: changed, Signal: SignalNoWorkflow}
	if task.WorkflowID == "" {
		return response, nil
	}
	completion := workflows.TaskCompletion{
		TaskID: task.ID, Kind: task.Kind, Subject: task.Subject,
		By: task.CompletedBy, Note: task.Note, At: *task.CompletedAt,
	}
	log := s.Logger.WithFields(logrus.Fields{logging.KeyWorkflowID: task.WorkflowID, "task_id": task.ID})
	err = s.Temporal.SignalWorkflow(r.Context(), task.WorkflowID, "", workflows.SignalTaskCompleted, completion)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		log.Info("task completed, but the workflow that opened it is not running: nothing to signal")
		response.Signal = SignalWorkflowNotRunning
	case err != nil:
		log.WithError(err).Error("signal of a completed task to its workflow failed")
		return response, &completionError{status: http.StatusServiceUnavailable, code: "temporal_unavailable", task: task,
			message: fmt.Sprintf("task %d is done, but the signal to its workflow %s failed: send the same request again later (%v)", task.ID, task.WorkflowID, err)}
	default:
		response.Signal = SignalSent
	}
	return response, nil
}

// taskID parses the {id} path value and writes a 400 response when it is
// not a task id.
func taskID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	text := r.PathValue("id")
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "task id "+strconv.Quote(text)+" is not a positive number")
		return 0, false
	}
	return id, true
}

func cancelledMessage(task *store.Task) string {
	message := fmt.Sprintf("task %d was cancelled", task.ID)
	if task.CancelledAt != nil {
		message += " at " + task.CancelledAt.UTC().Format(time.RFC3339)
	}
	if task.Resolution != "" {
		message += " (" + task.Resolution + ")"
	}
	return message + ": the process no longer needs it, so it cannot be completed"
}
