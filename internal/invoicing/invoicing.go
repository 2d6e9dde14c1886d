// Package invoicing builds VAT invoice requests from a contract's
// tax-inclusive order lines. It is pure arithmetic on decimals with no I/O,
// so workflow code may call it directly.
package invoicing

import (
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/money"
)

// InvoiceSpec describes the invoice for a contract in the contract's own
// terms: lines priced including VAT, as the ERP stores them.
type InvoiceSpec struct {
	SerialNo   string
	ContractNo string
	// Kind is connectors.InvoiceKindSpecial or InvoiceKindOrdinary, default
	// ordinary.
	Kind       string
	BuyerName  string
	BuyerTaxID string
	// Currency defaults to CNY.
	Currency string
	Remark   string
	// Total is the contract's total including VAT. It must equal the sum of
	// the lines' Amount.
	Total decimal.Decimal
	// Lines carry tax-inclusive amounts and unit prices.
	Lines []connectors.OrderLine
	// TaxCodes maps a product number to its 19-digit tax classification
	// code (税收分类编码). Products missing from it get DefaultTaxCode.
	TaxCodes       map[string]string
	DefaultTaxCode string
	// Unit is written on every line, e.g. "台". Empty leaves it out.
	Unit string
}

var taxCodePattern = regexp.MustCompile(`^[0-9]{19}$`)

// unitPriceDecimals is the precision invoicing platforms accept for unit
// prices.
const unitPriceDecimals = 13

// BuildRequest converts a contract's tax-inclusive lines into an invoice
// request. Each line is split into amount and tax with
// money.TaxFromInclusive, so tax is rounded per line and amount + tax equals
// the line's inclusive amount exactly. The header totals are the sums over
// the lines. The unit price on the invoice excludes tax: amount ÷ quantity,
// rounded to 13 decimals. It fails with a validation *connectors.Error
// naming the fields when the spec is inconsistent.
func BuildRequest(spec InvoiceSpec) (connectors.InvoiceRequest, error) {
	var fields []connectors.FieldError
	header := func(field, format string, args ...any) {
		fields = append(fields, connectors.FieldError{Field: field, Index: -1, Message: fmt.Sprintf(format, args...)})
	}
	if spec.SerialNo == "" {
		header("serial_no", "missing serial number")
	}
	if spec.BuyerName == "" {
		header("buyer_name", "missing buyer name")
	}
	kind := spec.Kind
	if kind == "" {
		kind = connectors.InvoiceKindOrdinary
	}
	if kind != connectors.InvoiceKindSpecial && kind != connectors.InvoiceKindOrdinary {
		header("kind", "invalid invoice kind %q: use %s or %s", kind, connectors.InvoiceKindSpecial, connectors.InvoiceKindOrdinary)
	}
	currency := spec.Currency
	if currency == "" {
		currency = "CNY"
	}
	if len(spec.Lines) == 0 {
		header("lines", "missing lines")
	}

	request := connectors.InvoiceRequest{
		SerialNo:   spec.SerialNo,
		ContractNo: spec.ContractNo,
		Kind:       kind,
		BuyerName:  spec.BuyerName,
		BuyerTaxID: spec.BuyerTaxID,
		Currency:   currency,
		Remark:     spec.Remark,
		Lines:      make([]connectors.InvoiceLine, 0, len(spec.Lines)),
	}
	inclusiveSum := decimal.Zero
	for i, line := range spec.Lines {
		built, lineFields := buildLine(i, line, spec)
		fields = append(fields, lineFields...)
		if len(lineFields) > 0 {
			continue
		}
		request.Lines = append(request.Lines, built)
		inclusiveSum = inclusiveSum.Add(line.Amount)
		request.TotalAmount = request.TotalAmount.Add(built.Amount)
		request.TotalTax = request.TotalTax.Add(built.Tax)
	}
	request.TotalInclusive = request.TotalAmount.Add(request.TotalTax)
	if len(fields) == 0 && !inclusiveSum.Equal(spec.Total) {
		header("total", "contract total %s differs from the sum of its lines %s", spec.Total, inclusiveSum)
	}
	if len(fields) > 0 {
		return connectors.InvoiceRequest{}, &connectors.Error{
			Kind: connectors.KindValidation, Connector: "invoicing", Operation: "BuildRequest",
			Message: fmt.Sprintf("cannot build the invoice of contract %s", spec.ContractNo), Fields: fields,
		}
	}
	return request, nil
}

// buildLine splits one tax-inclusive order line into an invoice line.
func buildLine(index int, line connectors.OrderLine, spec InvoiceSpec) (connectors.InvoiceLine, []connectors.FieldError) {
	var fields []connectors.FieldError
	add := func(field, format string, args ...any) {
		fields = append(fields, connectors.FieldError{Field: field, Index: index, Message: fmt.Sprintf(format, args...)})
	}
	if line.ProductName == "" {
		add("name", "product %s has no name to print on the invoice", line.ProductNumber)
	}
	taxCode, ok := spec.TaxCodes[line.ProductNumber]
	if !ok {
		taxCode = spec.DefaultTaxCode
	}
	if !taxCodePattern.MatchString(taxCode) {
		add("tax_code", "product %s has no valid 19-digit tax classification code (got %q)", line.ProductNumber, taxCode)
	}
	if !line.Amount.IsPositive() {
		add("amount", "amount %s must be positive", line.Amount)
	}
	if !line.Amount.Equal(money.Round(line.Amount)) {
		add("amount", "amount %s has more than %d decimal places", line.Amount, money.Scale)
	}
	if line.TaxRate.IsNegative() || line.TaxRate.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		add("tax_rate", "tax rate %s must be a fraction between 0 and 1", line.TaxRate)
	}
	if line.Quantity.IsNegative() {
		add("quantity", "quantity %s must not be negative", line.Quantity)
	}
	if len(fields) > 0 {
		return connectors.InvoiceLine{}, fields
	}

	amount, tax := money.TaxFromInclusive(line.Amount, line.TaxRate)
	built := connectors.InvoiceLine{
		Name:    line.ProductName,
		TaxCode: taxCode,
		Unit:    spec.Unit,
		Amount:  amount,
		TaxRate: line.TaxRate,
		Tax:     tax,
	}
	if line.Quantity.IsPositive() {
		built.Quantity = line.Quantity
		built.UnitPrice = amount.DivRound(line.Quantity, unitPriceDecimals)
	}
	return built, nil
}
