package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// OutboxItem is a pending notification claimed for sending, with the task
// it is about.
type OutboxItem struct {
	Notification
	Task Task
}

// PendingRecipients returns the recipients that have notifications of the
// channels waiting to be sent now, unclaimed, by channel, at most limit of
// them, those with the oldest waiting notification first.
func (s *Store) PendingRecipients(ctx context.Context, channels []string, limit int) ([]ChannelRecipient, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	at := now()
	var rows []ChannelRecipient
	err := s.DB.NewSelect().Model((*Notification)(nil)).
		Column("channel", "recipient").
		ColumnExpr("MIN(id) AS first_id").
		ApplyQueryBuilder(claimable(channels, at)).
		Group("channel", "recipient").
		OrderExpr("first_id").
		Limit(int64(limit)).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("list recipients with pending notifications: %w", err)
	}
	return rows, nil
}

// ChannelRecipient is a person with notifications waiting in a channel.
type ChannelRecipient struct {
	Channel   string `bun:"channel"`
	Recipient string `bun:"recipient"`
	FirstID   int64  `bun:"first_id"`
}

// ClaimNotifications claims for lease up to limit of the recipient's
// notifications in channel that are waiting to be sent now, oldest first,
// and returns them with their tasks. A row another dispatcher holds is
// skipped, so two dispatchers never send the same notification at once.
func (s *Store) ClaimNotifications(ctx context.Context, r ChannelRecipient, limit int, lease time.Duration) ([]OutboxItem, error) {
	at := now()
	candidates := s.DB.NewSelect().Model((*Notification)(nil)).Column("id").
		ApplyQueryBuilder(claimable([]string{r.Channel}, at)).
		Where("recipient = ?", r.Recipient).
		Order("id").Limit(int64(limit))
	// A recipient is served by one dispatcher at a time, which keeps the
	// order of their messages and the channel's pace per person.
	claimedRows := s.DB.NewSelect().TableExpr("notifications AS held").ColumnExpr("1").
		Where("held.channel = ? AND held.recipient = ? AND held.state = ?", r.Channel, r.Recipient, NotificationPending).
		Where("held.claimed_until >= ?", at)
	var ids []int64
	// The conditions are repeated outside the subquery, so that a row
	// claimed by another dispatcher between the two is left alone.
	err := s.DB.NewUpdate().Model((*Notification)(nil)).
		Set("claimed_until = ?", at.Add(lease).UTC().Truncate(time.Microsecond)).
		Where("id IN (?)", candidates).
		ApplyQueryBuilder(claimable([]string{r.Channel}, at)).
		Where("NOT EXISTS (?)", claimedRows).
		Returning("id").
		Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("claim notifications of %s in %s: %w", r.Recipient, r.Channel, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var notifications []Notification
	if err := s.DB.NewSelect().Model(&notifications).Where("id IN (?)", bun.In(ids)).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read claimed notifications: %w", err)
	}
	taskIDs := make([]int64, 0, len(notifications))
	for _, n := range notifications {
		taskIDs = append(taskIDs, n.TaskID)
	}
	var tasks []Task
	if err := s.DB.NewSelect().Model(&tasks).Where("id IN (?)", bun.In(taskIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read the tasks of claimed notifications: %w", err)
	}
	byID := make(map[int64]Task, len(tasks))
	for _, task := range tasks {
		byID[task.ID] = task
	}
	items := make([]OutboxItem, 0, len(notifications))
	for _, n := range notifications {
		items = append(items, OutboxItem{Notification: n, Task: byID[n.TaskID]})
	}
	return items, nil
}

// ReleaseNotification ends a dispatcher's claim on a notification it did
// not try to send, so the next pass takes it at once.
func ReleaseNotification(ctx context.Context, db bun.IDB, id int64) error {
	_, err := db.NewUpdate().Model((*Notification)(nil)).
		Set("claimed_until = NULL").
		Where("id = ? AND state = ?", id, NotificationPending).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("release notification %d: %w", id, err)
	}
	return nil
}

// claimable selects pending notifications of the channels that no claim
// holds and no retry delay holds back at the moment at.
func claimable(channels []string, at time.Time) func(bun.QueryBuilder) bun.QueryBuilder {
	return func(q bun.QueryBuilder) bun.QueryBuilder {
		return q.Where("state = ?", NotificationPending).
			Where("channel IN (?)", bun.In(channels)).
			Where("(claimed_until IS NULL OR claimed_until < ?)", at).
			Where("(next_attempt_at IS NULL OR next_attempt_at <= ?)", at)
	}
}
