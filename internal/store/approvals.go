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

// Approval kinds.
const (
	ApprovalDiscount    = "discount"
	ApprovalPriceChange = "price_change"
	ApprovalRenewal     = "renewal"
)

// Approval states. An approval is pending until the last level approves,
// a level rejects, or a level and its escalation both time out. Failed
// means the request could not be routed (no route in the rules, no
// approver for a role, no exchange rate), and Failure contains the reason.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalTimedOut = "timed_out"
	ApprovalFailed   = "failed"
)

// Decisions on an approval level.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// Approval is a discount, price-change or renewal request and the state
// of its approval route. The API inserts it; the workflow owns every
// later change.
type Approval struct {
	bun.BaseModel `bun:"table:approvals"`

	ID   string `bun:"id,pk" json:"id"`
	Kind string `bun:"kind" json:"kind"`
	// Customer is the account name; CustomerNo its number in the ERP.
	Customer    string `bun:"customer" json:"customer"`
	CustomerNo  string `bun:"customer_no" json:"customer_no"`
	ContractNo  string `bun:"contract_no" json:"contract_no,omitempty"`
	Product     string `bun:"product" json:"product,omitempty"`
	ProductNo   string `bun:"product_no" json:"product_no,omitempty"`
	RequestedBy string `bun:"requested_by" json:"requested_by"`
	// Amount is the request's value in Currency: the discount, the price
	// difference over the quantity, or the renewal's value.
	Amount   decimal.Decimal `bun:"amount" json:"amount"`
	Currency string          `bun:"currency" json:"currency"`
	// AmountInRuleCurrency is Amount converted into RuleCurrency, the
	// currency of the rules' thresholds, at ExchangeRate.
	AmountInRuleCurrency decimal.NullDecimal `bun:"amount_in_rule_currency" json:"amount_in_rule_currency"`
	RuleCurrency         string              `bun:"rule_currency" json:"rule_currency,omitempty"`
	ExchangeRate         decimal.NullDecimal `bun:"exchange_rate" json:"exchange_rate"`
	// NewUnitPrice is the requested tax-inclusive unit price of a price
	// change.
	NewUnitPrice decimal.NullDecimal `bun:"new_unit_price" json:"new_unit_price"`
	Reason       string              `bun:"reason" json:"reason"`
	// Route describes the chosen route, e.g. "up to 30000 CNY: supervisor".
	Route string `bun:"route" json:"route,omitempty"`
	State string `bun:"state" json:"state"`
	// CurrentLevel counts from 1; 0 before the route is chosen.
	CurrentLevel int    `bun:"current_level" json:"current_level"`
	LevelCount   int    `bun:"level_count" json:"level_count"`
	Approver     string `bun:"approver" json:"approver,omitempty"`
	// EscalatedTo is the person the current level escalated to after its
	// timeout, empty before.
	EscalatedTo   string     `bun:"escalated_to" json:"escalated_to,omitempty"`
	DueAt         *time.Time `bun:"due_at" json:"due_at,omitempty"`
	ERPDocumentNo string     `bun:"erp_document_no" json:"erp_document_no,omitempty"`
	// ERPError is the last failure to write an approved price change to the
	// ERP, empty once written.
	ERPError     string     `bun:"erp_error" json:"erp_error,omitempty"`
	Failure      string     `bun:"failure" json:"failure,omitempty"`
	RulesVersion int        `bun:"rules_version" json:"rules_version"`
	WorkflowID   string     `bun:"workflow_id" json:"workflow_id"`
	CreatedAt    time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `bun:"updated_at" json:"updated_at"`
	FinishedAt   *time.Time `bun:"finished_at" json:"finished_at,omitempty"`

	Decisions []ApprovalDecision `bun:"-" json:"decisions"`
}

// ApprovalDecision is one decision taken on an approval.
type ApprovalDecision struct {
	bun.BaseModel `bun:"table:approval_decisions"`

	ApprovalID string `bun:"approval_id,pk" json:"-"`
	// Seq numbers the approval's decisions from 1 in the order the
	// workflow took them, so a retried write stores each once.
	Seq       int       `bun:"seq,pk" json:"seq"`
	Level     int       `bun:"level" json:"level"`
	By        string    `bun:"decided_by" json:"by"`
	Decision  string    `bun:"decision" json:"decision"`
	Comment   string    `bun:"comment" json:"comment,omitempty"`
	DecidedAt time.Time `bun:"decided_at" json:"at"`
}

// InsertApproval inserts a new request. It returns false without changing
// anything when the ID exists already.
func InsertApproval(ctx context.Context, db bun.IDB, approval *Approval) (bool, error) {
	res, err := db.NewInsert().Model(approval).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert approval %s: %w", approval.ID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RecordApproval writes the workflow's view of an approval, inserting the
// row when the request did not come through the API. The request's own
// fields and created_at keep their first values, so a retried write
// leaves the same row.
func RecordApproval(ctx context.Context, db bun.IDB, approval *Approval) error {
	if approval.CreatedAt.IsZero() {
		approval.CreatedAt = now()
	}
	if approval.UpdatedAt.IsZero() {
		approval.UpdatedAt = now()
	}
	_, err := db.NewInsert().Model(approval).
		On("CONFLICT (id) DO UPDATE").
		Set("amount_in_rule_currency = EXCLUDED.amount_in_rule_currency").
		Set("rule_currency = EXCLUDED.rule_currency").
		Set("exchange_rate = EXCLUDED.exchange_rate").
		Set("route = EXCLUDED.route").
		Set("state = EXCLUDED.state").
		Set("current_level = EXCLUDED.current_level").
		Set("level_count = EXCLUDED.level_count").
		Set("approver = EXCLUDED.approver").
		Set("escalated_to = EXCLUDED.escalated_to").
		Set("due_at = EXCLUDED.due_at").
		Set("erp_document_no = EXCLUDED.erp_document_no").
		Set("erp_error = EXCLUDED.erp_error").
		Set("failure = EXCLUDED.failure").
		Set("rules_version = EXCLUDED.rules_version").
		Set("updated_at = EXCLUDED.updated_at").
		Set("finished_at = EXCLUDED.finished_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record approval %s: %w", approval.ID, err)
	}
	return nil
}

// RecordApprovalDecision stores a decision once; a decision with the same
// approval and sequence number is left as it is.
func RecordApprovalDecision(ctx context.Context, db bun.IDB, decision *ApprovalDecision) error {
	_, err := db.NewInsert().Model(decision).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("record decision %d of approval %s: %w", decision.Seq, decision.ApprovalID, err)
	}
	return nil
}

// GetApproval returns an approval with its decisions, or ErrNotFound.
func (s *Store) GetApproval(ctx context.Context, id string) (*Approval, error) {
	approval := new(Approval)
	err := s.DB.NewSelect().Model(approval).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("approval %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read approval %s: %w", id, err)
	}
	decisions, err := approvalDecisions(ctx, s.DB, []string{id})
	if err != nil {
		return nil, err
	}
	approval.Decisions = nonNilDecisions(decisions[id])
	return approval, nil
}

// ApprovalFilter selects approvals for listing.
type ApprovalFilter struct {
	State string
	// After is the last ID of the previous page.
	After string
	Limit int
}

// ListApprovals returns approvals ordered by ID, each with its decisions.
func (s *Store) ListApprovals(ctx context.Context, filter ApprovalFilter) ([]Approval, error) {
	var approvals []Approval
	q := s.DB.NewSelect().Model(&approvals)
	if filter.State != "" {
		q = q.Where("state = ?", filter.State)
	}
	q = keysetPage(q, "id", false, filter.After, filter.Limit)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	ids := make([]string, len(approvals))
	for i := range approvals {
		ids[i] = approvals[i].ID
	}
	decisions, err := approvalDecisions(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	for i := range approvals {
		approvals[i].Decisions = nonNilDecisions(decisions[approvals[i].ID])
	}
	return approvals, nil
}

func approvalDecisions(ctx context.Context, db bun.IDB, ids []string) (map[string][]ApprovalDecision, error) {
	byID := map[string][]ApprovalDecision{}
	if len(ids) == 0 {
		return byID, nil
	}
	var decisions []ApprovalDecision
	err := db.NewSelect().Model(&decisions).Where("approval_id IN (?)", bun.In(ids)).Order("approval_id", "seq").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read approval decisions: %w", err)
	}
	for _, d := range decisions {
		byID[d.ApprovalID] = append(byID[d.ApprovalID], d)
	}
	return byID, nil
}

func nonNilDecisions(decisions []ApprovalDecision) []ApprovalDecision {
	if decisions == nil {
		return []ApprovalDecision{}
	}
	return decisions
}

// RepManager returns the manager of a sales rep from the sales-team data,
// or ErrNotFound when no rep has that name. The manager is the rep's
// supervisor in approval routes and signing verifications.
func RepManager(ctx context.Context, db bun.IDB, rep string) (string, error) {
	var managers []string
	err := db.NewSelect().Model((*SalesAgent)(nil)).Column("manager").Where("name = ?", rep).Limit(1).Scan(ctx, &managers)
	if err != nil {
		return "", fmt.Errorf("read manager of sales rep %s: %w", rep, err)
	}
	if len(managers) == 0 {
		return "", fmt.Errorf("sales rep %q: %w", rep, ErrNotFound)
	}
	return managers[0], nil
}

// ProductByName returns a product of the catalogue, or ErrNotFound.
func (s *Store) ProductByName(ctx context.Context, name string) (*Product, error) {
	product := new(Product)
	err := s.DB.NewSelect().Model(product).Where("name = ?", name).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("product %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read product %q: %w", name, err)
	}
	return product, nil
}
