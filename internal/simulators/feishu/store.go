package feishu

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators/chatsim"
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

// table is the name of the table of message requests.
const table = "sim_feishu_messages"

// Migrate creates the sim_feishu_messages table and its indexes.
func Migrate(ctx context.Context, db bun.IDB) error {
	return chatsim.Migrate(ctx, db, (*Message)(nil), table,
		chatsim.Index{Name: "sim_feishu_messages_receiver", Columns: []string{"receive_id", "received_at"}},
		chatsim.Index{Name: "sim_feishu_messages_uuid", Columns: []string{"uuid"}})
}

// Summarize counts the rows of sim_feishu_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	// A message without a uuid is identified by its content.
	counts, err := chatsim.Count(ctx, db, table, "receive_id, CASE WHEN uuid <> '' THEN uuid ELSE content END AS identity", OutcomeDelivered)
	// On error the counts are zero, so the summary is too.
	return Summary{
		Delivered: counts.Delivered, DistinctDelivered: counts.Distinct, DuplicateCopies: counts.Copies,
		UUIDRepeats: counts.ByOutcome[OutcomeUUIDRepeat],
		RateLimited: counts.ByOutcome[OutcomeRateLimited],
		InvalidUser: counts.ByOutcome[OutcomeInvalidUser],
	}, err
}

// List returns the requests, oldest first; a non-empty receiveID selects
// one receiver's.
func List(ctx context.Context, db bun.IDB, receiveID string) ([]Message, error) {
	return chatsim.List[Message](ctx, db, table, "receive_id", receiveID)
}
