package dingtalk

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators/chatsim"
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

// table is the name of the table of notices.
const table = "sim_dingtalk_messages"

// Migrate creates the sim_dingtalk_messages table and its indexes.
func Migrate(ctx context.Context, db bun.IDB) error {
	return chatsim.Migrate(ctx, db, (*Message)(nil), table,
		chatsim.Index{Name: "sim_dingtalk_messages_user", Columns: []string{"userid", "received_at"}},
		chatsim.Index{Name: "sim_dingtalk_messages_task", Columns: []string{"task_id"}})
}

// Summarize counts the rows of sim_dingtalk_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	counts, err := chatsim.Count(ctx, db, table, "userid, digest", OutcomeDelivered)
	// On error the counts are zero, so the summary is too.
	return Summary{
		Delivered: counts.Delivered, DistinctDelivered: counts.Distinct, DuplicateCopies: counts.Copies,
		DuplicateSuppressed: counts.ByOutcome[OutcomeDuplicate],
		OverLimit:           counts.ByOutcome[OutcomeOverLimit],
		Dropped:             counts.ByOutcome[OutcomeDropped],
		InvalidUser:         counts.ByOutcome[OutcomeInvalidUser],
	}, err
}

// List returns the notices, oldest first; a non-empty userID selects one
// person's.
func List(ctx context.Context, db bun.IDB, userID string) ([]Message, error) {
	return chatsim.List[Message](ctx, db, table, "userid", userID)
}
