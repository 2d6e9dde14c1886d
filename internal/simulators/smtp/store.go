package smtp

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Mail is one message the sink accepted. Messages are never updated or
// deleted, so a resend is a second row with the same MessageID.
type Mail struct {
	bun.BaseModel `bun:"table:sim_mail"`

	ID int64 `bun:"id,pk,autoincrement" json:"id"`
	// MessageID is the Message-ID header with its angle brackets, empty
	// when the message had none.
	MessageID string `bun:"message_id,notnull" json:"message_id"`
	// From is the envelope sender (MAIL FROM); To the envelope recipients
	// (RCPT TO), comma separated.
	From    string `bun:"mail_from,notnull" json:"from"`
	To      string `bun:"rcpt_to,notnull" json:"to"`
	Subject string `bun:"subject,notnull" json:"subject"`
	// Body is the decoded text of a single-part message, or the raw body
	// of any other.
	Body       string    `bun:"body,notnull" json:"body"`
	Size       int       `bun:"size,notnull" json:"size"`
	ReceivedAt time.Time `bun:"received_at,notnull" json:"received_at"`
}

// MailSummary counts the messages the sink accepted.
type MailSummary struct {
	// Messages is the number of messages received.
	Messages int `bun:"messages" json:"messages"`
	// MessageIDs is the number of distinct Message-IDs among them.
	MessageIDs int `bun:"message_ids" json:"message_ids"`
	// Duplicated is the number of Message-IDs received more than once;
	// DuplicateCopies the copies beyond the first of each.
	Duplicated      int `bun:"duplicated" json:"duplicated"`
	DuplicateCopies int `bun:"duplicate_copies" json:"duplicate_copies"`
	// WithoutID is the number of messages without a Message-ID, which
	// cannot be checked for duplicates.
	WithoutID int `bun:"without_id" json:"without_id"`
}

// Migrate creates the sim_mail table and its index if missing.
func Migrate(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewCreateTable().Model((*Mail)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_mail: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*Mail)(nil)).Index("sim_mail_message_id").
		Column("message_id").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_mail index: %w", err)
	}
	return nil
}

// Summarize counts the messages in db's sim_mail table.
func Summarize(ctx context.Context, db bun.IDB) (MailSummary, error) {
	var summary MailSummary
	err := db.NewRaw(`
		SELECT COALESCE(SUM(n), 0) AS messages,
		       COUNT(*) AS message_ids,
		       COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0) AS duplicated,
		       COALESCE(SUM(CASE WHEN n > 1 THEN n - 1 ELSE 0 END), 0) AS duplicate_copies
		FROM (SELECT message_id, COUNT(*) AS n FROM sim_mail
		      WHERE message_id <> '' GROUP BY message_id) AS per_id`).Scan(ctx, &summary)
	if err != nil {
		return MailSummary{}, fmt.Errorf("summarise sim_mail: %w", err)
	}
	withoutID, err := db.NewSelect().Model((*Mail)(nil)).Where("message_id = ''").Count(ctx)
	if err != nil {
		return MailSummary{}, fmt.Errorf("count sim_mail rows without a Message-ID: %w", err)
	}
	summary.WithoutID = int(withoutID)
	summary.Messages += int(withoutID)
	return summary, nil
}

// List returns the received messages, oldest first; a non-empty messageID
// selects the copies of one message.
func List(ctx context.Context, db bun.IDB, messageID string) ([]Mail, error) {
	var mails []Mail
	q := db.NewSelect().Model(&mails).Order("id")
	if messageID != "" {
		q = q.Where("message_id = ?", messageID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sim_mail: %w", err)
	}
	return mails, nil
}

func insertMail(ctx context.Context, db bun.IDB, mail *Mail) (copies int, err error) {
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(mail).Exec(ctx); err != nil {
			return fmt.Errorf("store message %s: %w", mail.MessageID, err)
		}
		if mail.MessageID == "" {
			copies = 1
			return nil
		}
		n, err := tx.NewSelect().Model((*Mail)(nil)).Where("message_id = ?", mail.MessageID).Count(ctx)
		if err != nil {
			return fmt.Errorf("count copies of message %s: %w", mail.MessageID, err)
		}
		copies = int(n)
		return nil
	})
	return copies, err
}
