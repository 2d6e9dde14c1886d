package workflows

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/rules"
)

// ApprovalName is the registered workflow type name of Approval.
const ApprovalName = "Approval"

// Update, query and signal names of the approval workflow.
const (
	// UpdateDecide carries a DecideRequest and returns a DecideResult.
	UpdateDecide = "decide"
	// QueryApprovalStatus returns an ApprovalStatus.
	QueryApprovalStatus = "status"
	// SignalRetryERP requests another ERP write of an approved price
	// change whose write failed, once the cause is fixed.
	SignalRetryERP = "retry-erp"
)

// Application error types of rejected decisions, which the API maps to
// HTTP statuses. activities.ErrTypeConflict (decided already, ended) and
// activities.ErrTypeInput (unknown decision) complete the set.
const (
	// ErrTypeNotAllowed: the decider is not an approver of the current
	// level.
	ErrTypeNotAllowed = "ordo.not_allowed"
	// ErrTypeFrozen: a renewal approval was approved while the customer's
	// renewal approval is frozen.
	ErrTypeFrozen = "ordo.frozen"
)

// DefaultApprovalTemplate names the task template of an approval request
// when the rules name none.
const DefaultApprovalTemplate = "approval_request"

// ApprovalInput is a discount, price-change or renewal request, fixed
// when its workflow starts.
type ApprovalInput struct {
	ID string `json:"id"`
	// Kind is store.ApprovalDiscount, ApprovalPriceChange or ApprovalRenewal.
	Kind string `json:"kind"`
	// Customer is the account name, CustomerNo its ERP number.
	Customer    string `json:"customer"`
	CustomerNo  string `json:"customer_no"`
	ContractNo  string `json:"contract_no,omitempty"`
	Product     string `json:"product,omitempty"`
	ProductNo   string `json:"product_no,omitempty"`
	RequestedBy string `json:"requested_by"`
	// Amount is the value the thresholds compare, in Currency.
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
	// NewUnitPrice is the requested tax-inclusive unit price of a price
	// change, in Currency.
	NewUnitPrice *decimal.Decimal `json:"new_unit_price,omitempty"`
	Reason       string           `json:"reason"`
	// RulesVersion is the rules version to route by; 0 takes the newest
	// when the workflow starts.
	RulesVersion int             `json:"rules_version"`
	Options      ApprovalOptions `json:"options"`
}

// ApprovalOptions time the calls to outside systems.
type ApprovalOptions struct {
	ActivityTimeout  time.Duration `json:"activity_timeout"`
	RetryMaxAttempts int32         `json:"retry_max_attempts"`
	RetryMaxInterval time.Duration `json:"retry_max_interval"`
}

// DecideRequest is the argument of UpdateDecide.
type DecideRequest struct {
	// Decision is store.DecisionApprove or store.DecisionReject.
	Decision string `json:"decision"`
	By       string `json:"by"`
	Comment  string `json:"comment,omitempty"`
}

// DecideResult is the outcome of an accepted decision.
type DecideResult struct {
	ApprovalID string `json:"approval_id"`
	Level      int    `json:"level"`
	Decision   string `json:"decision"`
	By         string `json:"by"`
	// State is the approval's state after the decision: pending when a
	// further level must approve.
	State string `json:"state"`
	// NextLevel and NextApprover name the level that decides next.
	NextLevel    int    `json:"next_level,omitempty"`
	NextApprover string `json:"next_approver,omitempty"`
}

// RetryERPSignal is the payload of SignalRetryERP.
type RetryERPSignal struct {
	By string `json:"by"`
}

// ApprovalRoute is the route chosen for a request.
type ApprovalRoute struct {
	// Index is the route's position in the rules, from 0.
	Index       int              `json:"index"`
	UpTo        *decimal.Decimal `json:"up_to,omitempty"`
	Levels      []rules.Level    `json:"levels"`
	Description string           `json:"description"`
}

// ApprovalDecision is a decision as the workflow recorded it.
type ApprovalDecision struct {
	Seq      int       `json:"seq"`
	Level    int       `json:"level"`
	By       string    `json:"by"`
	Decision string    `json:"decision"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
}

// ApprovalStatus is the result of QueryApprovalStatus and of the
// workflow.
type ApprovalStatus struct {
	ID                   string          `json:"id"`
	Kind                 string          `json:"kind"`
	State                string          `json:"state"`
	RulesVersion         int             `json:"rules_version"`
	RuleCurrency         string          `json:"rule_currency"`
	AmountInRuleCurrency decimal.Decimal `json:"amount_in_rule_currency"`
	ExchangeRate         decimal.Decimal `json:"exchange_rate"`
	Route                *ApprovalRoute  `json:"route,omitempty"`
	// Level is the current level from 1; 0 before routing.
	Level int `json:"level"`
	// Approver decides the current level; EscalatedTo may decide it too
	// once the level's timeout passed.
	Approver    string     `json:"approver,omitempty"`
	EscalatedTo string     `json:"escalated_to,omitempty"`
	DueAt       *time.Time `json:"due_at,omitempty"`
	// Deciders are the people whose decision the current level accepts.
	Deciders    []string             `json:"deciders"`
	Decisions   []ApprovalDecision   `json:"decisions"`
	ERPDocument *connectors.Document `json:"erp_document,omitempty"`
	ERPError    string               `json:"erp_error,omitempty"`
	Failure     string               `json:"failure,omitempty"`
}
