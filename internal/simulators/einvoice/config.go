package einvoice

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// FaultIssueFailed accepts an issue request and later marks it failed, the
// way the tax platform rejects an invoice after the provider accepted it.
// It is a business rejection that needs a person, not a fault of the line,
// so it is drawn only when the fault configuration lists it.
const FaultIssueFailed simulators.Fault = "issue_failed"

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{
	simulators.FaultServerError,
	simulators.FaultThrottle,
	simulators.FaultTimeout,
	simulators.FaultLostReply,
}

// Config configures the simulator. Zero durations and tolerances take the
// defaults named on each field.
type Config struct {
	// DB stores requests, invoices, callbacks and the ledger. Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// AppKey and AppSecret are the credentials clients sign with. Required.
	AppKey    string
	AppSecret string
	// ClockSkew is the maximum difference between a request's timestamp and
	// the simulator's clock, default 5 minutes.
	ClockSkew time.Duration
	// IssueDelay is how long a request stays processing, default 2 seconds.
	IssueDelay time.Duration
	// PollInterval is how often the background loops look for due work,
	// default 200 milliseconds.
	PollInterval time.Duration
	// TaxRates lists the VAT rates the platform accepts, default 13%, 9%,
	// 6%, 3%, 1% and 0.
	TaxRates []decimal.Decimal
	// LineTaxTolerance is the maximum difference between a line's tax and
	// round(amount × rate), default 0.06.
	LineTaxTolerance decimal.Decimal
	// TotalTaxTolerance is the maximum of those differences added up over
	// all lines, default 1.27.
	TotalTaxTolerance decimal.Decimal
	// RegionCode is the two-digit province code in invoice numbers,
	// default "31".
	RegionCode string
	// CallbackURL receives signed events. Empty disables callbacks.
	CallbackURL string
	// CallbackSecret keys the callback signature, default AppSecret.
	CallbackSecret string
	// CallbackTimeout bounds one delivery attempt, default 5 seconds.
	CallbackTimeout time.Duration
	// CallbackBackoff is the wait after the first failed delivery, doubled
	// after each further failure up to CallbackMaxBackoff. Defaults are 1
	// second and 1 minute.
	CallbackBackoff    time.Duration
	CallbackMaxBackoff time.Duration
	// CallbackMaxAttempts is the number of deliveries before an event is
	// abandoned, default 10.
	CallbackMaxAttempts int
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// World receives an InvoiceIssued event for every issued blue invoice,
	// default NopWorld.
	World simulators.World
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

var regionCodePattern = regexp.MustCompile(`^[0-9]{2}$`)

// withDefaults validates the configuration and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.DB == nil {
		return c, errors.New("einvoice simulator: missing DB")
	}
	if c.AppKey == "" || c.AppSecret == "" {
		return c, errors.New("einvoice simulator: missing app key or app secret")
	}

	if c.Address == "" {
		c.Address = "127.0.0.1:0"
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = 5 * time.Minute
	}
	if c.IssueDelay < 0 {
		return c, fmt.Errorf("einvoice simulator: invalid issue delay %s: use zero or more", c.IssueDelay)
	}
	if c.IssueDelay == 0 {
		c.IssueDelay = 2 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}

	if len(c.TaxRates) == 0 {
		for _, rate := range []string{"0.13", "0.09", "0.06", "0.03", "0.01", "0"} {
			c.TaxRates = append(c.TaxRates, decimal.RequireFromString(rate))
		}
	}
	if c.LineTaxTolerance.IsZero() {
		c.LineTaxTolerance = decimal.RequireFromString("0.06")
	}
	if c.TotalTaxTolerance.IsZero() {
		c.TotalTaxTolerance = decimal.RequireFromString("1.27")
	}
	if c.LineTaxTolerance.IsNegative() || c.TotalTaxTolerance.IsNegative() {
		return c, fmt.Errorf("einvoice simulator: invalid tax tolerance %s or %s: use zero or more",
			c.LineTaxTolerance, c.TotalTaxTolerance)
	}
	if c.RegionCode == "" {
		c.RegionCode = "31"
	}
	if !regionCodePattern.MatchString(c.RegionCode) {
		return c, fmt.Errorf("einvoice simulator: invalid region code %q: use two digits", c.RegionCode)
	}

	if c.CallbackSecret == "" {
		c.CallbackSecret = c.AppSecret
	}
	if c.CallbackTimeout <= 0 {
		c.CallbackTimeout = 5 * time.Second
	}
	if c.CallbackBackoff <= 0 {
		c.CallbackBackoff = time.Second
	}
	if c.CallbackMaxBackoff <= 0 {
		c.CallbackMaxBackoff = time.Minute
	}
	if c.CallbackMaxAttempts <= 0 {
		c.CallbackMaxAttempts = 10
	}

	if c.World == nil {
		c.World = simulators.NopWorld{}
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	return c, nil
}
