// Package money holds ordo's money arithmetic. Amounts are
// shopspring/decimal values end to end; they become integer fen (cents)
// only at payment edges, and tax is rounded per invoice line.
package money

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Scale is the number of decimal places of a stored or invoiced amount.
const Scale = 2

// ErrInvalidAmount means a text could not be read as an amount.
var ErrInvalidAmount = errors.New("invalid amount")

// Parse reads a plain decimal amount such as "1054" or "1054.50".
func Parse(text string) (decimal.Decimal, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return decimal.Zero, fmt.Errorf("%w: empty", ErrInvalidAmount)
	}
	d, err := decimal.NewFromString(trimmed)
	if err != nil {
		return decimal.Zero, fmt.Errorf("%w: %q is not a decimal number", ErrInvalidAmount, text)
	}
	return d, nil
}

// ParseSigned reads a signed amount with thousands separators, the form
// bank statements use: "-35,000.00", "+1,200.5", "980".
func ParseSigned(text string) (decimal.Decimal, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return decimal.Zero, fmt.Errorf("%w: empty", ErrInvalidAmount)
	}
	cleaned := strings.ReplaceAll(trimmed, ",", "")
	cleaned = strings.TrimPrefix(cleaned, "+")
	d, err := decimal.NewFromString(cleaned)
	if err != nil {
		return decimal.Zero, fmt.Errorf("%w: %q is not a signed decimal number", ErrInvalidAmount, text)
	}
	return d, nil
}

// FormatSigned writes an amount the way bank statements do: a sign for
// debits, thousands separators and two decimals, for example "-35,000.00".
func FormatSigned(d decimal.Decimal) string {
	fixed := d.Abs().StringFixed(Scale)
	integer, fraction, _ := strings.Cut(fixed, ".")
	var grouped strings.Builder
	for i, digit := range integer {
		if i > 0 && (len(integer)-i)%3 == 0 {
			grouped.WriteByte(',')
		}
		grouped.WriteRune(digit)
	}
	sign := ""
	if d.IsNegative() {
		sign = "-"
	}
	return sign + grouped.String() + "." + fraction
}

// Round rounds half away from zero to Scale places, the rounding Chinese
// VAT invoices use for line amounts and tax.
func Round(d decimal.Decimal) decimal.Decimal {
	return d.Round(Scale)
}

// ToFen converts an amount to integer fen. It fails if the amount has more
// than two decimal places, so no fraction of a fen is silently lost.
func ToFen(d decimal.Decimal) (int64, error) {
	fen := d.Shift(Scale)
	if !fen.Equal(fen.Truncate(0)) {
		return 0, fmt.Errorf("%w: %s has more than %d decimal places", ErrInvalidAmount, d, Scale)
	}
	return fen.IntPart(), nil
}

// FromFen converts integer fen to an amount.
func FromFen(fen int64) decimal.Decimal {
	return decimal.New(fen, -Scale)
}

// Split divides total into parts proportional to ratios, each rounded to
// Scale places. The last part absorbs the rounding difference, so the parts
// always add up to total exactly.
func Split(total decimal.Decimal, ratios []decimal.Decimal) ([]decimal.Decimal, error) {
	if len(ratios) == 0 {
		return nil, errors.New("split needs at least one ratio")
	}
	sum := decimal.Zero
	for i, r := range ratios {
		if r.IsNegative() {
			return nil, fmt.Errorf("ratio %d is negative: %s", i+1, r)
		}
		sum = sum.Add(r)
	}
	if !sum.Equal(decimal.NewFromInt(1)) {
		return nil, fmt.Errorf("ratios add up to %s, expected 1", sum)
	}
	parts := make([]decimal.Decimal, len(ratios))
	allocated := decimal.Zero
	for i, r := range ratios[:len(ratios)-1] {
		parts[i] = Round(total.Mul(r))
		allocated = allocated.Add(parts[i])
	}
	parts[len(parts)-1] = total.Sub(allocated)
	return parts, nil
}

// TaxFromInclusive splits a tax-inclusive amount into the amount before tax
// and the tax at rate, each rounded to two places, so that
// amount + tax == inclusive exactly.
func TaxFromInclusive(inclusive, rate decimal.Decimal) (amount, tax decimal.Decimal) {
	amount = Round(inclusive.Div(decimal.NewFromInt(1).Add(rate)))
	tax = inclusive.Sub(amount)
	return amount, tax
}
