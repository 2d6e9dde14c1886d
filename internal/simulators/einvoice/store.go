package einvoice

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators"
)

// Request states. They match the states in package connectors.
const (
	statusProcessing = "processing"
	statusIssued     = "issued"
	statusFailed     = "failed"
	statusReversed   = "reversed"
)

// requestRow is one blue or red issue request and, once issued, its invoice.
// Amounts are decimal text, because SQLite has no decimal type.
type requestRow struct {
	bun.BaseModel `bun:"table:einvoice_requests"`

	SerialNo    string `bun:"serial_no,pk"`
	Red         bool   `bun:"red,notnull"`
	ContractNo  string `bun:"contract_no,notnull"`
	InvoiceKind string `bun:"invoice_kind,notnull"`
	BuyerName   string `bun:"buyer_name,notnull"`
	Currency    string `bun:"currency,notnull"`
	// BodyHash is the SHA-256 of the normalized request, to tell a repeat
	// from a different request under the same serial number.
	BodyHash       string `bun:"body_hash,notnull"`
	Body           string `bun:"body,notnull"`
	TotalAmount    string `bun:"total_amount,notnull"`
	TotalTax       string `bun:"total_tax,notnull"`
	TotalInclusive string `bun:"total_inclusive,notnull"`
	Status         string `bun:"status,notnull"`
	// InvoiceNo is NULL until issued, so the unique index admits many
	// requests without a number.
	InvoiceNo string `bun:"invoice_no,nullzero"`
	// DueAtMS is when the background loop completes the request, in Unix
	// milliseconds, so comparisons in SQL are exact.
	DueAtMS int64 `bun:"due_at_ms,notnull"`
	// PlannedFailure is the reason the request will fail with, decided when
	// it was accepted. Empty means it will be issued.
	PlannedFailure string    `bun:"planned_failure,notnull"`
	FailureReason  string    `bun:"failure_reason,notnull"`
	IssuedAt       time.Time `bun:"issued_at,nullzero"`
	// Red requests point at the blue invoice they reverse.
	OriginalSerialNo  string `bun:"original_serial_no,notnull"`
	OriginalInvoiceNo string `bun:"original_invoice_no,notnull"`
	ConfirmationNo    string `bun:"confirmation_no,notnull"`
	// Reversed blue invoices point at their red invoice.
	RedSerialNo  string `bun:"red_serial_no,notnull"`
	RedInvoiceNo string `bun:"red_invoice_no,notnull"`
	// WorldNotified is true once World.InvoiceIssued accepted the event.
	WorldNotified bool      `bun:"world_notified,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// confirmationRow is a red-letter confirmation form (红字确认单). Each
// original invoice has at most one.
type confirmationRow struct {
	bun.BaseModel `bun:"table:einvoice_red_confirmations"`

	ConfirmationNo    string    `bun:"confirmation_no,pk"`
	OriginalSerialNo  string    `bun:"original_serial_no,notnull,unique"`
	OriginalInvoiceNo string    `bun:"original_invoice_no,notnull"`
	Reason            string    `bun:"reason,notnull"`
	Status            string    `bun:"status,notnull"`
	TotalAmount       string    `bun:"total_amount,notnull"`
	TotalTax          string    `bun:"total_tax,notnull"`
	TotalInclusive    string    `bun:"total_inclusive,notnull"`
	CreatedAt         time.Time `bun:"created_at,notnull"`
}

// Callback delivery states.
const (
	callbackPending   = "pending"
	callbackDelivered = "delivered"
	callbackAbandoned = "abandoned"
)

// callbackRow is an event waiting for delivery to the callback URL.
type callbackRow struct {
	bun.BaseModel `bun:"table:einvoice_callbacks"`

	ID        int64     `bun:"id,pk,autoincrement"`
	EventID   string    `bun:"event_id,notnull,unique"`
	Event     string    `bun:"event,notnull"`
	SerialNo  string    `bun:"serial_no,notnull"`
	URL       string    `bun:"url,notnull"`
	Body      string    `bun:"body,notnull"`
	Attempts  int       `bun:"attempts,notnull"`
	NextAtMS  int64     `bun:"next_at_ms,notnull"`
	State     string    `bun:"state,notnull"`
	LastError string    `bun:"last_error,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// sequenceRow is a named counter for invoice and form numbers.
type sequenceRow struct {
	bun.BaseModel `bun:"table:einvoice_sequences"`

	Name  string `bun:"name,pk"`
	Value int64  `bun:"value,notnull"`
}

// migrate creates the simulator's tables, indexes and the shared ledger.
func migrate(ctx context.Context, db bun.IDB) error {
	models := []any{(*requestRow)(nil), (*confirmationRow)(nil), (*callbackRow)(nil), (*sequenceRow)(nil)}
	for _, model := range models {
		if _, err := db.NewCreateTable().Model(model).IfNotExists().Exec(ctx); err != nil {
			return fmt.Errorf("create einvoice table for %T: %w", model, err)
		}
	}
	indexes := []struct {
		model   any
		name    string
		unique  bool
		columns []string
	}{
		{(*requestRow)(nil), "einvoice_requests_invoice_no", true, []string{"invoice_no"}},
		{(*requestRow)(nil), "einvoice_requests_due", false, []string{"status", "due_at_ms"}},
		{(*requestRow)(nil), "einvoice_requests_original", false, []string{"original_serial_no"}},
		{(*callbackRow)(nil), "einvoice_callbacks_due", false, []string{"state", "next_at_ms"}},
	}
	for _, index := range indexes {
		query := db.NewCreateIndex().Model(index.model).Index(index.name).Column(index.columns...).IfNotExists()
		if index.unique {
			query = query.Unique()
		}
		if _, err := query.Exec(ctx); err != nil {
			return fmt.Errorf("create index %s: %w", index.name, err)
		}
	}
	if err := simulators.NewLedger(db).Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// nextSequence increments the named counter and returns the new value. Call
// it inside the write transaction that uses the number, so a rollback
// returns the number too.
func nextSequence(ctx context.Context, tx bun.IDB, name string) (int64, error) {
	row := &sequenceRow{Name: name}
	err := tx.NewSelect().Model(row).WherePK().Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		row.Value = 1
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return 0, fmt.Errorf("start sequence %s: %w", name, err)
		}
		return row.Value, nil
	case err != nil:
		return 0, fmt.Errorf("read sequence %s: %w", name, err)
	}
	row.Value++
	if _, err := tx.NewUpdate().Model(row).Column("value").WherePK().Exec(ctx); err != nil {
		return 0, fmt.Errorf("advance sequence %s: %w", name, err)
	}
	return row.Value, nil
}

// findRequest returns the request with the serial number, or nil.
func findRequest(ctx context.Context, db bun.IDB, serialNo string) (*requestRow, error) {
	row := new(requestRow)
	err := db.NewSelect().Model(row).Where("serial_no = ?", serialNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read invoice request %s: %w", serialNo, err)
	}
	return row, nil
}

// findByInvoiceNo returns the request that got the invoice number, or nil.
func findByInvoiceNo(ctx context.Context, db bun.IDB, invoiceNo string) (*requestRow, error) {
	row := new(requestRow)
	err := db.NewSelect().Model(row).Where("invoice_no = ?", invoiceNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read invoice %s: %w", invoiceNo, err)
	}
	return row, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
