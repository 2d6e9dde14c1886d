package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
)

// InsertContract inserts a contract and its payment plan. It returns
// false without changing anything when the contract number or the
// opportunity id exists already. Pass a transaction to make both one write.
func InsertContract(ctx context.Context, db bun.IDB, contract *Contract, plan []PaymentInstalment) (bool, error) {
	res, err := db.NewInsert().Model(contract).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert contract %s: %w", contract.ContractNo, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if len(plan) > 0 {
		if _, err := db.NewInsert().Model(&plan).Exec(ctx); err != nil {
			return false, fmt.Errorf("insert payment plan of %s: %w", contract.ContractNo, err)
		}
	}
	return true, nil
}

// CreateContract inserts a contract and its payment plan in one
// transaction; see InsertContract.
func (s *Store) CreateContract(ctx context.Context, contract *Contract, plan []PaymentInstalment) (bool, error) {
	created := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		created, err = InsertContract(ctx, tx, contract, plan)
		return err
	})
	return created, err
}

// GetContract returns the contract or ErrNotFound.
func (s *Store) GetContract(ctx context.Context, contractNo string) (*Contract, error) {
	contract := new(Contract)
	err := s.DB.NewSelect().Model(contract).Where("contract_no = ?", contractNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contract %s: %w", contractNo, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read contract %s: %w", contractNo, err)
	}
	return contract, nil
}

// ContractFilter selects contracts for listing.
type ContractFilter struct {
	State string
	// After is the last contract number of the previous page.
	After string
	Limit int
}

// ListContracts returns contracts ordered by number.
func (s *Store) ListContracts(ctx context.Context, filter ContractFilter) ([]Contract, error) {
	var contracts []Contract
	q := s.DB.NewSelect().Model(&contracts)
	if filter.State != "" {
		q = q.Where("state = ?", filter.State)
	}
	q = keysetPage(q, "contract_no", false, filter.After, filter.Limit)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list contracts: %w", err)
	}
	return contracts, nil
}

// StateCount is the number of contracts in one state.
type StateCount struct {
	State string `bun:"state" json:"state"`
	Count int    `bun:"count" json:"count"`
}

// CountContractsByState returns the number of contracts per state.
func (s *Store) CountContractsByState(ctx context.Context) ([]StateCount, error) {
	var counts []StateCount
	err := s.DB.NewSelect().Model((*Contract)(nil)).
		Column("state").ColumnExpr("COUNT(*) AS count").
		Group("state").Order("state").Scan(ctx, &counts)
	if err != nil {
		return nil, fmt.Errorf("count contracts by state: %w", err)
	}
	return counts, nil
}

// ContractSteps returns the recorded steps of a contract in chain order.
func (s *Store) ContractSteps(ctx context.Context, contractNo string) ([]ContractStep, error) {
	var steps []ContractStep
	err := s.DB.NewSelect().Model(&steps).Where("contract_no = ?", contractNo).Order("seq", "step").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read steps of %s: %w", contractNo, err)
	}
	return steps, nil
}

// Instalments returns the payment plan of a contract.
func (s *Store) Instalments(ctx context.Context, contractNo string) ([]PaymentInstalment, error) {
	var plan []PaymentInstalment
	err := s.DB.NewSelect().Model(&plan).Where("contract_no = ?", contractNo).Order("seq").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read payment plan of %s: %w", contractNo, err)
	}
	return plan, nil
}

// ContractAllocations returns the bank allocations made to a contract.
func (s *Store) ContractAllocations(ctx context.Context, contractNo string) ([]Allocation, error) {
	var allocations []Allocation
	err := s.DB.NewSelect().Model(&allocations).Where("contract_no = ?", contractNo).Order("created_at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read allocations of %s: %w", contractNo, err)
	}
	return allocations, nil
}

// RecordStep upserts the progress of one step. Attempts only grow and a
// finished step keeps its first finish time, so a replayed activity that
// records the same step twice leaves the same row.
func RecordStep(ctx context.Context, db bun.IDB, step *ContractStep) error {
	step.UpdatedAt = now()
	_, err := db.NewInsert().Model(step).
		On("CONFLICT (contract_no, step) DO UPDATE").
		Set("seq = EXCLUDED.seq").
		Set("state = EXCLUDED.state").
		Set("external_no = CASE WHEN EXCLUDED.external_no <> '' THEN EXCLUDED.external_no ELSE ?TableAlias.external_no END").
		Set("external_id = CASE WHEN EXCLUDED.external_id <> '' THEN EXCLUDED.external_id ELSE ?TableAlias.external_id END").
		Set("amount = COALESCE(EXCLUDED.amount, ?TableAlias.amount)").
		Set("attempts = CASE WHEN EXCLUDED.attempts > ?TableAlias.attempts THEN EXCLUDED.attempts ELSE ?TableAlias.attempts END").
		Set("detail = EXCLUDED.detail").
		Set("started_at = COALESCE(?TableAlias.started_at, EXCLUDED.started_at)").
		Set("finished_at = COALESCE(?TableAlias.finished_at, EXCLUDED.finished_at)").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record step %s of %s: %w", step.Step, step.ContractNo, err)
	}
	return nil
}

// RecordStep upserts the progress of one step.
func (s *Store) RecordStep(ctx context.Context, step *ContractStep) error {
	return RecordStep(ctx, s.DB, step)
}

// StateChange moves a contract to a new state.
type StateChange struct {
	ContractNo string
	State      string
	Reason     string
	// PaidAmount, when set, replaces the contract's paid amount.
	PaidAmount *decimal.Decimal
	// At is when the workflow made the change.
	At time.Time
}

// SetContractState records a contract's state. It sets closed_at when the
// state is closed or cancelled.
func SetContractState(ctx context.Context, db bun.IDB, change StateChange) error {
	q := db.NewUpdate().Model((*Contract)(nil)).
		Set("state = ?", change.State).
		Set("state_reason = ?", change.Reason).
		Set("updated_at = ?", now()).
		Where("contract_no = ?", change.ContractNo)
	if change.PaidAmount != nil {
		q = q.Set("paid_amount = ?", *change.PaidAmount)
	}
	if change.State == ContractClosed || change.State == ContractCancelled {
		q = q.Set("closed_at = COALESCE(closed_at, ?)", change.At.UTC())
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("set state of %s to %s: %w", change.ContractNo, change.State, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set state of %s: %w", change.ContractNo, ErrNotFound)
	}
	return nil
}

// SetContractState records a contract's state.
func (s *Store) SetContractState(ctx context.Context, change StateChange) error {
	return SetContractState(ctx, s.DB, change)
}

// RecordInstalmentPayment sets how much of an instalment has been paid.
func RecordInstalmentPayment(ctx context.Context, db bun.IDB, contractNo string, seq int, paid decimal.Decimal, paidAt *time.Time) error {
	_, err := db.NewUpdate().Model((*PaymentInstalment)(nil)).
		Set("paid_amount = ?", paid).
		Set("paid_at = ?", paidAt).
		Where("contract_no = ? AND seq = ?", contractNo, seq).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record payment of instalment %d of %s: %w", seq, contractNo, err)
	}
	return nil
}

// UnstartedContracts returns contracts whose workflow has not been
// started, oldest first.
func (s *Store) UnstartedContracts(ctx context.Context, limit int) ([]Contract, error) {
	var contracts []Contract
	err := s.DB.NewSelect().Model(&contracts).
		Where("workflow_started_at IS NULL").
		Order("created_at", "contract_no").
		Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list contracts without a workflow: %w", err)
	}
	return contracts, nil
}

// MarkWorkflowsStarted records that the workflows of the contracts run.
func (s *Store) MarkWorkflowsStarted(ctx context.Context, contractNos []string, at time.Time) error {
	if len(contractNos) == 0 {
		return nil
	}
	_, err := s.DB.NewUpdate().Model((*Contract)(nil)).
		Set("workflow_started_at = ?", at.UTC()).
		Where("contract_no IN (?)", bun.In(contractNos)).
		Where("workflow_started_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark %d workflows started: %w", len(contractNos), err)
	}
	return nil
}

// SetInvoiceTaxRate records the VAT rate of the contract's invoice.
func SetInvoiceTaxRate(ctx context.Context, db bun.IDB, contractNo string, rate decimal.Decimal) error {
	_, err := db.NewUpdate().Model((*Contract)(nil)).
		Set("invoice_tax_rate = ?", rate).
		Where("contract_no = ?", contractNo).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record invoice tax rate of %s: %w", contractNo, err)
	}
	return nil
}

// AddAttention records an item for a person. An item with the same kind
// and reference is recorded once; it returns false for a repeat.
func AddAttention(ctx context.Context, db bun.IDB, item *AttentionItem) (bool, error) {
	if item.CreatedAt.IsZero() {
		item.CreatedAt = now()
	}
	res, err := db.NewInsert().Model(item).On("CONFLICT (kind, reference) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record %s %s for attention: %w", item.Kind, item.Reference, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ResolveAttention closes open items of a kind and reference.
func ResolveAttention(ctx context.Context, db bun.IDB, kind, reference, by, resolution string) error {
	_, err := db.NewUpdate().Model((*AttentionItem)(nil)).
		Set("resolved_at = ?", now()).
		Set("resolved_by = ?", by).
		Set("resolution = ?", resolution).
		Where("kind = ? AND reference = ? AND resolved_at IS NULL", kind, reference).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("resolve %s %s: %w", kind, reference, err)
	}
	return nil
}

// AttentionFilter selects attention items.
type AttentionFilter struct {
	OpenOnly   bool
	Kind       string
	ContractNo string
	// After is the last item id of the previous page. Items run newest
	// first, so the next page holds the items with lower ids.
	After int64
	// Limit is 1 to 1000, and other values mean 100.
	Limit int
}

// ListAttention returns attention items, newest first.
func (s *Store) ListAttention(ctx context.Context, filter AttentionFilter) ([]AttentionItem, error) {
	var items []AttentionItem
	q := keysetPage(s.DB.NewSelect().Model(&items).Apply(filter.where), "id", true, max(filter.After, 0), filter.Limit)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list attention items: %w", err)
	}
	return items, nil
}

// CountAttention returns the number of attention items that the filter
// selects past filter.After, ignoring filter.Limit. After a page, pass the
// page's last id as After to learn how many items remain.
func (s *Store) CountAttention(ctx context.Context, filter AttentionFilter) (int64, error) {
	n, err := s.DB.NewSelect().Model((*AttentionItem)(nil)).Apply(filter.where).
		Apply(keysetFrom("id", true, max(filter.After, 0))).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count attention items: %w", err)
	}
	return n, nil
}

func (filter AttentionFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	if filter.OpenOnly {
		q = q.Where("resolved_at IS NULL")
	}
	if filter.Kind != "" {
		q = q.Where("kind = ?", filter.Kind)
	}
	if filter.ContractNo != "" {
		q = q.Where("contract_no = ?", filter.ContractNo)
	}
	return q
}

// GetCursor returns the stored cursor value, "" if none.
func (s *Store) GetCursor(ctx context.Context, name string) (string, error) {
	var cursor Cursor
	err := s.DB.NewSelect().Model(&cursor).Where("name = ?", name).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cursor %s: %w", name, err)
	}
	return cursor.Value, nil
}

// SetCursor stores a cursor value.
func SetCursor(ctx context.Context, db bun.IDB, name, value string) error {
	cursor := &Cursor{Name: name, Value: value, UpdatedAt: now()}
	_, err := db.NewInsert().Model(cursor).
		On("CONFLICT (name) DO UPDATE").
		Set("value = EXCLUDED.value").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store cursor %s: %w", name, err)
	}
	return nil
}

// RecordWebhookEvent stores an accepted event id. It returns false when
// the id was seen before, which means the event is a replay.
func RecordWebhookEvent(ctx context.Context, db bun.IDB, event *WebhookEvent) (bool, error) {
	res, err := db.NewInsert().Model(event).On("CONFLICT (event_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record event %s: %w", event.EventID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AccountsByName returns the accounts with the given names, keyed by name.
func (s *Store) AccountsByName(ctx context.Context, names []string) (map[string]*Account, error) {
	result := make(map[string]*Account, len(names))
	if len(names) == 0 {
		return result, nil
	}
	var accounts []Account
	if err := s.DB.NewSelect().Model(&accounts).Where("name IN (?)", bun.In(names)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read %d accounts: %w", len(names), err)
	}
	for i := range accounts {
		result[accounts[i].Name] = &accounts[i]
	}
	return result, nil
}

// CountOpenAttention returns the number of unresolved attention items.
func (s *Store) CountOpenAttention(ctx context.Context) (int, error) {
	n, err := s.DB.NewSelect().Model((*AttentionItem)(nil)).Where("resolved_at IS NULL").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count open attention items: %w", err)
	}
	return int(n), nil
}
