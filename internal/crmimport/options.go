package crmimport

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/contracts"
	"github.com/ordo-project/ordo/internal/store"
)

// Options configures an import.
type Options struct {
	// Currency is the ISO 4217 code of the export's amounts, normally the
	// configuration's currency.
	Currency string
	// Tax gives each contract its VAT rate, by product category and
	// signing date, and its tax classification code.
	Tax config.Tax
	// Plan is the payment plan every imported contract gets.
	Plan []config.Instalment
	// ExchangeRates convert a currency other than CNY for the invoice; the
	// import is rejected when Currency has none.
	ExchangeRates []config.ExchangeRate
	// Progress, when set, is called at the start and end of each phase and
	// after each batch of rows. It runs on the importing goroutine, so it
	// should return quickly.
	Progress func(Progress)
	// Now is the import time: created_at and updated_at of written rows,
	// the assignment time of leads without an engage date, and the date
	// after which CRM dates are reported as in the future. Zero means the
	// current time.
	Now time.Time
	// RunID names the import run. Empty means a new id; an API that
	// returns the id before the import ends sets it.
	RunID string
	// Sectors and Countries are the vocabularies that sector and
	// office_location are corrected against. Empty means DefaultSectors
	// and DefaultCountries.
	Sectors   []string
	Countries []string
}

// Phases of an import, in order.
const (
	// PhaseRead counts files read and validated.
	PhaseRead = "read"
	// PhaseMasterData counts rows of accounts, products and sales teams
	// written.
	PhaseMasterData = "master_data"
	// PhasePipeline counts rows of the pipeline written.
	PhasePipeline = "pipeline"
	// PhaseRecord counts issues written to the import run.
	PhaseRecord = "record"
)

// Progress reports how far an import is. Done and Total count the unit of
// the phase: files while reading, rows while writing, issues while
// recording.
type Progress struct {
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

func (o Options) withDefaults() Options {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	// Both databases store microseconds; a finer time would compare
	// unequal after a round trip.
	o.Now = o.Now.UTC().Truncate(time.Microsecond)
	if len(o.Sectors) == 0 {
		o.Sectors = DefaultSectors
	}
	if len(o.Countries) == 0 {
		o.Countries = DefaultCountries
	}
	return o
}

// validate checks the options that Import needs beyond Parse.
func (o Options) validate() error {
	var problems []string
	if err := (contracts.Rules{ExchangeRates: o.ExchangeRates}).CheckCurrency(o.Currency); err != nil {
		problems = append(problems, err.Error())
	}
	if len(o.Tax.Rates) == 0 {
		problems = append(problems, "tax configuration has no VAT rates")
	}
	if len(o.Plan) == 0 {
		problems = append(problems, "payment plan has no instalments")
	}
	sum := decimal.Zero
	for i, inst := range o.Plan {
		if inst.Trigger != store.TriggerSigning && inst.Trigger != store.TriggerDelivery {
			problems = append(problems, fmt.Sprintf("payment plan instalment %d: trigger %q is not %s or %s", i+1, inst.Trigger, store.TriggerSigning, store.TriggerDelivery))
		}
		if !inst.Ratio.IsPositive() {
			problems = append(problems, fmt.Sprintf("payment plan instalment %d: ratio %s is not above 0", i+1, inst.Ratio))
		}
		sum = sum.Add(inst.Ratio)
	}
	if len(o.Plan) > 0 && !sum.Equal(decimal.NewFromInt(1)) {
		problems = append(problems, fmt.Sprintf("payment plan ratios add up to %s, expected 1", sum))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, strings.Join(problems, "; "))
	}
	return nil
}

// ErrInvalidOptions means Import was called with options it cannot use.
var ErrInvalidOptions = errors.New("invalid CRM import options")

func (o Options) report(p Progress) {
	if o.Progress != nil {
		o.Progress(p)
	}
}
