package dingtalk

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Outcomes of a work notice to one person.
const (
	OutcomeDelivered = "delivered"
	// OutcomeDuplicate: the person received the same content within a
	// day, so DingTalk did not deliver it again.
	OutcomeDuplicate = "duplicate_suppressed"
	// OutcomeOverLimit: the person reached the daily limit.
	OutcomeOverLimit = "dropped_over_limit"
	// OutcomeDropped: lost by an injected silent drop; the send result
	// lists the person as failed.
	OutcomeDropped     = "dropped_silently"
	OutcomeInvalidUser = "invalid_user"
)

// Message is one work notice to one person. Rows are never updated, so a
// resend is a second row.
type Message struct {
	bun.BaseModel `bun:"table:sim_dingtalk_messages"`

	ID      int64  `bun:"id,pk,autoincrement" json:"id"`
	TaskID  int64  `bun:"task_id,notnull" json:"task_id"`
	UserID  string `bun:"userid,notnull" json:"userid"`
	MsgType string `bun:"msgtype,notnull" json:"msgtype"`
	Title   string `bun:"title,notnull" json:"title"`
	// Content is the markdown text of the card or message.
	Content string `bun:"content,notnull" json:"content"`
	URL     string `bun:"url,notnull" json:"url"`
	// Digest identifies the content, for the same-content rule.
	Digest     string    `bun:"digest,notnull" json:"digest"`
	Outcome    string    `bun:"outcome,notnull" json:"outcome"`
	ReceivedAt time.Time `bun:"received_at,notnull" json:"received_at"`
}

// Summary counts the notices per outcome and the duplicates among the
// delivered ones.
type Summary struct {
	Delivered int `json:"delivered"`
	// DistinctDelivered is the number of distinct (person, content) pairs
	// delivered; DuplicateCopies the delivered copies beyond the first.
	DistinctDelivered   int `json:"distinct_delivered"`
	DuplicateCopies     int `json:"duplicate_copies"`
	DuplicateSuppressed int `json:"duplicate_suppressed"`
	OverLimit           int `json:"dropped_over_limit"`
	Dropped             int `json:"dropped_silently"`
	InvalidUser         int `json:"invalid_user"`
}

// Migrate creates the sim_dingtalk_messages table and its indexes.
func Migrate(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewCreateTable().Model((*Message)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_dingtalk_messages: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Message)(nil)).Index("sim_dingtalk_messages_user").
		Column("userid", "received_at").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_dingtalk_messages index: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Message)(nil)).Index("sim_dingtalk_messages_task").
		Column("task_id").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_dingtalk_messages task index: %w", err)
	}
	return nil
}

// Summarize counts the rows of sim_dingtalk_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw(`SELECT outcome, COUNT(*) AS n FROM sim_dingtalk_messages GROUP BY outcome`).Scan(ctx, &rows); err != nil {
		return Summary{}, fmt.Errorf("summarise sim_dingtalk_messages: %w", err)
	}
	var s Summary
	for _, row := range rows {
		switch row.Outcome {
		case OutcomeDelivered:
			s.Delivered = row.N
		case OutcomeDuplicate:
			s.DuplicateSuppressed = row.N
		case OutcomeOverLimit:
			s.OverLimit = row.N
		case OutcomeDropped:
			s.Dropped = row.N
		case OutcomeInvalidUser:
			s.InvalidUser = row.N
		}
	}
	var n int
	if err := db.NewRaw(`SELECT COUNT(*) FROM (SELECT DISTINCT userid, digest FROM sim_dingtalk_messages WHERE outcome = ?) AS pairs`,
		OutcomeDelivered).Scan(ctx, &n); err != nil {
		return Summary{}, fmt.Errorf("count distinct dingtalk notices: %w", err)
	}
	s.DistinctDelivered = n
	s.DuplicateCopies = s.Delivered - n
	return s, nil
}

// List returns the notices, oldest first; a non-empty userID selects one
// person's.
func List(ctx context.Context, db bun.IDB, userID string) ([]Message, error) {
	var messages []Message
	q := db.NewSelect().Model(&messages).Order("id")
	if userID != "" {
		q = q.Where("userid = ?", userID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sim_dingtalk_messages: %w", err)
	}
	return messages, nil
}
