package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators"
)

// Payment kinds and states.
const (
	kindAdvance = "advance"
	kindBalance = "balance"

	paymentScheduled = "scheduled"
	paymentPosted    = "posted"
)

// paymentRow is one payment a customer will make or made. Amounts are
// decimal text, because SQLite has no decimal type.
type paymentRow struct {
	bun.BaseModel `bun:"table:bank_payments"`

	// Key is derived from the event: "advance:<order>", "balance:<invoice>"
	// or "balance:<invoice>:<part>".
	Key        string `bun:"key,pk" json:"key"`
	Kind       string `bun:"kind,notnull" json:"kind"`
	ContractNo string `bun:"contract_no,notnull" json:"contract_no"`
	// DocumentNo is the sales order of an advance or the invoice of a
	// balance.
	DocumentNo string `bun:"document_no,notnull" json:"document_no"`
	PayerName  string `bun:"payer_name,notnull" json:"payer_name"`
	Currency   string `bun:"currency,notnull" json:"currency"`
	// Principal counts against the contract's total; Extra is an
	// over-payment on top.
	Principal string `bun:"principal,notnull" json:"principal"`
	Extra     string `bun:"extra,notnull" json:"extra"`
	// Part is 1 or 2 for the lines of a partial payment, 0 otherwise.
	Part int `bun:"part,notnull" json:"part"`
	// DueAtMS is when the payment loop posts it, in Unix milliseconds.
	DueAtMS int64 `bun:"due_at_ms,notnull" json:"due_at_ms"`
	// CombineUntilMS is set on a payment that waits for a second contract
	// of the same payer; 0 means it is paid alone.
	CombineUntilMS int64     `bun:"combine_until_ms,notnull" json:"combine_until_ms"`
	Status         string    `bun:"status,notnull" json:"status"`
	LineSerialNo   string    `bun:"line_serial_no,notnull" json:"line_serial_no"`
	CreatedAt      time.Time `bun:"created_at,notnull" json:"created_at"`
}

// instalment names the payment's instalment for the ledger: "advance",
// "balance", or "balance part 1" and "balance part 2" for the two lines of
// a partial payment.
func (p *paymentRow) instalment() string {
	if p.Part > 0 {
		return fmt.Sprintf("%s part %d", p.Kind, p.Part)
	}
	return p.Kind
}

// orderRow remembers what a customer owes under a contract, in the
// contract's currency. The invoice may be in another currency (a VAT
// invoice is always in CNY), so the rest is computed from this total.
type orderRow struct {
	bun.BaseModel `bun:"table:bank_orders"`

	ContractNo string `bun:"contract_no,pk"`
	PayerName  string `bun:"payer_name,notnull"`
	Total      string `bun:"total,notnull"`
	Currency   string `bun:"currency,notnull"`
}

// eventRow records a World event that was handled, so a repeat is ignored.
type eventRow struct {
	bun.BaseModel `bun:"table:bank_events"`

	Key       string    `bun:"key,pk"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Statement line kinds, kept for inspection; the API does not expose them.
const (
	lineReceipt = "receipt"
	lineStray   = "stray"
	lineFee     = "fee"
)

// lineRow is one line of the account statement.
type lineRow struct {
	bun.BaseModel `bun:"table:bank_lines"`

	// Seq orders the statement and is the cursor.
	Seq                 int64     `bun:"seq,pk"`
	SerialNo            string    `bun:"serial_no,notnull,unique"`
	BusinessDate        string    `bun:"business_date,notnull"`
	TradeTime           string    `bun:"trade_time,notnull"`
	Amount              string    `bun:"amount,notnull"`
	Balance             string    `bun:"balance,notnull"`
	Currency            string    `bun:"currency,notnull"`
	CounterpartyName    string    `bun:"counterparty_name,notnull"`
	CounterpartyAccount string    `bun:"counterparty_account,notnull"`
	Remark              string    `bun:"remark,notnull"`
	Kind                string    `bun:"kind,notnull"`
	ContractNos         string    `bun:"contract_nos,notnull"`
	PostedAt            time.Time `bun:"posted_at,notnull"`
}

func migrate(ctx context.Context, db bun.IDB) error {
	for _, model := range []any{(*paymentRow)(nil), (*orderRow)(nil), (*eventRow)(nil), (*lineRow)(nil)} {
		if _, err := db.NewCreateTable().Model(model).IfNotExists().Exec(ctx); err != nil {
			return fmt.Errorf("create bank table for %T: %w", model, err)
		}
	}
	indexes := []struct {
		model   any
		name    string
		columns []string
	}{
		{(*paymentRow)(nil), "bank_payments_due", []string{"status", "due_at_ms"}},
		{(*paymentRow)(nil), "bank_payments_contract", []string{"contract_no"}},
		{(*paymentRow)(nil), "bank_payments_payer", []string{"payer_name", "status"}},
		{(*orderRow)(nil), "bank_orders_payer", []string{"payer_name"}},
	}
	for _, index := range indexes {
		if _, err := db.NewCreateIndex().Model(index.model).Index(index.name).Column(index.columns...).IfNotExists().Exec(ctx); err != nil {
			return fmt.Errorf("create index %s: %w", index.name, err)
		}
	}
	return simulators.NewLedger(db).Migrate(ctx)
}

// markEvent records an event key and reports false if it was recorded
// before.
func markEvent(ctx context.Context, tx bun.IDB, key string) (bool, error) {
	result, err := tx.NewInsert().Model(&eventRow{Key: key, CreatedAt: time.Now().UTC()}).
		On("CONFLICT (key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record event %s: %w", key, err)
	}
	inserted, err := result.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record event %s: %w", key, err)
	}
	return inserted == 1, nil
}

func findPayment(ctx context.Context, db bun.IDB, key string) (*paymentRow, error) {
	row := new(paymentRow)
	err := db.NewSelect().Model(row).Where("key = ?", key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read payment %s: %w", key, err)
	}
	return row, nil
}

// lastLine returns the newest statement line, or nil on an empty
// statement.
func lastLine(ctx context.Context, db bun.IDB) (*lineRow, error) {
	row := new(lineRow)
	err := db.NewSelect().Model(row).Order("seq DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last statement line: %w", err)
	}
	return row, nil
}
