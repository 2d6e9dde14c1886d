package wecom

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Outcomes of a message to one member.
const (
	OutcomeDelivered = "delivered"
	// OutcomeDuplicate: the same content reached the member within the
	// duplicate check interval, so WeCom did not deliver it again.
	OutcomeDuplicate = "duplicate_suppressed"
	// OutcomeDropped: over the member's rate limit in silent-drop mode,
	// replied with errcode 0 like the real service.
	OutcomeDropped = "dropped_over_limit"
	// OutcomeRateLimited: over the rate limit, replied with errcode 45009.
	OutcomeRateLimited = "rejected_45009"
	OutcomeInvalidUser = "invalid_user"
)

// Message is one message to one member. Rows are never updated, so a
// resend is a second row.
type Message struct {
	bun.BaseModel `bun:"table:sim_wecom_messages"`

	ID      int64  `bun:"id,pk,autoincrement" json:"id"`
	MsgID   string `bun:"msgid,notnull" json:"msgid"`
	UserID  string `bun:"userid,notnull" json:"userid"`
	MsgType string `bun:"msgtype,notnull" json:"msgtype"`
	Title   string `bun:"title,notnull" json:"title"`
	// Content is the text, or the card's description.
	Content string `bun:"content,notnull" json:"content"`
	URL     string `bun:"url,notnull" json:"url"`
	// Digest identifies the content, for the duplicate check.
	Digest     string    `bun:"digest,notnull" json:"digest"`
	Outcome    string    `bun:"outcome,notnull" json:"outcome"`
	ReceivedAt time.Time `bun:"received_at,notnull" json:"received_at"`
}

// Summary counts the messages per outcome and the duplicates among the
// delivered ones.
type Summary struct {
	Delivered int `json:"delivered"`
	// DistinctDelivered is the number of distinct (member, content) pairs
	// delivered; DuplicateCopies the delivered copies beyond the first.
	DistinctDelivered   int `json:"distinct_delivered"`
	DuplicateCopies     int `json:"duplicate_copies"`
	DuplicateSuppressed int `json:"duplicate_suppressed"`
	// Dropped counts messages lost over the rate limit without an error.
	Dropped     int `json:"dropped_over_limit"`
	RateLimited int `json:"rejected_45009"`
	InvalidUser int `json:"invalid_user"`
}

// Migrate creates the sim_wecom_messages table and its index if missing.
func Migrate(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewCreateTable().Model((*Message)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_wecom_messages: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Message)(nil)).Index("sim_wecom_messages_user").
		Column("userid", "received_at").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_wecom_messages index: %w", err)
	}
	return nil
}

// Summarize counts the rows of sim_wecom_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw(`SELECT outcome, COUNT(*) AS n FROM sim_wecom_messages GROUP BY outcome`).Scan(ctx, &rows); err != nil {
		return Summary{}, fmt.Errorf("summarise sim_wecom_messages: %w", err)
	}
	var s Summary
	for _, row := range rows {
		switch row.Outcome {
		case OutcomeDelivered:
			s.Delivered = row.N
		case OutcomeDuplicate:
			s.DuplicateSuppressed = row.N
		case OutcomeDropped:
			s.Dropped = row.N
		case OutcomeRateLimited:
			s.RateLimited = row.N
		case OutcomeInvalidUser:
			s.InvalidUser = row.N
		}
	}
	var n int
	if err := db.NewRaw(`SELECT COUNT(*) FROM (SELECT DISTINCT userid, digest FROM sim_wecom_messages WHERE outcome = ?) AS pairs`, OutcomeDelivered).Scan(ctx, &n); err != nil {
		return Summary{}, fmt.Errorf("count distinct wecom messages: %w", err)
	}
	s.DistinctDelivered = n
	s.DuplicateCopies = s.Delivered - n
	return s, nil
}

// List returns the messages, oldest first; a non-empty userID selects one
// member's.
func List(ctx context.Context, db bun.IDB, userID string) ([]Message, error) {
	var messages []Message
	q := db.NewSelect().Model(&messages).Order("id")
	if userID != "" {
		q = q.Where("userid = ?", userID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sim_wecom_messages: %w", err)
	}
	return messages, nil
}
