package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
)

// InsertNewBankLines inserts the lines whose id is not stored yet and
// returns them. Banks resend lines, so a known id is skipped silently.
func InsertNewBankLines(ctx context.Context, db bun.IDB, lines []BankLine) ([]BankLine, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(lines))
	for _, l := range lines {
		ids = append(ids, l.LineID)
	}
	var known []string
	if err := db.NewSelect().Model((*BankLine)(nil)).Column("line_id").
		Where("line_id IN (?)", bun.In(ids)).Scan(ctx, &known); err != nil {
		return nil, fmt.Errorf("look up known bank lines: %w", err)
	}
	seen := make(map[string]bool, len(known)+len(lines))
	for _, id := range known {
		seen[id] = true
	}
	fresh := make([]BankLine, 0, len(lines))
	for _, l := range lines {
		if seen[l.LineID] {
			continue
		}
		seen[l.LineID] = true
		fresh = append(fresh, l)
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	if _, err := db.NewInsert().Model(&fresh).Exec(ctx); err != nil {
		return nil, fmt.Errorf("insert %d bank lines: %w", len(fresh), err)
	}
	return fresh, nil
}

// OpenBalance is a contract that can still receive money, with what was
// allocated to it so far.
type OpenBalance struct {
	ContractNo  string            `bun:"contract_no"`
	AccountName string            `bun:"account_name"`
	SignedOn    time.Time         `bun:"signed_on"`
	Amount      decimal.Decimal   `bun:"amount"`
	Allocated   decimal.Decimal   `bun:"allocated"`
	Instalments []decimal.Decimal `bun:"-"`
}

// OpenBalances returns the contracts that are neither closed nor
// cancelled and either belong to one of the payers or carry one of the
// numbers, with their allocations and payment plan. Payers are compared
// without regard to case and surrounding spaces. Matching reads only the
// contracts its lines can concern, so its cost follows the lines, not the
// number of open contracts.
func OpenBalances(ctx context.Context, db bun.IDB, payers, numbers []string) ([]OpenBalance, error) {
	if len(payers) == 0 && len(numbers) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(payers))
	for _, p := range payers {
		keys = append(keys, strings.ToLower(strings.TrimSpace(p)))
	}
	q := db.NewSelect().Model((*Contract)(nil)).
		Column("contract_no", "account_name", "signed_on", "amount").
		Where("state NOT IN (?, ?)", ContractClosed, ContractCancelled).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(keys) > 0 {
				q = q.WhereOr("lower(trim(account_name)) IN (?)", bun.In(keys))
			}
			if len(numbers) > 0 {
				q = q.WhereOr("contract_no IN (?)", bun.In(numbers))
			}
			return q
		}).
		Order("signed_on", "contract_no")
	var balances []OpenBalance
	if err := q.Scan(ctx, &balances); err != nil {
		return nil, fmt.Errorf("read open balances: %w", err)
	}
	if len(balances) == 0 {
		return nil, nil
	}
	index := make(map[string]int, len(balances))
	contractNos := make([]string, len(balances))
	for i := range balances {
		balances[i].Allocated = decimal.Zero
		index[balances[i].ContractNo] = i
		contractNos[i] = balances[i].ContractNo
	}
	// Sums are taken in Go: SQLite's SUM over TEXT amounts would add
	// binary floats.
	var allocated []Allocation
	if err := db.NewSelect().Model(&allocated).Column("contract_no", "amount").
		Where("contract_no IN (?)", bun.In(contractNos)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read allocations of open contracts: %w", err)
	}
	for _, a := range allocated {
		if i, ok := index[a.ContractNo]; ok {
			balances[i].Allocated = balances[i].Allocated.Add(a.Amount)
		}
	}
	var plan []PaymentInstalment
	if err := db.NewSelect().Model(&plan).Column("contract_no", "seq", "amount").
		Where("contract_no IN (?)", bun.In(contractNos)).Order("contract_no", "seq").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read payment plans: %w", err)
	}
	for _, p := range plan {
		if i, ok := index[p.ContractNo]; ok {
			balances[i].Instalments = append(balances[i].Instalments, p.Amount)
		}
	}
	return balances, nil
}

// InsertAllocations stores allocations; one that exists already is kept.
func InsertAllocations(ctx context.Context, db bun.IDB, allocations []Allocation) error {
	if len(allocations) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&allocations).On("CONFLICT (id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("insert %d allocations: %w", len(allocations), err)
	}
	return nil
}

// SetLineStatus records the matching outcome of a line.
func SetLineStatus(ctx context.Context, db bun.IDB, lineID, status string, allocated decimal.Decimal, note string) error {
	_, err := db.NewUpdate().Model((*BankLine)(nil)).
		Set("status = ?", status).
		Set("allocated_amount = ?", allocated).
		Set("note = ?", note).
		Set("updated_at = ?", now()).
		Where("line_id = ?", lineID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set status of bank line %s: %w", lineID, err)
	}
	return nil
}

// UndeliveredAllocations returns allocations not yet signalled to their
// contract's workflow, oldest first.
func (s *Store) UndeliveredAllocations(ctx context.Context, limit int) ([]Allocation, error) {
	var allocations []Allocation
	err := s.DB.NewSelect().Model(&allocations).
		Where("delivered_at IS NULL").
		Order("created_at", "id").
		Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list undelivered allocations: %w", err)
	}
	return allocations, nil
}

// MarkAllocationDelivered records that the workflow received the allocation.
func (s *Store) MarkAllocationDelivered(ctx context.Context, id string, at time.Time) error {
	_, err := s.DB.NewUpdate().Model((*Allocation)(nil)).
		Set("delivered_at = ?", at.UTC()).
		Where("id = ? AND delivered_at IS NULL", id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark allocation %s delivered: %w", id, err)
	}
	return nil
}

// GetBankLine returns a stored bank line or ErrNotFound.
func GetBankLine(ctx context.Context, db bun.IDB, lineID string) (*BankLine, error) {
	line := new(BankLine)
	err := db.NewSelect().Model(line).Where("line_id = ?", lineID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("bank line %s: %w", lineID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read bank line %s: %w", lineID, err)
	}
	return line, nil
}

// BankLineFilter selects bank lines for listing.
type BankLineFilter struct {
	Status string
	Limit  int
}

// ListBankLines returns bank lines, newest first.
func (s *Store) ListBankLines(ctx context.Context, filter BankLineFilter) ([]BankLine, error) {
	var lines []BankLine
	q := s.DB.NewSelect().Model(&lines).OrderExpr("fetched_at DESC, line_id DESC")
	if filter.Status != "" {
		q = q.Where("status = ?", filter.Status)
	}
	if err := q.Limit(int64(PageLimit(filter.Limit))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list bank lines: %w", err)
	}
	return lines, nil
}

// ErrLineNotAssignable means a manual assignment targets a line that is not
// waiting for one.
var ErrLineNotAssignable = errors.New("bank line is not unmatched")

// AssignLine allocates an unmatched line to a contract on a person's
// decision, records the decision in the allocation audit and closes the
// line's attention item. It returns ErrAssignmentRejected for a closed or
// cancelled contract and for a contract in another currency than the line.
func (s *Store) AssignLine(ctx context.Context, lineID, contractNo, by string) (*Allocation, error) {
	var allocation *Allocation
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		line, err := GetBankLine(ctx, tx, lineID)
		if err != nil {
			return err
		}
		if line.Status != LineUnmatched {
			return fmt.Errorf("assign bank line %s (status %s): %w", lineID, line.Status, ErrLineNotAssignable)
		}
		contract := new(Contract)
		if err := tx.NewSelect().Model(contract).Where("contract_no = ?", contractNo).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("contract %s: %w", contractNo, ErrNotFound)
			}
			return fmt.Errorf("read contract %s: %w", contractNo, err)
		}
		if err := checkAssignable(line, contract); err != nil {
			return err
		}
		allocation = &Allocation{
			ID: lineID + "/" + contractNo, LineID: lineID, ContractNo: contractNo,
			Amount: line.Amount, Method: MatchManual, CreatedBy: by, CreatedAt: now(),
		}
		if err := InsertAllocations(ctx, tx, []Allocation{*allocation}); err != nil {
			return err
		}
		if err := SetLineStatus(ctx, tx, lineID, LineMatched, line.Amount, "assigned to "+contractNo+" by "+by); err != nil {
			return err
		}
		if err := addAllocationAudit(ctx, tx, allocation, AllocationAssigned, by, ""); err != nil {
			return err
		}
		return ResolveAttention(ctx, tx, AttentionUnmatchedLine, lineID, by, "assigned to "+contractNo)
	})
	if err != nil {
		return nil, err
	}
	return allocation, nil
}

// ContractsByNumber returns the contracts with the given numbers; unknown
// numbers are skipped.
func ContractsByNumber(ctx context.Context, db bun.IDB, numbers []string) ([]Contract, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	var contracts []Contract
	if err := db.NewSelect().Model(&contracts).Where("contract_no IN (?)", bun.In(numbers)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read %d contracts named in remarks: %w", len(numbers), err)
	}
	return contracts, nil
}
