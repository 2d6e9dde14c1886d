package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Renewal states of a contract. A contract is recorded pending. The
// renewal planner moves it to none, expired, cancelled or scheduled, and
// the renewal workflow moves a scheduled one on from there.
const (
	// RenewalPending: recorded, not yet planned.
	RenewalPending = "pending"
	// RenewalNone: the contract has no end date and the rules give no
	// default term, so there is nothing to renew.
	RenewalNone = "none"
	// RenewalExpired: the end date had passed before ordo planned the
	// renewal, as for contracts imported years after they ended. No
	// workflow runs and no reminder is sent.
	RenewalExpired = "expired"
	// RenewalScheduled: a workflow waits for the reminder moment.
	RenewalScheduled = "scheduled"
	// RenewalReminded: the reminder fired and no action is reported yet.
	RenewalReminded = "reminded"
	// RenewalActed: someone acted on the reminder.
	RenewalActed = "acted"
	// RenewalEscalated: no action came within the act-within deadline,
	// so the reminder escalated.
	RenewalEscalated = "escalated"
	// RenewalRenewed: the contract was renewed. A renewal with a new end
	// date goes on to RenewalScheduled for the next term.
	RenewalRenewed = "renewed"
	// RenewalCancelled: the contract was cancelled.
	RenewalCancelled = "cancelled"
	// RenewalLapsed: the contract ended after its reminder without a
	// renewal.
	RenewalLapsed = "lapsed"
)

// RenewalChange records a step of a contract's renewal.
type RenewalChange struct {
	ContractNo string
	State      string
	// EndDate and RemindAt, when set, replace the stored values.
	EndDate  *time.Time
	RemindAt *time.Time
	// OnlyFrom, when not empty, applies the change only to a contract
	// whose renewal state is one of these, so that a planner never
	// overwrites what a workflow or a person recorded in between.
	OnlyFrom []string
}

// RecordRenewal stores a contract's renewal state. It returns false when
// OnlyFrom excluded the contract, and ErrNotFound when no contract has the
// number.
func RecordRenewal(ctx context.Context, db bun.IDB, change RenewalChange) (bool, error) {
	q := db.NewUpdate().Model((*Contract)(nil)).
		Set("renewal_state = ?", change.State).
		Set("updated_at = ?", now()).
		Where("contract_no = ?", change.ContractNo)
	if change.EndDate != nil {
		q = q.Set("end_date = ?", dateOnly(*change.EndDate))
	}
	if change.RemindAt != nil {
		q = q.Set("renewal_remind_at = ?", change.RemindAt.UTC())
	}
	if len(change.OnlyFrom) > 0 {
		q = q.Where("renewal_state IN (?)", bun.In(change.OnlyFrom))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record renewal state %s of contract %s: %w", change.State, change.ContractNo, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	if len(change.OnlyFrom) == 0 {
		return false, fmt.Errorf("record renewal state of contract %s: %w", change.ContractNo, ErrNotFound)
	}
	return false, nil
}

// SetContractEndDate stores a contract's end date, or returns
// ErrNotFound.
func SetContractEndDate(ctx context.Context, db bun.IDB, contractNo string, endDate time.Time) error {
	res, err := db.NewUpdate().Model((*Contract)(nil)).
		Set("end_date = ?", dateOnly(endDate)).
		Set("updated_at = ?", now()).
		Where("contract_no = ?", contractNo).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set end date of contract %s: %w", contractNo, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set end date of contract %s: %w", contractNo, ErrNotFound)
	}
	return nil
}

// PendingRenewals returns contracts whose renewal is not planned yet,
// oldest first.
func (s *Store) PendingRenewals(ctx context.Context, limit int) ([]Contract, error) {
	var contracts []Contract
	err := s.DB.NewSelect().Model(&contracts).
		Where("renewal_state = ?", RenewalPending).
		Order("created_at", "contract_no").
		Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list contracts with an unplanned renewal: %w", err)
	}
	return contracts, nil
}

// CountRenewalStates returns the number of contracts per renewal state.
func (s *Store) CountRenewalStates(ctx context.Context) ([]StateCount, error) {
	var counts []StateCount
	err := s.DB.NewSelect().Model((*Contract)(nil)).
		ColumnExpr("renewal_state AS state").ColumnExpr("COUNT(*) AS count").
		GroupExpr("renewal_state").OrderExpr("renewal_state").Scan(ctx, &counts)
	if err != nil {
		return nil, fmt.Errorf("count contracts by renewal state: %w", err)
	}
	return counts, nil
}

// dateOnly returns the calendar date of t as midnight UTC, the form in
// which both databases store a DATE.
func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
