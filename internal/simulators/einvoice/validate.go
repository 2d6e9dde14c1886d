package einvoice

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// decimalText is a number sent as a JSON string or a bare JSON number. It
// keeps the text, so validation can report it unchanged.
type decimalText string

func (d *decimalText) UnmarshalJSON(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	if bytes.Equal(trimmed, []byte("null")) {
		*d = ""
		return nil
	}
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var text string
		if err := json.Unmarshal(trimmed, &text); err != nil {
			return err
		}
		*d = decimalText(text)
		return nil
	}
	var number json.Number
	if err := json.Unmarshal(trimmed, &number); err != nil {
		return fmt.Errorf("expected a number or a string, got %s", trimmed)
	}
	*d = decimalText(number.String())
	return nil
}

// issueRequest is the body of POST /v1/invoices.
type issueRequest struct {
	SerialNo       string      `json:"serial_no"`
	ContractNo     string      `json:"contract_no"`
	InvoiceKind    string      `json:"invoice_kind"`
	BuyerName      string      `json:"buyer_name"`
	BuyerTaxID     string      `json:"buyer_tax_id"`
	Currency       string      `json:"currency"`
	Lines          []issueLine `json:"lines"`
	TotalAmount    decimalText `json:"total_amount"`
	TotalTax       decimalText `json:"total_tax"`
	TotalInclusive decimalText `json:"total_inclusive"`
	Remark         string      `json:"remark"`
}

type issueLine struct {
	Name      string      `json:"name"`
	TaxCode   string      `json:"tax_code"`
	Unit      string      `json:"unit"`
	Quantity  decimalText `json:"quantity"`
	UnitPrice decimalText `json:"unit_price"`
	Amount    decimalText `json:"amount"`
	TaxRate   decimalText `json:"tax_rate"`
	Tax       decimalText `json:"tax"`
}

// fieldError is one entry of data.errors in a 1001 reply.
type fieldError struct {
	Field   string `json:"field"`
	Index   int    `json:"index"`
	Message string `json:"message"`
}

// validatedInvoice is an issue request that passed validation, with its
// amounts parsed and its normalized form for the idempotency check.
type validatedInvoice struct {
	request        issueRequest
	totalAmount    decimal.Decimal
	totalTax       decimal.Decimal
	totalInclusive decimal.Decimal
	bodyHash       string
	body           string
}

var (
	serialPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	taxCodePattern = regexp.MustCompile(`^[0-9]{19}$`)
	// Taxpayer IDs: the 18-character unified social credit code, or the
	// older 15- to 20-character forms.
	taxIDPattern = regexp.MustCompile(`^[0-9A-Z]{15,20}$`)
)

const (
	maxLines       = 2000
	amountDecimals = 2
	// priceDecimals is the precision platforms accept for unit price and
	// quantity.
	priceDecimals = 13
)

var priceTolerance = decimal.RequireFromString("0.01")

// validator checks requests against the configured tax rules.
type validator struct {
	rates             []decimal.Decimal
	lineTaxTolerance  decimal.Decimal
	totalTaxTolerance decimal.Decimal
}

// validateIssue checks an issue request and returns field errors, or the
// validated invoice when there are none.
func (v validator) validateIssue(request issueRequest) (*validatedInvoice, []fieldError) {
	var errs []fieldError
	header := func(field, format string, args ...any) {
		errs = append(errs, fieldError{Field: field, Index: -1, Message: fmt.Sprintf(format, args...)})
	}

	if !serialPattern.MatchString(request.SerialNo) {
		header("serial_no", "missing or invalid serial number %q: use 1 to 64 letters, digits, '-' or '_'", request.SerialNo)
	}
	if utf8.RuneCountInString(request.ContractNo) > 64 {
		header("contract_no", "contract number longer than 64 characters")
	}
	if request.InvoiceKind != "81" && request.InvoiceKind != "82" {
		header("invoice_kind", "invalid invoice kind %q: use 81 (special) or 82 (ordinary)", request.InvoiceKind)
	}
	if strings.TrimSpace(request.BuyerName) == "" {
		header("buyer_name", "missing buyer name")
	}
	switch {
	case request.BuyerTaxID != "" && !taxIDPattern.MatchString(request.BuyerTaxID):
		header("buyer_tax_id", "invalid taxpayer ID %q: use 15 to 20 digits or capital letters", request.BuyerTaxID)
	case request.BuyerTaxID == "" && request.InvoiceKind == "81":
		header("buyer_tax_id", "missing taxpayer ID: a special invoice (81) needs the buyer's taxpayer ID")
	}
	if request.Currency != "" && request.Currency != "CNY" {
		header("currency", "invalid currency %q: VAT invoices are in CNY", request.Currency)
	}
	if len(request.Lines) == 0 {
		header("lines", "missing lines: an invoice needs at least one line")
	}
	if len(request.Lines) > maxLines {
		header("lines", "%d lines exceed the maximum of %d", len(request.Lines), maxLines)
	}

	sumAmount, sumTax, sumDifference := decimal.Zero, decimal.Zero, decimal.Zero
	linesValid := true
	for i, line := range request.Lines {
		amount, tax, difference, lineErrs := v.validateLine(i, line)
		if len(lineErrs) > 0 {
			errs = append(errs, lineErrs...)
			linesValid = false
			continue
		}
		sumAmount = sumAmount.Add(amount)
		sumTax = sumTax.Add(tax)
		sumDifference = sumDifference.Add(difference)
	}

	totalAmount, okAmount := parseHeaderAmount(&errs, "total_amount", request.TotalAmount)
	totalTax, okTax := parseHeaderAmount(&errs, "total_tax", request.TotalTax)
	totalInclusive, okInclusive := parseHeaderAmount(&errs, "total_inclusive", request.TotalInclusive)
	if linesValid && len(request.Lines) > 0 {
		if okAmount && !totalAmount.Equal(sumAmount) {
			header("total_amount", "total amount %s differs from the sum of line amounts %s", totalAmount, sumAmount.StringFixed(2))
		}
		if okTax && !totalTax.Equal(sumTax) {
			header("total_tax", "total tax %s differs from the sum of line taxes %s", totalTax, sumTax.StringFixed(2))
		}
		if sumDifference.Abs().GreaterThan(v.totalTaxTolerance) {
			header("total_tax", "line taxes differ from round(amount × rate) by %s in total, more than the allowed %s",
				sumDifference.StringFixed(2), v.totalTaxTolerance)
		}
	}
	if okAmount && okTax && okInclusive && !totalInclusive.Equal(totalAmount.Add(totalTax)) {
		header("total_inclusive", "total including tax %s differs from total amount + total tax = %s",
			totalInclusive, totalAmount.Add(totalTax).StringFixed(2))
	}
	if len(errs) > 0 {
		return nil, errs
	}

	normalized := request
	normalized.Currency = "CNY"
	normalized.TotalAmount = decimalText(totalAmount.String())
	normalized.TotalTax = decimalText(totalTax.String())
	normalized.TotalInclusive = decimalText(totalInclusive.String())
	normalized.Lines = make([]issueLine, len(request.Lines))
	for i, line := range request.Lines {
		normalized.Lines[i] = normalizeLine(line)
	}
	body, hash := hashBody(normalized)
	return &validatedInvoice{
		request:        normalized,
		totalAmount:    totalAmount,
		totalTax:       totalTax,
		totalInclusive: totalInclusive,
		bodyHash:       hash,
		body:           body,
	}, nil
}

// validateLine checks one line and returns its amount, its tax and the
// difference between its tax and round(amount × rate).
func (v validator) validateLine(index int, line issueLine) (amount, tax, difference decimal.Decimal, errs []fieldError) {
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldError{Field: field, Index: index, Message: fmt.Sprintf(format, args...)})
	}

	if strings.TrimSpace(line.Name) == "" {
		add("name", "missing item name")
	}
	if !taxCodePattern.MatchString(line.TaxCode) {
		add("tax_code", "invalid tax classification code %q: use the 19-digit code", line.TaxCode)
	}

	amount, okAmount := parseDecimal(&errs, index, "amount", line.Amount, amountDecimals, true)
	tax, okTax := parseDecimal(&errs, index, "tax", line.Tax, amountDecimals, true)
	rate, okRate := parseDecimal(&errs, index, "tax_rate", line.TaxRate, 3, true)
	quantity, okQuantity := parseDecimal(&errs, index, "quantity", line.Quantity, priceDecimals, false)
	unitPrice, okPrice := parseDecimal(&errs, index, "unit_price", line.UnitPrice, priceDecimals, false)

	if okAmount && !amount.IsPositive() {
		add("amount", "amount %s must be positive on a blue invoice", amount)
	}
	if okTax && tax.IsNegative() {
		add("tax", "tax %s must not be negative on a blue invoice", tax)
	}
	if okRate && !v.rateAllowed(rate) {
		add("tax_rate", "tax rate %s is not one of the rates in force: %s", rate, v.rateList())
	}
	if okQuantity && line.Quantity != "" && !quantity.IsPositive() {
		add("quantity", "quantity %s must be positive", quantity)
	}
	if okPrice && line.UnitPrice != "" && unitPrice.IsNegative() {
		add("unit_price", "unit price %s must not be negative", unitPrice)
	}
	if okAmount && okQuantity && okPrice && line.Quantity != "" && line.UnitPrice != "" {
		product := quantity.Mul(unitPrice)
		if product.Sub(amount).Abs().GreaterThan(priceTolerance) {
			add("amount", "amount %s differs from quantity × unit price = %s by more than %s", amount, product.Round(4), priceTolerance)
		}
	}
	if okAmount && okTax && okRate && v.rateAllowed(rate) {
		expected := amount.Mul(rate).Round(amountDecimals)
		difference = tax.Sub(expected)
		if difference.Abs().GreaterThan(v.lineTaxTolerance) {
			add("tax", "tax %s differs from round(amount × rate) = %s by more than %s", tax, expected.StringFixed(2), v.lineTaxTolerance)
		}
	}
	return amount, tax, difference, errs
}

func (v validator) rateAllowed(rate decimal.Decimal) bool {
	for _, allowed := range v.rates {
		if allowed.Equal(rate) {
			return true
		}
	}
	return false
}

func (v validator) rateList() string {
	names := make([]string, len(v.rates))
	for i, rate := range v.rates {
		names[i] = rate.String()
	}
	return strings.Join(names, ", ")
}

// parseDecimal parses a line field and appends a field error when it is
// missing, not a number or has more than maxDecimals decimals. An optional
// empty field parses as zero.
func parseDecimal(errs *[]fieldError, index int, field string, text decimalText, maxDecimals int32, required bool) (decimal.Decimal, bool) {
	if text == "" {
		if required {
			*errs = append(*errs, fieldError{Field: field, Index: index, Message: "missing " + strings.ReplaceAll(field, "_", " ")})
			return decimal.Zero, false
		}
		return decimal.Zero, true
	}
	d, err := decimal.NewFromString(strings.TrimSpace(string(text)))
	if err != nil {
		*errs = append(*errs, fieldError{Field: field, Index: index, Message: fmt.Sprintf("%q is not a decimal number", text)})
		return decimal.Zero, false
	}
	if !d.Equal(d.Round(maxDecimals)) {
		*errs = append(*errs, fieldError{Field: field, Index: index,
			Message: fmt.Sprintf("%s has more than %d decimal places", text, maxDecimals)})
		return decimal.Zero, false
	}
	return d, true
}

func parseHeaderAmount(errs *[]fieldError, field string, text decimalText) (decimal.Decimal, bool) {
	return parseDecimal(errs, -1, field, text, amountDecimals, true)
}

// normalizeLine writes every number in canonical form, so "100" and
// "100.00" hash the same.
func normalizeLine(line issueLine) issueLine {
	normal := func(text decimalText) decimalText {
		if text == "" {
			return ""
		}
		return decimalText(decimal.RequireFromString(strings.TrimSpace(string(text))).String())
	}
	line.Quantity = normal(line.Quantity)
	line.UnitPrice = normal(line.UnitPrice)
	line.Amount = normal(line.Amount)
	line.TaxRate = normal(line.TaxRate)
	line.Tax = normal(line.Tax)
	return line
}

// hashBody returns the JSON of a normalized request and its SHA-256.
func hashBody(normalized any) (body, hash string) {
	data, err := json.Marshal(normalized)
	if err != nil {
		// The request types contain only strings and slices of them.
		panic(fmt.Sprintf("marshal normalized request: %v", err))
	}
	sum := sha256.Sum256(data)
	return string(data), hex.EncodeToString(sum[:])
}

// redConfirmationRequest is the body of POST /v1/red-confirmations.
type redConfirmationRequest struct {
	OriginalInvoiceNo string `json:"original_invoice_no"`
	Reason            string `json:"reason"`
}

func (r redConfirmationRequest) validate() []fieldError {
	var errs []fieldError
	if r.OriginalInvoiceNo == "" {
		errs = append(errs, fieldError{Field: "original_invoice_no", Index: -1, Message: "missing original invoice number"})
	} else if len(r.OriginalInvoiceNo) > 20 {
		errs = append(errs, fieldError{Field: "original_invoice_no", Index: -1,
			Message: fmt.Sprintf("invalid invoice number %q: at most 20 characters", r.OriginalInvoiceNo)})
	}
	if strings.TrimSpace(r.Reason) == "" {
		errs = append(errs, fieldError{Field: "reason", Index: -1, Message: "missing reason for the red-letter invoice"})
	}
	return errs
}

// redIssueRequest is the body of POST /v1/red-invoices.
type redIssueRequest struct {
	SerialNo       string `json:"serial_no"`
	ConfirmationNo string `json:"confirmation_no"`
	Reason         string `json:"reason"`
}

func (r redIssueRequest) validate() []fieldError {
	var errs []fieldError
	if !serialPattern.MatchString(r.SerialNo) {
		errs = append(errs, fieldError{Field: "serial_no", Index: -1,
			Message: fmt.Sprintf("missing or invalid serial number %q: use 1 to 64 letters, digits, '-' or '_'", r.SerialNo)})
	}
	if r.ConfirmationNo == "" {
		errs = append(errs, fieldError{Field: "confirmation_no", Index: -1, Message: "missing confirmation form number"})
	}
	return errs
}
