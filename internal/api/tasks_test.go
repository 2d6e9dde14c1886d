package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/workflows"
)

// seedTask stores an open task opened by workflowID.
func seedTask(t *testing.T, ts *testServer, key, assignee, kind, subject, workflowID string) *store.Task {
	t.Helper()
	due := testNow.Add(48 * time.Hour)
	task := &store.Task{
		Key: key, Kind: kind, Assignee: assignee, Subject: subject, WorkflowID: workflowID,
		Title: "title " + key, Body: "body " + key, DueAt: &due,
	}
	created, err := store.InsertTask(context.Background(), ts.store.DB, task)
	if err != nil || !created {
		t.Fatalf("insert task %s: created %v, error %v", key, created, err)
	}
	return task
}

// startIdleWorkflow starts a workflow that no worker runs, so it stays
// running and can receive signals.
func startIdleWorkflow(t *testing.T) string {
	t.Helper()
	id := "task-test-" + uniqueNo(t)
	_, err := temporalClient.ExecuteWorkflow(context.Background(),
		client.StartWorkflowOptions{ID: id, TaskQueue: "api-test-tasks-idle"}, "LeadSLATestStandIn")
	if err != nil {
		t.Fatalf("start stand-in workflow: %v", err)
	}
	t.Cleanup(func() { terminateWorkflow(t, id) })
	return id
}

func listTasks(t *testing.T, ts *testServer, query url.Values) TaskList {
	t.Helper()
	resp := ts.do(http.MethodGet, "/api/v1/tasks?"+query.Encode(), nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("list tasks with %s: status %d; body %s", query.Encode(), resp.status, resp.body)
	}
	var list TaskList
	resp.decode(t, &list)
	return list
}

func taskKeys(tasks []store.Task) []string {
	keys := make([]string, len(tasks))
	for i, task := range tasks {
		keys[i] = task.Key
	}
	return keys
}

func TestTasksList(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			ts := newTestServer(t, driver, nil)
			seedTask(t, ts, "k1", "Moses Frase", "lead_reminder", "lead:1", "")
			seedTask(t, ts, "k2", "Moses Frase", "lead_reminder", "lead:2", "")
			seedTask(t, ts, "k3", "Darcel Schlecht", "lead_alert", "lead:1", "")

			cases := []struct {
				name     string
				query    url.Values
				expected string
			}{
				{"all", url.Values{}, "[k1 k2 k3]"},
				{"assignee", url.Values{"assignee": {"Moses Frase"}}, "[k1 k2]"},
				{"kind", url.Values{"kind": {"lead_alert"}}, "[k3]"},
				{"subject", url.Values{"subject": {"lead:1"}}, "[k1 k3]"},
				{"state", url.Values{"state": {"open"}}, "[k1 k2 k3]"},
				{"done", url.Values{"state": {"done"}}, "[]"},
				{"due before", url.Values{"due_before": {testNow.Format(time.RFC3339)}}, "[]"},
				{"due before later", url.Values{"due_before": {testNow.Add(72 * time.Hour).Format(time.RFC3339)}}, "[k1 k2 k3]"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if got := taskKeysString(listTasks(t, ts, c.query).Tasks); got != c.expected {
						t.Errorf("tasks = %s, expected %s", got, c.expected)
					}
				})
			}

			t.Run("pages", func(t *testing.T) {
				first := listTasks(t, ts, url.Values{"limit": {"2"}})
				if taskKeysString(first.Tasks) != "[k1 k2]" || first.Next == "" {
					t.Fatalf("first page %v, next %q", taskKeys(first.Tasks), first.Next)
				}
				second := listTasks(t, ts, url.Values{"limit": {"2"}, "after": {first.Next}})
				if taskKeysString(second.Tasks) != "[k3]" || second.Next != "" {
					t.Errorf("second page %v, next %q; expected [k3] and no next", taskKeys(second.Tasks), second.Next)
				}
			})

			t.Run("invalid arguments", func(t *testing.T) {
				ts.do(http.MethodGet, "/api/v1/tasks?state=finished", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "finished")
				ts.do(http.MethodGet, "/api/v1/tasks?due_before=tomorrow", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "RFC 3339")
				ts.do(http.MethodGet, "/api/v1/tasks?limit=0", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "limit")
			})
		})
	}
}

func taskKeysString(tasks []store.Task) string {
	return fmt.Sprint(taskKeys(tasks))
}

func TestTaskShow(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	task := seedTask(t, ts, "show", "Moses Frase", "lead_reminder", "lead:1", "")
	notification := &store.Notification{TaskID: task.ID, Channel: "email", Recipient: "Moses Frase", Address: "m@example.com", Key: "show/email"}
	if _, err := store.InsertNotification(context.Background(), ts.store.DB, notification); err != nil {
		t.Fatalf("insert notification: %v", err)
	}

	resp := ts.do(http.MethodGet, "/api/v1/tasks/"+strconv.FormatInt(task.ID, 10), nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("status %d; body %s", resp.status, resp.body)
	}
	var view TaskView
	resp.decode(t, &view)
	if view.Task == nil || view.Task.Key != "show" {
		t.Errorf("task = %+v, expected the seeded task", view.Task)
	}
	if len(view.Notifications) != 1 || view.Notifications[0].Channel != "email" {
		t.Errorf("notifications = %+v, expected the email notification", view.Notifications)
	}

	ts.do(http.MethodGet, "/api/v1/tasks/999999", nil, nil).expectError(t, http.StatusNotFound, "not_found", "999999")
	ts.do(http.MethodGet, "/api/v1/tasks/abc", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "abc")
}

func TestTaskComplete(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	workflowID := startIdleWorkflow(t)
	task := seedTask(t, ts, "complete", "Moses Frase", "lead_reminder", "lead:1", workflowID)
	path := "/api/v1/tasks/" + strconv.FormatInt(task.ID, 10) + "/complete"

	resp := ts.postJSON(path, CompleteTaskRequest{By: "Moses Frase", Note: "called the customer"})
	if resp.status != http.StatusOK {
		t.Fatalf("status %d; body %s", resp.status, resp.body)
	}
	var done CompleteTaskResponse
	resp.decode(t, &done)
	if !done.Changed || done.Signal != SignalSent {
		t.Errorf("changed %v, signal %q; expected a change and a sent signal", done.Changed, done.Signal)
	}
	if done.Task.State != store.TaskDone || done.Task.CompletedBy != "Moses Frase" || done.Task.Note != "called the customer" {
		t.Errorf("task = %+v, expected done by Moses Frase with the note", done.Task)
	}
	if done.Task.CompletedAt == nil || !done.Task.CompletedAt.Equal(testNow) {
		t.Errorf("completed at %v, expected the API clock %v", done.Task.CompletedAt, testNow)
	}

	// A repeat keeps the first completion and signals it again.
	resp = ts.postJSON(path, CompleteTaskRequest{By: "Moses Frase", Note: "second try"})
	if resp.status != http.StatusOK {
		t.Fatalf("repeat: status %d; body %s", resp.status, resp.body)
	}
	var repeat CompleteTaskResponse
	resp.decode(t, &repeat)
	if repeat.Changed || repeat.Task.CompletedBy != "Moses Frase" || repeat.Task.Note != "called the customer" {
		t.Errorf("repeat changed %v, completed by %q; expected the first completion", repeat.Changed, repeat.Task.CompletedBy)
	}

	signals := signalsOf[workflows.TaskCompletion](t, workflowID, workflows.SignalTaskCompleted)
	if len(signals) != 2 {
		t.Fatalf("%d task-completed signals, expected 2 (the completion and its repeat)", len(signals))
	}
	expected := workflows.TaskCompletion{TaskID: task.ID, Kind: "lead_reminder", Subject: "lead:1", By: "Moses Frase", Note: "called the customer", At: testNow}
	for i, signal := range signals {
		if signal.TaskID != expected.TaskID || signal.Kind != expected.Kind || signal.Subject != expected.Subject ||
			signal.By != expected.By || signal.Note != expected.Note || !signal.At.Equal(expected.At) {
			t.Errorf("signal %d = %+v, expected %+v", i, signal, expected)
		}
	}
}

func TestTaskCompleteEdgeCases(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()

	t.Run("cancelled task", func(t *testing.T) {
		task := seedTask(t, ts, "cancelled", "Moses Frase", "lead_alert", "lead:5", "")
		if _, err := store.CancelTasks(ctx, ts.store.DB, "lead:5", nil, "lead reassigned", testNow); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		ts.postJSON("/api/v1/tasks/"+strconv.FormatInt(task.ID, 10)+"/complete", CompleteTaskRequest{By: "Moses Frase"}).
			expectError(t, http.StatusConflict, "conflict", "cancelled", "lead reassigned", "cannot be completed")
	})

	t.Run("workflow ended", func(t *testing.T) {
		task := seedTask(t, ts, "ended", "Moses Frase", "lead_reminder", "lead:6", "task-test-never-started-"+uniqueNo(t))
		resp := ts.postJSON("/api/v1/tasks/"+strconv.FormatInt(task.ID, 10)+"/complete", CompleteTaskRequest{By: "Moses Frase"})
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var done CompleteTaskResponse
		resp.decode(t, &done)
		if done.Signal != SignalWorkflowNotRunning || done.Task.State != store.TaskDone {
			t.Errorf("signal %q, state %q; expected workflow_not_running and done", done.Signal, done.Task.State)
		}
	})

	t.Run("no workflow", func(t *testing.T) {
		task := seedTask(t, ts, "manual", "Moses Frase", "lead_reminder", "lead:7", "")
		resp := ts.postJSON("/api/v1/tasks/"+strconv.FormatInt(task.ID, 10)+"/complete", CompleteTaskRequest{By: "Moses Frase"})
		var done CompleteTaskResponse
		resp.decode(t, &done)
		if resp.status != http.StatusOK || done.Signal != SignalNoWorkflow {
			t.Errorf("status %d, signal %q; expected 200 and no_workflow", resp.status, done.Signal)
		}
	})

	t.Run("missing by", func(t *testing.T) {
		task := seedTask(t, ts, "no-by", "Moses Frase", "lead_reminder", "lead:8", "")
		ts.postJSON("/api/v1/tasks/"+strconv.FormatInt(task.ID, 10)+"/complete", CompleteTaskRequest{Note: "x"}).
			expectError(t, http.StatusBadRequest, "invalid_argument", "by is required")
	})

	t.Run("unknown task", func(t *testing.T) {
		ts.postJSON("/api/v1/tasks/424242/complete", CompleteTaskRequest{By: "Moses Frase"}).
			expectError(t, http.StatusNotFound, "not_found", "424242")
	})
}

func TestTaskCompleteWho(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(s *Server) { s.AdminToken = "admin-secret" })
	seedSalesAgents(t, ts.store)
	if err := ts.store.EnsureDefaultRules(context.Background()); err != nil {
		t.Fatalf("store default rules: %v", err)
	}
	complete := func(task *store.Task, by string, header http.Header) response {
		t.Helper()
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", "application/json")
		path := "/api/v1/tasks/" + strconv.FormatInt(task.ID, 10) + "/complete"
		return ts.do(http.MethodPost, path, mustJSON(t, CompleteTaskRequest{By: by}), header)
	}

	cases := []struct {
		name, assignee, by string
		admin              bool
		status             int
		words              []string
	}{
		{"assignee", "Moses Frase", "Moses Frase", false, http.StatusOK, nil},
		{"assignee in other case", "Moses Frase", "moses frase", false, http.StatusOK, nil},
		{"rep's manager", "Moses Frase", "Cara Losch", false, http.StatusOK, nil},
		{"another rep's manager", "Moses Frase", "Dustin Brinkmann", false, http.StatusForbidden,
			[]string{"Dustin Brinkmann", "by", "Moses Frase", "Cara Losch", "admin token"}},
		{"another rep", "Moses Frase", "Anna Snelling", false, http.StatusForbidden, []string{"Anna Snelling", "Moses Frase"}},
		{"team manager's director", "Cara Losch", "Zhou Min", false, http.StatusOK, nil},
		{"role holder by someone else", "Lin Xiaoyan", "Zhou Min", false, http.StatusForbidden, []string{"Zhou Min", "Lin Xiaoyan"}},
		{"admin token", "Lin Xiaoyan", "ops on call", true, http.StatusOK, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := seedTask(t, ts, fmt.Sprintf("who-%d", i), tc.assignee, "lead_reminder", fmt.Sprintf("lead:who-%d", i), "")
			var header http.Header
			if tc.admin {
				header = http.Header{"Authorization": {"Bearer admin-secret"}}
			}
			resp := complete(task, tc.by, header)
			if tc.status != http.StatusOK {
				resp.expectError(t, tc.status, "forbidden", tc.words...)
				stored, err := ts.store.GetTask(context.Background(), task.ID)
				if err != nil || stored.State != store.TaskOpen {
					t.Errorf("task after a rejected completion: %+v, err %v; expected it open", stored, err)
				}
				return
			}
			if resp.status != http.StatusOK {
				t.Fatalf("status %d, expected 200; body %s", resp.status, resp.body)
			}
		})
	}

	t.Run("missing by", func(t *testing.T) {
		task := seedTask(t, ts, "who-missing", "Moses Frase", "lead_reminder", "lead:who-missing", "")
		complete(task, " ", nil).expectError(t, http.StatusBadRequest, "invalid_argument", "by")
	})
}

func TestAdminTokenPassesAuth(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(s *Server) { s.Token = "user-secret"; s.AdminToken = "admin-secret" })
	for _, tc := range []struct {
		token  string
		status int
	}{{"user-secret", http.StatusOK}, {"admin-secret", http.StatusOK}, {"wrong", http.StatusUnauthorized}} {
		resp := ts.do(http.MethodGet, "/api/v1/tasks", nil, http.Header{"Authorization": {"Bearer " + tc.token}})
		if resp.status != tc.status {
			t.Errorf("token %q: status %d, expected %d", tc.token, resp.status, tc.status)
		}
	}
}
