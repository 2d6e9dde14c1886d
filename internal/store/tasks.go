package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Task states. A task leaves open once: done when a person completes it,
// cancelled when the process that opened it no longer needs it.
const (
	TaskOpen      = "open"
	TaskDone      = "done"
	TaskCancelled = "cancelled"
)

// Notification states. A pending notification is sent again on the next
// attempt, while sent and failed are final.
const (
	NotificationPending = "pending"
	NotificationSent    = "sent"
	NotificationFailed  = "failed"
)

// ErrTaskCancelled means a person tried to complete a task that the
// process had cancelled.
var ErrTaskCancelled = errors.New("task was cancelled")

// Task is a piece of work for a named person, opened by a workflow.
type Task struct {
	bun.BaseModel `bun:"table:tasks"`

	ID int64 `bun:"id,pk,autoincrement" json:"id"`
	// Key is the caller's idempotency key: a second insert with the same key
	// returns the first task.
	Key          string `bun:"key" json:"key"`
	Kind         string `bun:"kind" json:"kind"`
	Assignee     string `bun:"assignee" json:"assignee"`
	AssigneeRole string `bun:"assignee_role" json:"assignee_role,omitempty"`
	Email        string `bun:"email" json:"email,omitempty"`
	Phone        string `bun:"phone" json:"phone,omitempty"`
	// Subject is the record the task is about, e.g. "lead:ID".
	Subject string `bun:"subject" json:"subject"`
	// WorkflowID is the workflow that opened the task. Completing the task
	// signals it.
	WorkflowID string `bun:"workflow_id" json:"workflow_id,omitempty"`
	// ActivityRef is "<run id>/<activity id>" of the activity execution that
	// inserted the row, so a retry of that execution can tell that it
	// created the row.
	ActivityRef string     `bun:"activity_ref" json:"-"`
	Template    string     `bun:"template" json:"template,omitempty"`
	Locale      string     `bun:"locale" json:"locale,omitempty"`
	Title       string     `bun:"title" json:"title"`
	Body        string     `bun:"body" json:"body"`
	Link        string     `bun:"link" json:"link,omitempty"`
	DueAt       *time.Time `bun:"due_at" json:"due_at,omitempty"`
	State       string     `bun:"state" json:"state"`
	CreatedAt   time.Time  `bun:"created_at" json:"created_at"`
	CompletedAt *time.Time `bun:"completed_at" json:"completed_at,omitempty"`
	CompletedBy string     `bun:"completed_by" json:"completed_by,omitempty"`
	// Note is the person's comment on completing the task.
	Note        string     `bun:"note" json:"note,omitempty"`
	CancelledAt *time.Time `bun:"cancelled_at" json:"cancelled_at,omitempty"`
	// Resolution is the process's reason for cancelling the task.
	Resolution string `bun:"resolution" json:"resolution,omitempty"`
}

// Notification is one message about a task through one channel.
type Notification struct {
	bun.BaseModel `bun:"table:notifications"`

	ID      int64  `bun:"id,pk,autoincrement" json:"id"`
	TaskID  int64  `bun:"task_id" json:"task_id"`
	Channel string `bun:"channel" json:"channel"`
	// Recipient is the person's name. Address is where the channel
	// delivers: an email address, a phone number, or empty for the log.
	Recipient string `bun:"recipient" json:"recipient"`
	Address   string `bun:"address" json:"address,omitempty"`
	// Key is the task key and the channel, "<task key>/<channel>".
	Key      string `bun:"key" json:"key"`
	State    string `bun:"state" json:"state"`
	Attempts int    `bun:"attempts" json:"attempts"`
	// LastError is the latest failed attempt's error, or the reason a
	// failed notification will not be sent.
	LastError string `bun:"last_error" json:"last_error,omitempty"`
	// MessageID identifies the sent message in the channel, e.g. the
	// email's Message-ID header.
	MessageID string     `bun:"message_id" json:"message_id,omitempty"`
	CreatedAt time.Time  `bun:"created_at" json:"created_at"`
	SentAt    *time.Time `bun:"sent_at" json:"sent_at,omitempty"`
	UpdatedAt time.Time  `bun:"updated_at" json:"updated_at"`
	// NextAttemptAt holds a pending notification of a paced channel back
	// until then, after a failed attempt.
	NextAttemptAt *time.Time `bun:"next_attempt_at" json:"next_attempt_at,omitempty"`
	// ClaimedUntil is the end of a dispatcher's claim on the row.
	ClaimedUntil *time.Time `bun:"claimed_until" json:"-"`
}

// NotificationKey returns the key of a task's notification through channel.
func NotificationKey(taskKey, channel string) string {
	return taskKey + "/" + channel
}

// InsertTask inserts task unless a task with its key exists, then loads the
// stored row into task, so the caller sees the first writer's values. It
// returns true when this call inserted the row.
func InsertTask(ctx context.Context, db bun.IDB, task *Task) (bool, error) {
	if task.CreatedAt.IsZero() {
		task.CreatedAt = now()
	}
	if task.State == "" {
		task.State = TaskOpen
	}
	if task.DueAt != nil {
		due := task.DueAt.UTC().Truncate(time.Microsecond)
		task.DueAt = &due
	}
	res, err := db.NewInsert().Model(task).ExcludeColumn("id").
		On("CONFLICT (?) DO NOTHING", bun.Ident("key")).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert task %s: %w", task.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert task %s: count inserted rows: %w", task.Key, err)
	}
	key := task.Key
	*task = Task{}
	if err := db.NewSelect().Model(task).Where("? = ?", bun.Ident("key"), key).Scan(ctx); err != nil {
		return false, fmt.Errorf("read task %s: %w", key, err)
	}
	return n > 0, nil
}

// SetTaskLink sets the link of a task that has none yet.
func SetTaskLink(ctx context.Context, db bun.IDB, id int64, link string) error {
	_, err := db.NewUpdate().Model((*Task)(nil)).
		Set("link = ?", link).
		Where("id = ? AND link = ''", id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set link of task %d: %w", id, err)
	}
	return nil
}

// GetTask returns the task or ErrNotFound.
func (s *Store) GetTask(ctx context.Context, id int64) (*Task, error) {
	return getTask(ctx, s.DB, id)
}

func getTask(ctx context.Context, db bun.IDB, id int64) (*Task, error) {
	task := new(Task)
	err := db.NewSelect().Model(task).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("task %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read task %d: %w", id, err)
	}
	return task, nil
}

// TaskFilter selects tasks for listing. Empty fields select everything.
type TaskFilter struct {
	Assignee string
	State    string
	Kind     string
	Subject  string
	// DueBefore selects tasks due before this time. Tasks without a due
	// time are left out when it is set.
	DueBefore *time.Time
	// After is the last task id of the previous page.
	After int64
	// Limit is 1 to 1000, and other values mean 100.
	Limit int
}

// ListTasks returns tasks ordered by id, oldest first.
func (s *Store) ListTasks(ctx context.Context, filter TaskFilter) ([]Task, error) {
	var tasks []Task
	q := s.DB.NewSelect().Model(&tasks)
	if filter.Assignee != "" {
		q = q.Where("assignee = ?", filter.Assignee)
	}
	if filter.State != "" {
		q = q.Where("state = ?", filter.State)
	}
	if filter.Kind != "" {
		q = q.Where("kind = ?", filter.Kind)
	}
	if filter.Subject != "" {
		q = q.Where("subject = ?", filter.Subject)
	}
	if filter.DueBefore != nil {
		q = q.Where("due_at IS NOT NULL AND due_at < ?", filter.DueBefore.UTC())
	}
	q = keysetPage(q, "id", false, max(filter.After, 0), filter.Limit)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return tasks, nil
}

// CompleteTask marks an open task done by a person. Completing a done task
// changes nothing and returns it with false, so a repeated request is
// harmless. Completing a cancelled task returns ErrTaskCancelled.
func (s *Store) CompleteTask(ctx context.Context, id int64, by, note string, at time.Time) (*Task, bool, error) {
	var task *Task
	changed := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Task)(nil)).
			Set("state = ?", TaskDone).
			Set("completed_at = ?", at.UTC().Truncate(time.Microsecond)).
			Set("completed_by = ?", by).
			Set("note = ?", note).
			Where("id = ? AND state = ?", id, TaskOpen).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("complete task %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("complete task %d: count changed rows: %w", id, err)
		}
		changed = n > 0
		task, err = getTask(ctx, tx, id)
		if err != nil {
			return err
		}
		if task.State == TaskCancelled {
			return fmt.Errorf("complete task %d: %w", id, ErrTaskCancelled)
		}
		return nil
	})
	if err != nil {
		return task, false, err
	}
	return task, changed, nil
}

// CancelTasks cancels the open tasks about subject, only those of kinds
// when kinds is not empty, and returns the ids of the tasks it cancelled.
func CancelTasks(ctx context.Context, db bun.IDB, subject string, kinds []string, resolution string, at time.Time) ([]int64, error) {
	q := db.NewUpdate().Model((*Task)(nil)).
		Set("state = ?", TaskCancelled).
		Set("cancelled_at = ?", at.UTC().Truncate(time.Microsecond)).
		Set("resolution = ?", resolution).
		Where("subject = ? AND state = ?", subject, TaskOpen)
	if len(kinds) > 0 {
		q = q.Where("kind IN (?)", bun.In(kinds))
	}
	var ids []int64
	if err := q.Returning("id").Scan(ctx, &ids); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("cancel open tasks of %s: %w", subject, err)
	}
	return ids, nil
}

// InsertNotification inserts n unless a notification with its key exists,
// then loads the stored row into n. It returns true when this call inserted
// the row.
func InsertNotification(ctx context.Context, db bun.IDB, n *Notification) (bool, error) {
	at := now()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = at
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = at
	}
	if n.State == "" {
		n.State = NotificationPending
	}
	res, err := db.NewInsert().Model(n).ExcludeColumn("id").
		On("CONFLICT (?) DO NOTHING", bun.Ident("key")).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert notification %s: %w", n.Key, err)
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert notification %s: count inserted rows: %w", n.Key, err)
	}
	key := n.Key
	*n = Notification{}
	if err := db.NewSelect().Model(n).Where("? = ?", bun.Ident("key"), key).Scan(ctx); err != nil {
		return false, fmt.Errorf("read notification %s: %w", key, err)
	}
	return inserted > 0, nil
}

// RecordNotificationAttempt counts a failed attempt that will be retried
// and keeps its error. The notification stays pending, unclaimed, and
// held back until retryAt when that is set.
func RecordNotificationAttempt(ctx context.Context, db bun.IDB, id int64, errText string, retryAt time.Time) error {
	var next *time.Time
	if !retryAt.IsZero() {
		at := retryAt.UTC().Truncate(time.Microsecond)
		next = &at
	}
	_, err := db.NewUpdate().Model((*Notification)(nil)).
		Set("attempts = attempts + 1").
		Set("last_error = ?", errText).
		Set("next_attempt_at = ?", next).
		Set("claimed_until = NULL").
		Set("updated_at = ?", now()).
		Where("id = ? AND state = ?", id, NotificationPending).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record attempt of notification %d: %w", id, err)
	}
	return nil
}

// MarkNotificationSent records the successful attempt of a pending
// notification and the message id the channel returned.
func MarkNotificationSent(ctx context.Context, db bun.IDB, id int64, messageID string, at time.Time) error {
	_, err := db.NewUpdate().Model((*Notification)(nil)).
		Set("state = ?", NotificationSent).
		Set("attempts = attempts + 1").
		Set("message_id = ?", messageID).
		Set("sent_at = ?", at.UTC().Truncate(time.Microsecond)).
		Set("updated_at = ?", now()).
		Where("id = ? AND state = ?", id, NotificationPending).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark notification %d sent: %w", id, err)
	}
	return nil
}

// MarkNotificationFailed records that a pending notification can never be
// sent, and why.
func MarkNotificationFailed(ctx context.Context, db bun.IDB, id int64, reason string) error {
	_, err := db.NewUpdate().Model((*Notification)(nil)).
		Set("state = ?", NotificationFailed).
		Set("attempts = attempts + 1").
		Set("last_error = ?", reason).
		Set("updated_at = ?", now()).
		Where("id = ? AND state = ?", id, NotificationPending).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark notification %d failed: %w", id, err)
	}
	return nil
}

// TaskNotifications returns the notifications of a task in the order they
// were created.
func (s *Store) TaskNotifications(ctx context.Context, taskID int64) ([]Notification, error) {
	var notifications []Notification
	err := s.DB.NewSelect().Model(&notifications).Where("task_id = ?", taskID).Order("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read notifications of task %d: %w", taskID, err)
	}
	return notifications, nil
}
