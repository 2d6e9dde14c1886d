package bank

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// FaultDuplicateLine delivers the last line of the previous page again at
// the start of the requested page.
const FaultDuplicateLine simulators.Fault = "duplicate_line"

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{
	simulators.FaultServerError,
	simulators.FaultThrottle,
	simulators.FaultTimeout,
	FaultDuplicateLine,
}

// Config configures the simulator. Zero values take the defaults named on
// each field.
type Config struct {
	// DB stores the payment schedule, the statement and the ledger.
	// Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// ClientID and ClientSecret are the credentials clients sign with.
	// Required.
	ClientID     string
	ClientSecret string
	// AccountNo is ordo's collection account, default
	// "310066726018800012345".
	AccountNo string
	// OpeningBalance is the balance before the first line, default
	// 1,000,000.00.
	OpeningBalance decimal.Decimal
	// ClockSkew is the maximum difference between a request's timestamp and
	// the simulator's clock, default 5 minutes.
	ClockSkew time.Duration
	// PollInterval is how often the payment loop looks for due payments,
	// default 200 milliseconds.
	PollInterval time.Duration
	// MaxPageSize is the largest page_size accepted, default 200.
	MaxPageSize int
	// Behaviour selects how customers pay, default DefaultBehaviour().
	Behaviour *Behaviour
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Behaviour selects how the simulated customers pay. Every field is used
// as given: a zero rate never happens and a zero delay pays at once. Start
// from DefaultBehaviour and change what you need.
type Behaviour struct {
	// AdvanceRatio is the share of the tax-inclusive total paid after the
	// sales order is audited. Zero means no advance.
	AdvanceRatio decimal.Decimal
	// AdvanceDelay is the time from the audit to the advance.
	AdvanceDelay time.Duration
	// BalanceDelay is the time from the invoice to the rest.
	BalanceDelay time.Duration
	// PartialRate is the share of contracts that pay the rest in two lines.
	PartialRate float64
	// PartialGap is the time between the two lines of a partial payment.
	PartialGap time.Duration
	// CombinedRate is the share of contracts whose rest waits to be paid in
	// one line with another contract of the same payer.
	CombinedRate float64
	// CombineWindow is how long such a payment waits for a second contract
	// before it is paid alone.
	CombineWindow time.Duration
	// OverpayRate is the share of contracts that pay OverpayExtra more than
	// the rest.
	OverpayRate  float64
	OverpayExtra decimal.Decimal
	// NoRemarkRate is the share of contracts whose rest, when paid whole
	// and exact, carries an empty or unrelated remark.
	NoRemarkRate float64
	// StrayRate is the chance that a customer payment is followed by an
	// incoming line from a payer with no contract.
	StrayRate float64
	// FeeRate is the chance that a customer payment is followed by an
	// outgoing bank fee.
	FeeRate float64
}

// DefaultBehaviour returns modest rates of every variation. All of them
// leave every contract paid in full and matchable without a person.
func DefaultBehaviour() Behaviour {
	return Behaviour{
		AdvanceRatio:  decimal.RequireFromString("0.30"),
		AdvanceDelay:  30 * time.Second,
		BalanceDelay:  time.Minute,
		PartialRate:   0.15,
		PartialGap:    time.Minute,
		CombinedRate:  0.10,
		CombineWindow: 5 * time.Minute,
		OverpayRate:   0.05,
		OverpayExtra:  decimal.RequireFromString("100.00"),
		NoRemarkRate:  0.10,
		StrayRate:     0.10,
		FeeRate:       0.20,
	}
}

func (b Behaviour) validate() error {
	rates := map[string]float64{
		"partial rate": b.PartialRate, "combined rate": b.CombinedRate, "over-payment rate": b.OverpayRate,
		"no-remark rate": b.NoRemarkRate, "stray rate": b.StrayRate, "fee rate": b.FeeRate,
	}
	for name, rate := range rates {
		if rate < 0 || rate > 1 {
			return fmt.Errorf("invalid %s %v: use a probability between 0 and 1", name, rate)
		}
	}
	if b.AdvanceRatio.IsNegative() || b.AdvanceRatio.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return fmt.Errorf("invalid advance ratio %s: use 0 or more and less than 1", b.AdvanceRatio)
	}
	if b.OverpayExtra.IsNegative() {
		return fmt.Errorf("invalid over-payment extra %s: use 0 or more", b.OverpayExtra)
	}
	for name, d := range map[string]time.Duration{
		"advance delay": b.AdvanceDelay, "balance delay": b.BalanceDelay,
		"partial gap": b.PartialGap, "combine window": b.CombineWindow,
	} {
		if d < 0 {
			return fmt.Errorf("invalid %s %s: use zero or more", name, d)
		}
	}
	return nil
}

func (c Config) withDefaults() (Config, error) {
	if c.DB == nil {
		return c, errors.New("bank simulator: missing DB")
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return c, errors.New("bank simulator: missing client ID or client secret")
	}

	if c.Address == "" {
		c.Address = "127.0.0.1:0"
	}
	if c.AccountNo == "" {
		c.AccountNo = "310066726018800012345"
	}
	if c.OpeningBalance.IsZero() {
		c.OpeningBalance = decimal.RequireFromString("1000000.00")
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = 5 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = 200
	}

	if c.Behaviour == nil {
		behaviour := DefaultBehaviour()
		c.Behaviour = &behaviour
	}
	if err := c.Behaviour.validate(); err != nil {
		return c, fmt.Errorf("bank simulator: %w", err)
	}

	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	return c, nil
}
