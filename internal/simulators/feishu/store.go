package feishu

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Outcomes of a message request.
const (
	OutcomeDelivered = "delivered"
	// OutcomeUUIDRepeat: a message with the same uuid was sent within the
	// hour, so Feishu returned that message's id and sent nothing.
	OutcomeUUIDRepeat = "uuid_repeat"
	// OutcomeRateLimited: over 5 messages a second to the receiver,
	// rejected with code 230020.
	OutcomeRateLimited = "rejected_230020"
	OutcomeInvalidUser = "invalid_user"
)

// Message is one message request. Rows are never updated, so a resend is
// a second row.
type Message struct {
	bun.BaseModel `bun:"table:sim_feishu_messages"`

	ID            int64  `bun:"id,pk,autoincrement" json:"id"`
	MessageID     string `bun:"message_id,notnull" json:"message_id"`
	UUID          string `bun:"uuid,notnull" json:"uuid"`
	ReceiveIDType string `bun:"receive_id_type,notnull" json:"receive_id_type"`
	ReceiveID     string `bun:"receive_id,notnull" json:"receive_id"`
	MsgType       string `bun:"msg_type,notnull" json:"msg_type"`
	// Title and URL are read from the card or post, for the ledger.
	Title      string    `bun:"title,notnull" json:"title"`
	URL        string    `bun:"url,notnull" json:"url"`
	Content    string    `bun:"content,notnull" json:"content"`
	Outcome    string    `bun:"outcome,notnull" json:"outcome"`
	ReceivedAt time.Time `bun:"received_at,notnull" json:"received_at"`
}

// Summary counts the requests per outcome and the duplicates among the
// delivered messages.
type Summary struct {
	Delivered int `json:"delivered"`
	// DistinctDelivered is the number of distinct (receiver, uuid) pairs
	// delivered, content standing in for a missing uuid; DuplicateCopies
	// the delivered copies beyond the first.
	DistinctDelivered int `json:"distinct_delivered"`
	DuplicateCopies   int `json:"duplicate_copies"`
	UUIDRepeats       int `json:"uuid_repeats"`
	RateLimited       int `json:"rejected_230020"`
	InvalidUser       int `json:"invalid_user"`
}

// Migrate creates the sim_feishu_messages table and its indexes.
func Migrate(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewCreateTable().Model((*Message)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_feishu_messages: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Message)(nil)).Index("sim_feishu_messages_receiver").
		Column("receive_id", "received_at").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_feishu_messages index: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Message)(nil)).Index("sim_feishu_messages_uuid").
		Column("uuid").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_feishu_messages uuid index: %w", err)
	}
	return nil
}

// Summarize counts the rows of sim_feishu_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw(`SELECT outcome, COUNT(*) AS n FROM sim_feishu_messages GROUP BY outcome`).Scan(ctx, &rows); err != nil {
		return Summary{}, fmt.Errorf("summarise sim_feishu_messages: %w", err)
	}
	var s Summary
	for _, row := range rows {
		switch row.Outcome {
		case OutcomeDelivered:
			s.Delivered = row.N
		case OutcomeUUIDRepeat:
			s.UUIDRepeats = row.N
		case OutcomeRateLimited:
			s.RateLimited = row.N
		case OutcomeInvalidUser:
			s.InvalidUser = row.N
		}
	}
	var n int
	if err := db.NewRaw(`SELECT COUNT(*) FROM (SELECT DISTINCT receive_id, CASE WHEN uuid <> '' THEN uuid ELSE content END AS identity FROM sim_feishu_messages WHERE outcome = ?) AS pairs`,
		OutcomeDelivered).Scan(ctx, &n); err != nil {
		return Summary{}, fmt.Errorf("count distinct feishu messages: %w", err)
	}
	s.DistinctDelivered = n
	s.DuplicateCopies = s.Delivered - n
	return s, nil
}

// List returns the requests, oldest first; a non-empty receiveID selects
// one receiver's.
func List(ctx context.Context, db bun.IDB, receiveID string) ([]Message, error) {
	var messages []Message
	q := db.NewSelect().Model(&messages).Order("id")
	if receiveID != "" {
		q = q.Where("receive_id = ?", receiveID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sim_feishu_messages: %w", err)
	}
	return messages, nil
}
