package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// CustomerFreeze is a freeze of a customer's renewal approval, written by
// the ticket escalation while a feature request stays unanswered.
type CustomerFreeze struct {
	bun.BaseModel `bun:"table:customer_freezes"`

	Customer string     `bun:"customer"`
	Reason   string     `bun:"reason"`
	TicketID string     `bun:"ticket_id"`
	FrozenAt time.Time  `bun:"frozen_at"`
	LiftedAt *time.Time `bun:"lifted_at"`
}

// RenewalApprovalFreeze reports whether the renewal approval of customer
// (the account name) is frozen now, and why.
//
// TODO: the ticket work exports IsRenewalApprovalFrozen with the same
// signature over the same table; use it and delete this file once both
// are merged.
func RenewalApprovalFreeze(ctx context.Context, db bun.IDB, customer string) (bool, string, error) {
	var freezes []CustomerFreeze
	err := db.NewSelect().Model(&freezes).
		Where("customer = ?", customer).
		Where("lifted_at IS NULL").
		OrderExpr("frozen_at DESC").
		Limit(1).
		Scan(ctx)
	if err != nil {
		return false, "", fmt.Errorf("read renewal freezes of customer %q: %w", customer, err)
	}
	if len(freezes) == 0 {
		return false, "", nil
	}
	f := freezes[0]
	reason := f.Reason
	if f.TicketID != "" {
		reason = fmt.Sprintf("%s (ticket %s, frozen since %s)", f.Reason, f.TicketID, f.FrozenAt.UTC().Format(time.RFC3339))
	}
	return true, reason, nil
}
