// Package resterp simulates a small home-grown ERP with a JSON API, the
// kind of system the generic erp/rest connector is for. Its field names
// differ from ordo's on purpose, so the example mapping in
// deploy/erp-rest.example.yaml exercises the connector's mapping.
//
// API, all under /api and behind a bearer token when one is configured:
//
//	POST   /api/{collection}               create; 201, or 409 for a known number
//	GET    /api/{collection}/{number}      find; 200 or 404
//	PUT    /api/customers/{code}           update a customer
//	DELETE /api/{collection}/{number}      cancel; 204 or 404
//	GET    /api/production-orders/{number}/progress
//
// Collections are customers (number in "code"), sales-orders,
// production-orders, deliveries, receivables, write-offs and
// price-entries (number in "header.doc_no", contract in
// "header.contract_ref"). A create with an Idempotency-Key header that was
// seen before returns the document created under that key with 200.
// Replies carry {"data": {"id", "no", "state", ...}}.
//
// Faults: server_error, throttle, timeout and lost_reply as in package
// simulators, and silent_drop: a create is acknowledged with 201 and
// stored nowhere.
package resterp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// System names the simulator in the ledger.
const System = "resterp"

// FaultSilentDrop acknowledges a create with 201 and stores nothing, as a
// system that loses accepted requests does.
const FaultSilentDrop simulators.Fault = "silent_drop"

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{
	simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultTimeout,
	simulators.FaultLostReply, FaultSilentDrop,
}

// collections maps the API's collections to ordo's document kinds.
var collections = map[string]connectors.DocumentKind{
	"customers":         connectors.KindCustomer,
	"sales-orders":      connectors.KindSalesOrder,
	"production-orders": connectors.KindProductionOrder,
	"deliveries":        connectors.KindDelivery,
	"receivables":       connectors.KindReceivable,
	"write-offs":        connectors.KindWriteOff,
	"price-entries":     connectors.KindPriceList,
}

// Config configures the simulator.
type Config struct {
	// DB stores documents and the ledger. Required.
	DB *bun.DB
	// Token, when set, is the bearer token every request must carry.
	Token string
	// Faults selects injected faults; kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// World receives audited sales orders, so simulated customers pay.
	World simulators.World
	// CompletionDelay is how long a production order takes to finish,
	// default 2 seconds.
	CompletionDelay time.Duration
	Logger          logrus.FieldLogger
}

// Simulator is the home-grown ERP. Create it with New, then Start it.
type Simulator struct {
	cfg    Config
	faults *simulators.Injector
	log    logrus.FieldLogger
	runner *simulators.Runner
}

// New checks the configuration and creates the tables.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("REST ERP simulator: missing DB")
	}
	if cfg.World == nil {
		cfg.World = simulators.NopWorld{}
	}
	if cfg.CompletionDelay <= 0 {
		cfg.CompletionDelay = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	injector, err := simulators.NewInjector(cfg.Faults, DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("REST ERP simulator: %w", err)
	}
	if err := migrate(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("REST ERP simulator: %w", err)
	}
	log := cfg.Logger.WithField(logging.KeyComponent, "resterp-sim")
	return &Simulator{
		cfg: cfg, faults: injector, log: log,
		runner: simulators.NewRunner("REST ERP simulator", log),
	}, nil
}

// Faults returns the fault injector, for tests.
func (s *Simulator) Faults() *simulators.Injector { return s.faults }

// InjectNext makes the next request with the HTTP method get fault,
// before and regardless of the injector's rate. Tests use it to hit one
// step of a call, e.g. the create but not the lookup before it.
func (s *Simulator) InjectNext(method string, fault simulators.Fault) {
	s.faults.Arm(fault, method+" ")
}

// Handler returns the HTTP handler of the API.
func (s *Simulator) Handler() http.Handler { return s.routes() }

// Start serves the API on address and returns the base URL, e.g.
// http://127.0.0.1:8098/api.
func (s *Simulator) Start(address string) (string, error) {
	url, err := s.runner.Serve(address, s.routes())
	if err != nil {
		return "", err
	}
	return url + "/api", nil
}

// Close stops the server. The database belongs to the caller.
func (s *Simulator) Close() error { return s.runner.Close(nil) }
