// Package contracts builds the contract record and payment plan of a won
// deal under the rules in force: dated VAT rates, product tax codes and the
// default payment plan. The CRM import and the contract-signed event both
// use it, so a contract looks the same whichever way it arrived.
package contracts

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/money"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// Deal is what a won deal contributes to its contract.
type Deal struct {
	// ContractNo defaults to numbering.ContractNo(OpportunityID).
	ContractNo    string
	OpportunityID string
	AccountName   string
	ProductName   string
	SalesAgent    string
	// Quantity defaults to 1.
	Quantity decimal.Decimal
	// Amount is the tax-inclusive contract total.
	Amount   decimal.Decimal
	Currency string
	SignedOn time.Time
	// EndDate is the last day of the contract term, if the sender gives
	// one. Nil leaves it to the renewal planner.
	EndDate *time.Time
	Source  string
}

// Rules are the configuration parts a contract depends on.
type Rules struct {
	Tax  config.Tax
	Plan []config.Instalment
	// ExchangeRates must cover the contract's currency unless it is CNY,
	// because every VAT invoice is issued in CNY.
	ExchangeRates []config.ExchangeRate
}

// CheckCurrency rejects a currency a chain could not invoice: one that is
// not three capital letters, or one other than CNY without an exchange rate.
func (r Rules) CheckCurrency(currency string) error {
	if !currencyPattern.MatchString(currency) {
		return &FieldError{Field: "currency", Message: fmt.Sprintf("%q is not an ISO 4217 code of three capital letters such as CNY", currency)}
	}
	if currency == "CNY" {
		return nil
	}
	known := []string{"CNY"}
	for _, rate := range r.ExchangeRates {
		if rate.Currency == currency {
			return nil
		}
		if !slices.Contains(known, rate.Currency) {
			known = append(known, rate.Currency)
		}
	}
	return &FieldError{Field: "currency", Message: fmt.Sprintf(
		"%q has no exchange rate under invoice.exchange_rates, so its invoice could not be issued in CNY: use one of %s, or add a rate",
		currency, strings.Join(known, ", "))}
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// FieldError names the deal field that prevents a contract.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Build returns the contract in state signed with its payment plan, or a
// *FieldError naming the field to fix.
func Build(deal Deal, rules Rules, now time.Time) (*store.Contract, []store.PaymentInstalment, error) {
	if strings.TrimSpace(deal.AccountName) == "" {
		return nil, nil, &FieldError{Field: "account", Message: "is required"}
	}
	if strings.TrimSpace(deal.ProductName) == "" {
		return nil, nil, &FieldError{Field: "product", Message: "is required"}
	}
	if !deal.Amount.IsPositive() {
		return nil, nil, &FieldError{Field: "amount", Message: fmt.Sprintf("%s is not above 0", deal.Amount)}
	}
	if deal.Amount.Exponent() < -money.Scale && !deal.Amount.Equal(deal.Amount.Round(money.Scale)) {
		return nil, nil, &FieldError{Field: "amount", Message: fmt.Sprintf("%s has more than %d decimal places", deal.Amount, money.Scale)}
	}
	if deal.SignedOn.IsZero() {
		return nil, nil, &FieldError{Field: "signed_on", Message: "is required"}
	}
	if deal.EndDate != nil && deal.EndDate.Before(deal.SignedOn) {
		return nil, nil, &FieldError{Field: "end_date", Message: fmt.Sprintf("%s is before signed_on %s",
			deal.EndDate.Format(time.DateOnly), deal.SignedOn.Format(time.DateOnly))}
	}
	if err := rules.CheckCurrency(deal.Currency); err != nil {
		return nil, nil, err
	}
	quantity := deal.Quantity
	if quantity.IsZero() {
		quantity = decimal.NewFromInt(1)
	}
	if quantity.IsNegative() {
		return nil, nil, &FieldError{Field: "quantity", Message: fmt.Sprintf("%s is negative", quantity)}
	}
	contractNo := deal.ContractNo
	if contractNo == "" {
		if deal.OpportunityID == "" {
			return nil, nil, &FieldError{Field: "opportunity_id", Message: "is required when contract_no is not given"}
		}
		contractNo = numbering.ContractNo(deal.OpportunityID)
	}

	productTax := rules.Tax.ProductTax(deal.ProductName)
	if productTax.Code == "" {
		return nil, nil, &FieldError{Field: "product", Message: fmt.Sprintf(
			"no tax classification code is configured for product %q: add tax.products.default or an entry for the product", deal.ProductName)}
	}
	rate, err := rules.Tax.RateFor(productTax.Category, deal.SignedOn)
	if err != nil {
		return nil, nil, &FieldError{Field: "signed_on", Message: err.Error()}
	}
	ratios := make([]decimal.Decimal, len(rules.Plan))
	for i, inst := range rules.Plan {
		ratios[i] = inst.Ratio
	}
	parts, err := money.Split(deal.Amount, ratios)
	if err != nil {
		return nil, nil, fmt.Errorf("split %s into the payment plan: %w", deal.Amount, err)
	}

	var opportunityID *string
	if deal.OpportunityID != "" {
		id := deal.OpportunityID
		opportunityID = &id
	}
	contract := &store.Contract{
		ContractNo:    contractNo,
		OpportunityID: opportunityID,
		AccountName:   deal.AccountName,
		CustomerNo:    numbering.CustomerNo(deal.AccountName),
		ProductName:   deal.ProductName,
		ProductNo:     numbering.ProductNo(deal.ProductName),
		SalesAgent:    deal.SalesAgent,
		Quantity:      quantity,
		UnitPrice:     deal.Amount.DivRound(quantity, 13),
		Amount:        deal.Amount,
		Currency:      deal.Currency,
		TaxRate:       rate,
		TaxCode:       productTax.Code,
		SignedOn:      deal.SignedOn,
		EndDate:       deal.EndDate,
		RenewalState:  store.RenewalPending,
		Source:        deal.Source,
		State:         store.ContractSigned,
		PaidAmount:    decimal.Zero,
		WorkflowID:    numbering.ContractWorkflowID(contractNo),
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	plan := make([]store.PaymentInstalment, len(rules.Plan))
	for i, inst := range rules.Plan {
		plan[i] = store.PaymentInstalment{
			ContractNo: contractNo, Seq: i + 1, Label: inst.Label, TriggerOn: inst.Trigger,
			Ratio: inst.Ratio, Amount: parts[i], PaidAmount: decimal.Zero,
		}
	}
	return contract, plan, nil
}

// IsFieldError reports whether err names a field of the deal.
func IsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
