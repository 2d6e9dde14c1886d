package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
)

// Actions of the allocation audit.
const (
	AllocationAssigned   = "assign"
	AllocationUnassigned = "unassign"
)

// AllocationAudit is one person's assignment or unassignment of a bank
// line to a contract.
type AllocationAudit struct {
	bun.BaseModel `bun:"table:allocation_audit"`

	ID         int64           `bun:"id,pk,autoincrement" json:"id"`
	LineID     string          `bun:"line_id" json:"line_id"`
	ContractNo string          `bun:"contract_no" json:"contract_no"`
	Amount     decimal.Decimal `bun:"amount" json:"amount"`
	Action     string          `bun:"action" json:"action"`
	By         string          `bun:"by_person" json:"by"`
	Reason     string          `bun:"reason" json:"reason,omitempty"`
	At         time.Time       `bun:"at" json:"at"`
}

// ErrAssignmentRejected means a bank line cannot be assigned to a contract,
// or its assignment cannot be taken back, in its current state. The wrapping error
// names the record, the field and what to do.
var ErrAssignmentRejected = errors.New("assignment rejected")

// ErrAllocationDelivered means an unassignment targets a payment that the
// contract's chain has received and counted already.
var ErrAllocationDelivered = errors.New("payment was delivered to the contract's chain")

// checkAssignable returns ErrAssignmentRejected, with the field at fault and
// what to do, when the contract cannot take the line's money.
func checkAssignable(line *BankLine, contract *Contract) error {
	switch contract.State {
	case ContractClosed, ContractCancelled:
		return fmt.Errorf("contract %s is %s (field state), so it takes no more money: assign bank line %s to an open contract of %s, or refund it: %w",
			contract.ContractNo, contract.State, line.LineID, line.PayerName, ErrAssignmentRejected)
	}
	// NOTE: a line without a currency is assigned unchecked, because a bank
	// that leaves the field out gives a person no other way to assign it.
	currency := strings.TrimSpace(line.Currency)
	if currency != "" && !strings.EqualFold(currency, strings.TrimSpace(contract.Currency)) {
		return fmt.Errorf("bank line %s is in %s (field currency) but contract %s is in %s: assign the line to a contract in %s, or refund it: %w",
			line.LineID, line.Currency, contract.ContractNo, contract.Currency, line.Currency, ErrAssignmentRejected)
	}
	return nil
}

func addAllocationAudit(ctx context.Context, db bun.IDB, allocation *Allocation, action, by, reason string) error {
	entry := &AllocationAudit{
		LineID: allocation.LineID, ContractNo: allocation.ContractNo, Amount: allocation.Amount,
		Action: action, By: by, Reason: reason, At: now(),
	}
	if _, err := db.NewInsert().Model(entry).Exec(ctx); err != nil {
		return fmt.Errorf("audit %s of bank line %s to %s by %s: %w", action, allocation.LineID, allocation.ContractNo, by, err)
	}
	return nil
}

// AllocationAuditOf returns the audit entries of a bank line, oldest first.
func AllocationAuditOf(ctx context.Context, db bun.IDB, lineID string) ([]AllocationAudit, error) {
	entries := []AllocationAudit{}
	if err := db.NewSelect().Model(&entries).Where("line_id = ?", lineID).Order("at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read allocation audit of bank line %s: %w", lineID, err)
	}
	return entries, nil
}

// AllocationExists reports whether the allocation is still stored, which
// it is not once a person unassigned its line.
func AllocationExists(ctx context.Context, db bun.IDB, id string) (bool, error) {
	exists, err := db.NewSelect().Model((*Allocation)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("read allocation %s: %w", id, err)
	}
	return exists, nil
}

// UnassignLine takes back every allocation of a matched bank line on a
// person's decision: it deletes the allocations, returns the line to
// unmatched, reopens its attention item and records the decision in the
// allocation audit. It returns the allocations it deleted.
//
// The chain of a contract counts an allocation as paid once it receives
// it, so a line with an allocation delivered to a chain is left unchanged
// and the call returns ErrAllocationDelivered.
func (s *Store) UnassignLine(ctx context.Context, lineID, by, reason string) ([]Allocation, error) {
	var allocations []Allocation
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		line, err := GetBankLine(ctx, tx, lineID)
		if err != nil {
			return err
		}
		if line.Status != LineMatched {
			return fmt.Errorf("bank line %s is %s (field status), not matched, so there is no assignment to take back: %w",
				lineID, line.Status, ErrAssignmentRejected)
		}
		if err := tx.NewSelect().Model(&allocations).Where("line_id = ?", lineID).Order("id").Scan(ctx); err != nil {
			return fmt.Errorf("read allocations of bank line %s: %w", lineID, err)
		}
		var contracts []string
		for _, a := range allocations {
			if a.DeliveredAt != nil {
				return fmt.Errorf("bank line %s was delivered to the chain of contract %s at %s, which counted it as paid, so it can no longer be unassigned: refund the customer or record the correction with finance: %w",
					lineID, a.ContractNo, a.DeliveredAt.UTC().Format(time.RFC3339), ErrAllocationDelivered)
			}
			contracts = append(contracts, a.ContractNo)
		}
		res, err := tx.NewDelete().Model((*Allocation)(nil)).Where("line_id = ? AND delivered_at IS NULL", lineID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete allocations of bank line %s: %w", lineID, err)
		}
		if n, _ := res.RowsAffected(); int(n) != len(allocations) {
			return fmt.Errorf("bank line %s was delivered to its contract's chain while it was being unassigned, so it stays assigned: run ordo receipt list to see its state: %w",
				lineID, ErrAllocationDelivered)
		}
		for i := range allocations {
			if err := addAllocationAudit(ctx, tx, &allocations[i], AllocationUnassigned, by, reason); err != nil {
				return err
			}
		}
		note := fmt.Sprintf("unassigned from %s by %s: %s", strings.Join(contracts, ", "), by, reason)
		if err := SetLineStatus(ctx, tx, lineID, LineUnmatched, decimal.Zero, note); err != nil {
			return err
		}
		return reopenUnmatchedLine(ctx, tx, line, note)
	})
	if err != nil {
		return nil, err
	}
	return allocations, nil
}

// reopenUnmatchedLine opens the line's unmatched-receipt attention item
// again, or adds one when the matcher had allocated the line.
func reopenUnmatchedLine(ctx context.Context, db bun.IDB, line *BankLine, note string) error {
	res, err := db.NewUpdate().Model((*AttentionItem)(nil)).
		Set("resolved_at = NULL").
		Set("resolved_by = ''").
		Set("resolution = ''").
		Where("kind = ? AND reference = ?", AttentionUnmatchedLine, line.LineID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("reopen attention item of bank line %s: %w", line.LineID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = AddAttention(ctx, db, &AttentionItem{
		Kind: AttentionUnmatchedLine, Reference: line.LineID,
		Message: fmt.Sprintf("bank line %s of %s from %s (remark %q) was %s. Assign it with: ordo receipt assign %s CONTRACT_NO",
			line.LineID, line.AmountText, line.PayerName, line.Remark, note, line.LineID),
		Amount: decimal.NullDecimal{Decimal: line.Amount, Valid: true},
	})
	return err
}
