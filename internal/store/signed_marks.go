package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Attention item kinds of the signing verification.
const (
	// AttentionSigningVerification: a chain waits for a supervisor's phone
	// verification.
	AttentionSigningVerification = "signing_verification"
	// AttentionVerificationUnchecked: the check could not run and the
	// chain went on unverified.
	AttentionVerificationUnchecked = "verification_unchecked"
)

// SignedMark records that a rep reported a customer's contract signed:
// the contract-signed event or a Won deal of a CRM import. When enough
// different reps mark the same customer signed within the verification
// window, the contract chain waits for a supervisor's phone verification.
type SignedMark struct {
	bun.BaseModel `bun:"table:signed_marks"`

	ContractNo string `bun:"contract_no,pk" json:"contract_no"`
	// Customer is the customer number, which a renamed account keeps.
	Customer    string `bun:"customer" json:"customer"`
	AccountName string `bun:"account_name" json:"account_name"`
	Rep         string `bun:"rep" json:"rep"`
	// Source is SourceWebhook or SourceCRMImport.
	Source string `bun:"source" json:"source"`
	// MarkedAt is when the rep marked the contract signed: the time the
	// event arrived, or the deal's close date for an imported deal.
	MarkedAt   time.Time `bun:"marked_at" json:"marked_at"`
	RecordedAt time.Time `bun:"recorded_at" json:"recorded_at"`
}

// RecordSignedMarks stores marks; a contract that has a mark keeps its
// first one, so a replayed event or a second import changes nothing.
// Marks without a rep are skipped, because the rule counts different reps.
func RecordSignedMarks(ctx context.Context, db bun.IDB, marks []SignedMark) error {
	withRep := make([]SignedMark, 0, len(marks))
	recorded := now()
	for _, m := range marks {
		if m.Rep == "" || m.Customer == "" {
			continue
		}
		m.MarkedAt = m.MarkedAt.UTC()
		if m.RecordedAt.IsZero() {
			m.RecordedAt = recorded
		}
		withRep = append(withRep, m)
	}
	if len(withRep) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&withRep).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("record %d signed marks: %w", len(withRep), err)
	}
	return nil
}

// ReplaceSignedMark stores a contract's mark, replacing the one it has:
// for an imported contract whose rep or close date the CRM changed before
// its chain started.
func ReplaceSignedMark(ctx context.Context, db bun.IDB, mark SignedMark) error {
	if mark.Rep == "" || mark.Customer == "" {
		_, err := db.NewDelete().Model((*SignedMark)(nil)).Where("contract_no = ?", mark.ContractNo).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete signed mark of contract %s: %w", mark.ContractNo, err)
		}
		return nil
	}
	mark.MarkedAt = mark.MarkedAt.UTC()
	mark.RecordedAt = now()
	_, err := db.NewInsert().Model(&mark).
		On("CONFLICT (contract_no) DO UPDATE").
		Set("customer = EXCLUDED.customer").
		Set("account_name = EXCLUDED.account_name").
		Set("rep = EXCLUDED.rep").
		Set("source = EXCLUDED.source").
		Set("marked_at = EXCLUDED.marked_at").
		Set("recorded_at = EXCLUDED.recorded_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("replace signed mark of contract %s: %w", mark.ContractNo, err)
	}
	return nil
}

// SignedMarkOf returns the mark of a contract, or ErrNotFound.
func SignedMarkOf(ctx context.Context, db bun.IDB, contractNo string) (*SignedMark, error) {
	mark := new(SignedMark)
	err := db.NewSelect().Model(mark).Where("contract_no = ?", contractNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("signed mark of contract %s: %w", contractNo, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read signed mark of contract %s: %w", contractNo, err)
	}
	return mark, nil
}

// RepsMarkedBetween returns the different reps who marked the customer
// signed strictly after from and strictly before to, in name order.
func RepsMarkedBetween(ctx context.Context, db bun.IDB, customer string, from, to time.Time) ([]string, error) {
	var reps []string
	err := db.NewSelect().Model((*SignedMark)(nil)).
		Distinct().Column("rep").
		Where("customer = ?", customer).
		Where("marked_at > ?", from.UTC()).
		Where("marked_at < ?", to.UTC()).
		Order("rep").
		Scan(ctx, &reps)
	if err != nil {
		return nil, fmt.Errorf("read signed marks of customer %s: %w", customer, err)
	}
	return reps, nil
}
