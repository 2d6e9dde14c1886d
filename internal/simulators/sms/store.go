package sms

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Outcomes of one SMS to one number.
const (
	OutcomeDelivered = "delivered"
	// OutcomeRejected: the simulator replied with the error code in Code
	// and sent nothing.
	OutcomeRejected = "rejected"
)

// Message is one SMS request to one number that passed the signature
// check. Rows are never updated, so a resend is a second row.
type Message struct {
	bun.BaseModel `bun:"table:sim_sms_messages"`

	ID       int64  `bun:"id,pk,autoincrement" json:"id"`
	Provider string `bun:"provider,notnull" json:"provider"`
	// Phone is the number in E.164 form.
	Phone      string `bun:"phone,notnull" json:"phone"`
	SignName   string `bun:"sign_name,notnull" json:"sign_name"`
	TemplateID string `bun:"template_id,notnull" json:"template_id"`
	// Params is the template params as JSON: an object for Aliyun, an
	// array for Tencent.
	Params string `bun:"params,notnull" json:"params"`
	// Text is the template text with the params filled in, when the
	// template has a text.
	Text string `bun:"text,notnull" json:"text"`
	// OutID is Aliyun's OutId or Tencent's SessionContext.
	OutID string `bun:"out_id,notnull" json:"out_id"`
	// ProviderID is the BizId or SerialNo of a delivered SMS.
	ProviderID string    `bun:"provider_id,notnull" json:"provider_id"`
	Outcome    string    `bun:"outcome,notnull" json:"outcome"`
	Code       string    `bun:"code,notnull" json:"code,omitempty"`
	ReceivedAt time.Time `bun:"received_at,notnull" json:"received_at"`
}

// Summary counts the SMS by outcome and the duplicates among the
// delivered ones.
type Summary struct {
	Delivered int `json:"delivered"`
	// DistinctDelivered counts distinct (number, out id, template, params)
	// among delivered SMS; DuplicateCopies the delivered copies beyond the
	// first.
	DistinctDelivered int            `json:"distinct_delivered"`
	DuplicateCopies   int            `json:"duplicate_copies"`
	Rejected          int            `json:"rejected"`
	RejectedByCode    map[string]int `json:"rejected_by_code,omitempty"`
}

// Migrate creates sim_sms_messages and its index if missing.
func Migrate(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewCreateTable().Model((*Message)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_sms_messages: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Message)(nil)).Index("sim_sms_messages_phone").
		Column("phone", "received_at").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_sms_messages index: %w", err)
	}
	return nil
}

// Summarize counts the rows of sim_sms_messages.
func Summarize(ctx context.Context, db bun.IDB) (Summary, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		Code    string `bun:"code"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw(`SELECT outcome, code, COUNT(*) AS n FROM sim_sms_messages GROUP BY outcome, code`).Scan(ctx, &rows); err != nil {
		return Summary{}, fmt.Errorf("summarise sim_sms_messages: %w", err)
	}
	s := Summary{RejectedByCode: map[string]int{}}
	for _, row := range rows {
		switch row.Outcome {
		case OutcomeDelivered:
			s.Delivered += row.N
		case OutcomeRejected:
			s.Rejected += row.N
			s.RejectedByCode[row.Code] += row.N
		}
	}
	var n int
	err := db.NewRaw(`SELECT COUNT(*) FROM (SELECT DISTINCT phone, out_id, template_id, params FROM sim_sms_messages WHERE outcome = ?) AS sent`,
		OutcomeDelivered).Scan(ctx, &n)
	if err != nil {
		return Summary{}, fmt.Errorf("count distinct SMS: %w", err)
	}
	s.DistinctDelivered = n
	s.DuplicateCopies = s.Delivered - n
	return s, nil
}

// List returns the messages, oldest first; a non-empty phone selects one
// number's.
func List(ctx context.Context, db bun.IDB, phone string) ([]Message, error) {
	var messages []Message
	q := db.NewSelect().Model(&messages).Order("id")
	if phone != "" {
		q = q.Where("phone = ?", phone)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sim_sms_messages: %w", err)
	}
	return messages, nil
}

// delivered returns the delivered SMS to phone received in [from, to).
func delivered(ctx context.Context, db bun.IDB, provider, phone string, from, to time.Time) ([]Message, error) {
	var messages []Message
	err := db.NewSelect().Model(&messages).
		Where("provider = ? AND phone = ? AND outcome = ? AND received_at >= ? AND received_at < ?",
			provider, phone, OutcomeDelivered, from.UTC(), to.UTC()).
		Order("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list delivered SMS: %w", err)
	}
	return messages, nil
}
