package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func newTask(key, assignee, subject string, due *time.Time) *store.Task {
	return &store.Task{
		Key: key, Kind: "lead_reminder", Assignee: assignee, Subject: subject,
		WorkflowID: "lead-SLA-" + subject, Title: "title of " + key, Body: "body of " + key, DueAt: due,
	}
}

func TestInsertTaskByKey(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		due := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		first := newTask("lead-1/reminder", "Moses Frase", "lead:1", &due)
		created, err := store.InsertTask(ctx, s.DB, first)
		if err != nil {
			t.Fatalf("first insert: %v", err)
		}
		if !created || first.ID == 0 {
			t.Fatalf("first insert: created %v, id %d; expected a new row", created, first.ID)
		}
		if first.State != store.TaskOpen {
			t.Errorf("state = %q, expected %q", first.State, store.TaskOpen)
		}

		second := newTask("lead-1/reminder", "Someone Else", "lead:1", nil)
		second.Title = "another title"
		created, err = store.InsertTask(ctx, s.DB, second)
		if err != nil {
			t.Fatalf("second insert: %v", err)
		}
		if created {
			t.Errorf("second insert with the same key reported a new row")
		}
		if second.ID != first.ID {
			t.Errorf("second insert returned task %d, expected %d", second.ID, first.ID)
		}
		if second.Assignee != "Moses Frase" || second.Title != "title of lead-1/reminder" {
			t.Errorf("second insert returned assignee %q, title %q; expected the first writer's values", second.Assignee, second.Title)
		}
		if second.DueAt == nil || !second.DueAt.Equal(due) {
			t.Errorf("due = %v, expected %v", second.DueAt, due)
		}

		n, err := s.DB.NewSelect().Model((*store.Task)(nil)).Count(ctx)
		if err != nil {
			t.Fatalf("count tasks: %v", err)
		}
		if n != 1 {
			t.Errorf("%d tasks stored, expected 1", n)
		}

		if err := store.SetTaskLink(ctx, s.DB, first.ID, "http://x/api/v1/tasks/1"); err != nil {
			t.Fatalf("set link: %v", err)
		}
		if err := store.SetTaskLink(ctx, s.DB, first.ID, "http://other"); err != nil {
			t.Fatalf("set link again: %v", err)
		}
		got, err := s.GetTask(ctx, first.ID)
		if err != nil {
			t.Fatalf("get task: %v", err)
		}
		if got.Link != "http://x/api/v1/tasks/1" {
			t.Errorf("link = %q, expected the first one set", got.Link)
		}
	})
}

func TestInsertTaskConcurrently(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const writers = 4
		var wg sync.WaitGroup
		ids := make([]int64, writers)
		createdCount := make([]bool, writers)
		errs := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				task := newTask("same-key", fmt.Sprintf("writer %d", i), "lead:2", nil)
				createdCount[i], errs[i] = store.InsertTask(ctx, s.DB, task)
				ids[i] = task.ID
			}()
		}
		wg.Wait()
		created := 0
		for i := range writers {
			if errs[i] != nil {
				t.Fatalf("writer %d: %v", i, errs[i])
			}
			if createdCount[i] {
				created++
			}
			if ids[i] != ids[0] {
				t.Errorf("writer %d got task %d, writer 0 got %d", i, ids[i], ids[0])
			}
		}
		if created != 1 {
			t.Errorf("%d writers inserted the task, expected exactly 1", created)
		}
	})
}

func TestNotificationByKey(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		task := newTask("lead-3/reminder", "Moses Frase", "lead:3", nil)
		if _, err := store.InsertTask(ctx, s.DB, task); err != nil {
			t.Fatalf("insert task: %v", err)
		}
		key := store.NotificationKey(task.Key, "email")
		first := &store.Notification{TaskID: task.ID, Channel: "email", Recipient: task.Assignee, Address: "moses@example.com", Key: key}
		created, err := store.InsertNotification(ctx, s.DB, first)
		if err != nil || !created {
			t.Fatalf("first insert: created %v, error %v", created, err)
		}
		if first.State != store.NotificationPending {
			t.Errorf("state = %q, expected pending", first.State)
		}

		if err := store.RecordNotificationAttempt(ctx, s.DB, first.ID, "451 try again", time.Time{}); err != nil {
			t.Fatalf("record attempt: %v", err)
		}
		sentAt := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
		if err := store.MarkNotificationSent(ctx, s.DB, first.ID, "<abc@ordo>", sentAt); err != nil {
			t.Fatalf("mark sent: %v", err)
		}
		// A late failure of an attempt that lost the race must not undo the
		// sent state.
		if err := store.MarkNotificationFailed(ctx, s.DB, first.ID, "too late"); err != nil {
			t.Fatalf("mark failed: %v", err)
		}

		again := &store.Notification{TaskID: task.ID, Channel: "email", Recipient: task.Assignee, Key: key}
		created, err = store.InsertNotification(ctx, s.DB, again)
		if err != nil {
			t.Fatalf("second insert: %v", err)
		}
		if created {
			t.Errorf("second insert with the same key reported a new row")
		}
		if again.ID != first.ID || again.State != store.NotificationSent {
			t.Errorf("second insert returned id %d state %q, expected id %d state sent", again.ID, again.State, first.ID)
		}
		if again.Attempts != 2 {
			t.Errorf("attempts = %d, expected 2 (one failed, one sent)", again.Attempts)
		}
		if again.MessageID != "<abc@ordo>" || again.SentAt == nil || !again.SentAt.Equal(sentAt) {
			t.Errorf("message id %q, sent at %v; expected <abc@ordo> at %v", again.MessageID, again.SentAt, sentAt)
		}
		if again.LastError != "451 try again" {
			t.Errorf("last error = %q, expected the failed attempt's error", again.LastError)
		}

		list, err := s.TaskNotifications(ctx, task.ID)
		if err != nil {
			t.Fatalf("task notifications: %v", err)
		}
		if len(list) != 1 {
			t.Errorf("%d notifications, expected 1", len(list))
		}
	})
}

func TestListTasksFilters(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		early := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
		late := time.Date(2026, 12, 7, 8, 0, 0, 500_000_000, time.UTC)
		tasks := []*store.Task{
			newTask("k1", "Moses Frase", "lead:1", &early),
			newTask("k2", "Moses Frase", "lead:2", &late),
			newTask("k3", "Darcel Schlecht", "lead:1", nil),
		}
		tasks[2].Kind = "lead_alert"
		for _, task := range tasks {
			if _, err := store.InsertTask(ctx, s.DB, task); err != nil {
				t.Fatalf("insert %s: %v", task.Key, err)
			}
		}
		if _, _, err := s.CompleteTask(ctx, tasks[1].ID, "Moses Frase", "called", time.Now()); err != nil {
			t.Fatalf("complete k2: %v", err)
		}
		between := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

		cases := []struct {
			name     string
			filter   store.TaskFilter
			expected []string
		}{
			{"all", store.TaskFilter{}, []string{"k1", "k2", "k3"}},
			{"assignee", store.TaskFilter{Assignee: "Moses Frase"}, []string{"k1", "k2"}},
			{"state", store.TaskFilter{State: store.TaskOpen}, []string{"k1", "k3"}},
			{"kind", store.TaskFilter{Kind: "lead_alert"}, []string{"k3"}},
			{"subject", store.TaskFilter{Subject: "lead:1"}, []string{"k1", "k3"}},
			{"due before", store.TaskFilter{DueBefore: &between}, []string{"k1"}},
			{"due before the later one", store.TaskFilter{DueBefore: ptr(late.Add(time.Millisecond))}, []string{"k1", "k2"}},
			{"page", store.TaskFilter{After: tasks[0].ID, Limit: 1}, []string{"k2"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.ListTasks(ctx, c.filter)
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				keys := make([]string, len(got))
				for i, task := range got {
					keys[i] = task.Key
				}
				if fmt.Sprint(keys) != fmt.Sprint(c.expected) {
					t.Errorf("tasks = %v, expected %v", keys, c.expected)
				}
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestCompleteAndCancelTasks(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		reminder := newTask("r", "Moses Frase", "lead:9", nil)
		alert := newTask("a", "Darcel Schlecht", "lead:9", nil)
		alert.Kind = "lead_alert"
		other := newTask("o", "Moses Frase", "lead:10", nil)
		for _, task := range []*store.Task{reminder, alert, other} {
			if _, err := store.InsertTask(ctx, s.DB, task); err != nil {
				t.Fatalf("insert %s: %v", task.Key, err)
			}
		}

		at := time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC)
		done, changed, err := s.CompleteTask(ctx, reminder.ID, "Moses Frase", "called the customer", at)
		if err != nil || !changed {
			t.Fatalf("complete: changed %v, error %v", changed, err)
		}
		if done.State != store.TaskDone || done.CompletedBy != "Moses Frase" || done.Note != "called the customer" {
			t.Errorf("completed task = %+v", done)
		}
		if done.CompletedAt == nil || !done.CompletedAt.Equal(at) {
			t.Errorf("completed at %v, expected %v", done.CompletedAt, at)
		}

		repeat, changed, err := s.CompleteTask(ctx, reminder.ID, "Someone Else", "again", at.Add(time.Hour))
		if err != nil {
			t.Fatalf("repeat completion: %v", err)
		}
		if changed || repeat.CompletedBy != "Moses Frase" {
			t.Errorf("repeat completion changed %v, completed by %q; expected no change", changed, repeat.CompletedBy)
		}

		// The completed reminder stays done; only the open alert of the
		// subject is cancelled, and the other subject's task stays open.
		ids, err := store.CancelTasks(ctx, s.DB, "lead:9", nil, "first contact recorded", at)
		if err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if len(ids) != 1 || ids[0] != alert.ID {
			t.Errorf("cancelled %v, expected [%d]", ids, alert.ID)
		}
		cancelled, err := s.GetTask(ctx, alert.ID)
		if err != nil {
			t.Fatalf("get alert: %v", err)
		}
		if cancelled.State != store.TaskCancelled || cancelled.Resolution != "first contact recorded" || cancelled.CancelledAt == nil {
			t.Errorf("cancelled task = %+v", cancelled)
		}

		_, _, err = s.CompleteTask(ctx, alert.ID, "Darcel Schlecht", "", at)
		if !errors.Is(err, store.ErrTaskCancelled) {
			t.Errorf("completing a cancelled task: error %v, expected ErrTaskCancelled", err)
		}

		ids, err = store.CancelTasks(ctx, s.DB, "lead:10", []string{"lead_alert"}, "closed", at)
		if err != nil {
			t.Fatalf("cancel by kind: %v", err)
		}
		if len(ids) != 0 {
			t.Errorf("cancel of kind lead_alert on lead:10 cancelled %v, expected none", ids)
		}
		ids, err = store.CancelTasks(ctx, s.DB, "lead:10", []string{"lead_reminder"}, "closed", at)
		if err != nil || len(ids) != 1 {
			t.Errorf("cancel of kind lead_reminder on lead:10: ids %v, error %v; expected one", ids, err)
		}

		if _, err := s.GetTask(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get unknown task: error %v, expected ErrNotFound", err)
		}
	})
}
