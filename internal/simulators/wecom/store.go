package wecom

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators/chatsim"
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

// table is the name of the table of messages.
const table = "sim_wecom_messages"

// Migrate creates the sim_wecom_messages table and its index if missing.
func Migrate(ctx context.Context, db bun.IDB) error {
	return chatsim.Migrate(ctx, db, (*Message)(nil), table,
		chatsim.Index{Name: "sim_wecom_messages_user", Columns: []string{"userid", "received_at"}})
}

// Summarize counts the rows of sim_wecom_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	counts, err := chatsim.Count(ctx, db, table, "userid, digest", OutcomeDelivered)
	// On error the counts are zero, so the summary is too.
	return Summary{
		Delivered: counts.Delivered, DistinctDelivered: counts.Distinct, DuplicateCopies: counts.Copies,
		DuplicateSuppressed: counts.ByOutcome[OutcomeDuplicate],
		Dropped:             counts.ByOutcome[OutcomeDropped],
		RateLimited:         counts.ByOutcome[OutcomeRateLimited],
		InvalidUser:         counts.ByOutcome[OutcomeInvalidUser],
	}, err
}

// List returns the messages, oldest first; a non-empty userID selects one
// member's.
func List(ctx context.Context, db bun.IDB, userID string) ([]Message, error) {
	return chatsim.List[Message](ctx, db, table, "userid", userID)
}
