package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
)

// ApprovalActivities are the side effects of the approval workflow.
type ApprovalActivities struct {
	Store *store.Store
	// ERP creates the customer a price list refers to; PriceLists writes
	// the approved price.
	ERP        connectors.ERP
	PriceLists connectors.PriceLists
	// CNYRate returns the CNY price of one unit of currency on day, as
	// config.Invoice.RateFor does.
	CNYRate func(currency string, day time.Time) (decimal.Decimal, error)
	// RenewalFrozen reports whether a customer's renewal approval is
	// frozen and why; nil uses store.IsRenewalApprovalFrozen.
	RenewalFrozen func(ctx context.Context, db bun.IDB, customer string) (bool, string, error)
	Logger        *logrus.Logger
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

func (a *ApprovalActivities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// PrepareApprovalInput is the request data that routing needs from
// outside the workflow.
type PrepareApprovalInput struct {
	ApprovalID string          `json:"approval_id"`
	Amount     decimal.Decimal `json:"amount"`
	Currency   string          `json:"currency"`
	// RuleCurrency is the currency of the rules' thresholds.
	RuleCurrency string `json:"rule_currency"`
	RequestedBy  string `json:"requested_by"`
}

// PrepareApprovalResult is the amount in the rules' currency and the
// requesting rep's supervisor.
type PrepareApprovalResult struct {
	AmountInRuleCurrency decimal.Decimal `json:"amount_in_rule_currency"`
	// ExchangeRate is the price of one unit of the request's currency in
	// the rule currency. It is rounded to 10 decimals for display, but the
	// amount is converted at full precision.
	ExchangeRate decimal.Decimal `json:"exchange_rate"`
	// RateDay is the day whose exchange rates were used.
	RateDay time.Time `json:"rate_day"`
	// Supervisor is the rep's manager in the sales-team data, empty when
	// the data names none.
	Supervisor string `json:"supervisor"`
}

// PrepareApproval converts the amount into the rule currency at the rates
// in force today and looks up the requesting rep's supervisor. Both
// results are recorded in the workflow's history, so the route stays the
// same after a replay even if rates or the sales team change.
func (a *ApprovalActivities) PrepareApproval(ctx context.Context, in PrepareApprovalInput) (PrepareApprovalResult, error) {
	day := a.now().Truncate(24 * time.Hour)
	result := PrepareApprovalResult{RateDay: day, AmountInRuleCurrency: in.Amount, ExchangeRate: decimal.NewFromInt(1)}
	if in.RuleCurrency != "" && in.RuleCurrency != in.Currency {
		if a.CNYRate == nil {
			return result, invalidInput("approval %s: no exchange rates are configured to convert %s into %s", in.ApprovalID, in.Currency, in.RuleCurrency)
		}
		from, err := a.CNYRate(in.Currency, day)
		if err != nil {
			return result, invalidInput("approval %s: convert %s into %s: %v", in.ApprovalID, in.Currency, in.RuleCurrency, err)
		}
		to, err := a.CNYRate(in.RuleCurrency, day)
		if err != nil {
			return result, invalidInput("approval %s: convert %s into %s: %v", in.ApprovalID, in.Currency, in.RuleCurrency, err)
		}
		result.AmountInRuleCurrency = in.Amount.Mul(from).Div(to).Round(2)
		result.ExchangeRate = from.Div(to).Round(10)
	}

	manager, err := store.RepManager(ctx, a.Store.DB, in.RequestedBy)
	if errors.Is(err, store.ErrNotFound) {
		return result, invalidInput("approval %s: requested_by %q is not a sales rep in the sales-team data, so the request has no supervisor: import the sales team or correct the name",
			in.ApprovalID, in.RequestedBy)
	}
	if err != nil {
		return result, err
	}
	result.Supervisor = manager
	return result, nil
}

// RecordApproval writes the workflow's view of an approval and every
// decision taken so far, in one transaction. Each part is an idempotent
// upsert, so a retried local activity leaves the same rows, and a later
// write repairs one that failed.
func (a *ApprovalActivities) RecordApproval(ctx context.Context, approval store.Approval) error {
	return a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.RecordApproval(ctx, tx, &approval); err != nil {
			return err
		}
		for i := range approval.Decisions {
			decision := approval.Decisions[i]
			decision.ApprovalID = approval.ID
			if err := store.RecordApprovalDecision(ctx, tx, &decision); err != nil {
				return err
			}
		}
		return nil
	})
}

// FreezeCheck names the customer whose renewal approval may be frozen.
type FreezeCheck struct {
	ApprovalID string `json:"approval_id"`
	Customer   string `json:"customer"`
}

// FreezeResult is whether the renewal approval is frozen, and the reason.
type FreezeResult struct {
	Frozen bool   `json:"frozen"`
	Reason string `json:"reason,omitempty"`
}

// CheckRenewalFreeze reads whether the customer's renewal approval is
// frozen now. The decide update runs it before it accepts an approval of
// a renewal, because an update validator must not read the database.
func (a *ApprovalActivities) CheckRenewalFreeze(ctx context.Context, in FreezeCheck) (FreezeResult, error) {
	frozen := a.RenewalFrozen
	if frozen == nil {
		frozen = store.IsRenewalApprovalFrozen
	}
	isFrozen, reason, err := frozen(ctx, a.Store.DB, in.Customer)
	if err != nil {
		return FreezeResult{}, fmt.Errorf("approval %s: %w", in.ApprovalID, err)
	}
	return FreezeResult{Frozen: isFrozen, Reason: reason}, nil
}

// PriceChangeInput is an approved price change to write to the ERP.
type PriceChangeInput struct {
	Customer connectors.Customer    `json:"customer"`
	Change   connectors.PriceChange `json:"change"`
}

// WritePriceChange makes sure the customer exists in the ERP and writes
// the price list entry under the change's number, so a retry after a lost
// reply finds the entry instead of writing a second one.
func (a *ApprovalActivities) WritePriceChange(ctx context.Context, in PriceChangeInput) (connectors.Document, error) {
	id := in.Change.ApprovalID
	if a.PriceLists == nil {
		return connectors.Document{}, invalidInput("approval %s: the configured ERP connector cannot write price lists", id)
	}
	if _, err := a.ERP.UpsertCustomer(ctx, in.Customer); err != nil {
		a.logFailure(id, "upsert customer", err)
		return connectors.Document{}, classify(fmt.Sprintf("approval %s: customer %s", id, in.Customer.Number), err)
	}
	doc, err := a.PriceLists.EnsurePriceChange(ctx, in.Change)
	if err != nil {
		a.logFailure(id, "price list", err)
		return connectors.Document{}, classify(fmt.Sprintf("approval %s: price list %s", id, in.Change.Number), err)
	}
	return doc, nil
}

func (a *ApprovalActivities) logFailure(approvalID, step string, err error) {
	if a.Logger == nil {
		return
	}
	a.Logger.WithFields(logrus.Fields{
		logging.KeyApprovalID: approvalID,
		logging.KeyStep:       step,
		logging.KeyError:      err,
	}).Warn("ERP write of an approved price change failed")
}
