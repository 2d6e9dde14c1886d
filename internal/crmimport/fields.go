package crmimport

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/money"
)

// maxAmount bounds amounts read from the export. PostgreSQL stores them as
// NUMERIC(20,2), which holds at most 18 digits before the point; anything
// near that is a corrupt value, not a deal.
var maxAmount = decimal.New(1, 15)

// errTooManyDecimals means an amount has more decimal places than its
// column stores. PostgreSQL would round it and SQLite would not, so the
// importer refuses to guess.
var errTooManyDecimals = errors.New("too many decimal places")

// parseAmount reads a non-empty amount with at most scale decimal places.
func parseAmount(text string, scale int32) (decimal.Decimal, error) {
	d, err := money.Parse(text)
	if err != nil {
		return decimal.Zero, err
	}
	if !d.Equal(d.Truncate(scale)) {
		return decimal.Zero, fmt.Errorf("%w: %q has more than %d", errTooManyDecimals, text, scale)
	}
	if d.Abs().GreaterThanOrEqual(maxAmount) {
		return decimal.Zero, fmt.Errorf("%q is out of range: amounts must be below %s", text, maxAmount)
	}
	return d, nil
}

// parseDate reads a calendar day written YYYY-MM-DD as midnight UTC. Other
// layouts are not guessed, because 03/04/2017 is a different day in the US
// and in Europe.
func parseDate(text string) (time.Time, error) {
	return time.Parse(time.DateOnly, text)
}

// parseCount reads a whole number such as a year or a head count.
func parseCount(text string) (int, error) {
	return strconv.Atoi(text)
}

// day truncates a time to its UTC calendar day.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func formatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

func datePtr(t time.Time) *time.Time {
	return &t
}
