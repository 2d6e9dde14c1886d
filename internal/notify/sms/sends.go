package sms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// States of a row of sms_sends.
const (
	// StatePending: no request for this row has left ordo, or the
	// provider rejected the last one with a code that a retry may fix.
	StatePending = "pending"
	// StateSending: a request left and no response was recorded. Either the
	// attempt is still running or it ended without a response (a timeout,
	// a lost reply, a crash), so the provider may have sent the SMS.
	StateSending = "sending"
	// StateSent: the provider accepted the SMS.
	StateSent = "sent"
	// StateFailed: the provider rejected the SMS for good.
	StateFailed = "failed"
	// StateUnknown: the provider cannot tell whether it sent the SMS and
	// ordo will not send it again. An operator checks the provider's
	// console.
	StateUnknown = "unknown"
)

// Send is one SMS of one notification to one phone number, a row of
// sms_sends (migration 20261206000001).
type Send struct {
	bun.BaseModel `bun:"table:sms_sends"`

	ID  int64  `bun:"id,pk,autoincrement"`
	Key string `bun:"key"`
	// Phone is the number in E.164 form, e.g. +8613800138000.
	Phone    string `bun:"phone"`
	Provider string `bun:"provider"`
	// OutID is sent as Aliyun's OutId or Tencent's SessionContext, so the
	// provider's records name the send.
	OutID    string `bun:"out_id"`
	Template string `bun:"template"`
	State    string `bun:"state"`
	Attempts int    `bun:"attempts"`
	// ProviderID is Aliyun's BizId or Tencent's SerialNo of the accepted
	// SMS.
	ProviderID  string     `bun:"provider_id"`
	LastError   string     `bun:"last_error"`
	CreatedAt   time.Time  `bun:"created_at"`
	AttemptedAt *time.Time `bun:"attempted_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`
}

// errBusy means another attempt changed the row between reading and
// claiming it, e.g. a retry that started while a slow attempt still runs.
var errBusy = errors.New("another attempt is sending this SMS")

// loadOrInsert returns the row of (key, phone), inserting a pending one
// when there is none.
func loadOrInsert(ctx context.Context, db bun.IDB, send *Send) error {
	send.State = StatePending
	send.CreatedAt = send.CreatedAt.UTC()
	send.UpdatedAt = send.CreatedAt
	_, err := db.NewInsert().Model(send).ExcludeColumn("id").
		On("CONFLICT (?, phone) DO NOTHING", bun.Ident("key")).Exec(ctx)
	if err != nil {
		return fmt.Errorf("insert sms_sends row for %s: %w", send.Key, err)
	}
	key, phone := send.Key, send.Phone
	*send = Send{}
	err = db.NewSelect().Model(send).Where("? = ? AND phone = ?", bun.Ident("key"), key, phone).Scan(ctx)
	if err != nil {
		return fmt.Errorf("read sms_sends row for %s: %w", key, err)
	}
	return nil
}

// claim moves the row from the state it was read in to sending, counting
// the attempt. It returns errBusy when the row changed since it was read.
func claim(ctx context.Context, db bun.IDB, send *Send, now time.Time) error {
	now = now.UTC()
	res, err := db.NewUpdate().Model((*Send)(nil)).
		Set("state = ?", StateSending).
		Set("attempts = attempts + 1").
		Set("attempted_at = ?", now).
		Set("updated_at = ?", now).
		Where("id = ? AND state = ? AND attempts = ?", send.ID, send.State, send.Attempts).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("claim sms_sends row %d: %w", send.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errBusy
	}
	send.State = StateSending
	send.Attempts++
	send.AttemptedAt = &now
	send.UpdatedAt = now
	return nil
}

// finish records the outcome of the row's attempt: state, the provider's
// id of the SMS and the error, if any.
func finish(ctx context.Context, db bun.IDB, send *Send, state, providerID, lastError string, now time.Time) error {
	now = now.UTC()
	q := db.NewUpdate().Model((*Send)(nil)).
		Set("state = ?", state).
		Set("last_error = ?", lastError).
		Set("updated_at = ?", now).
		Where("id = ?", send.ID)
	if providerID != "" {
		q = q.Set("provider_id = ?", providerID)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("record %s for sms_sends row %d: %w", state, send.ID, err)
	}
	send.State, send.LastError, send.UpdatedAt = state, lastError, now
	if providerID != "" {
		send.ProviderID = providerID
	}
	return nil
}

// Lookup returns the row of (key, phone), or sql.ErrNoRows.
func Lookup(ctx context.Context, db bun.IDB, key, phone string) (*Send, error) {
	send := new(Send)
	err := db.NewSelect().Model(send).Where("? = ? AND phone = ?", bun.Ident("key"), key, phone).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read sms_sends row for %s: %w", key, err)
	}
	return send, nil
}

// ListByState returns the rows in state, oldest first, so an operator can
// list the SMS whose outcome is unknown.
func ListByState(ctx context.Context, db bun.IDB, state string) ([]Send, error) {
	var sends []Send
	if err := db.NewSelect().Model(&sends).Where("state = ?", state).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sms_sends in state %s: %w", state, err)
	}
	return sends, nil
}
