// Package sapb1 simulates the SAP Business One Service Layer, the REST
// (OData v3) API the example SAP plugin talks to.
//
// The simulator serves, under /b1s/v1/:
//
//	POST   Login                      CompanyDB, UserName, Password; sets B1SESSION and ROUTEID
//	POST   Logout
//	GET    {Entity}                   $filter, $select, $top, $skip, odata.nextLink paging
//	GET    {Entity}({key})            one entity; 404 with code -2028 when missing
//	POST   {Entity}                   create; 201 with the created entity
//	PATCH  {Entity}({key})            update fields; 204
//	DELETE {Entity}({key})            delete; 204
//	POST   {Entity}({key})/Cancel     cancel a document; 204
//
// for the entities BusinessPartners (key CardCode), Orders, ProductionOrders
// (key AbsoluteEntry), DeliveryNotes, Invoices, IncomingPayments and
// SpecialPrices (key DocEntry). Errors carry the Service Layer body
// {"error":{"code":N,"message":{"lang":"en-us","value":"..."}}}.
//
// A site that lets ordo create documents adds the user-defined field
// U_ORDO_NO to each document table and rejects a second document with the
// same value in SBO_SP_TransactionNotification. The simulator does the
// same: a create whose U_ORDO_NO exists fails with code -5002 and the
// message of the stored procedure, so a client that retries after a lost
// reply can look the document up instead of creating a duplicate.
//
// Sessions expire after SessionTimeout without use, and later calls return 401 with
// code 301 "Invalid session." Documents live in SQLite, and each created
// document is appended to the shared simulator ledger in the transaction
// that creates it. A production order completes (ProductionOrderStatus
// boposClosed) CompletionDelay after it was created.
//
// The admin API:
//
//	GET  /sim/faults           current fault configuration
//	PUT  /sim/faults           replace it
//	GET  /sim/stats            login and session counts
//	POST /sim/sessions/expire  end every session
package sapb1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

// System is the simulator's name in the shared ledger.
const System = "sapb1"

// Faults specific to the Service Layer.
const (
	// FaultSessionLost ends the caller's session before the call runs, as
	// a Service Layer restart does.
	FaultSessionLost simulators.Fault = "session_lost"
	// FaultSilentDrop closes the connection without doing the work and
	// without a reply.
	FaultSilentDrop simulators.Fault = "silent_drop"
)

// DefaultFaults are drawn when the fault configuration lists none.
var DefaultFaults = []simulators.Fault{
	simulators.FaultServerError,
	simulators.FaultThrottle,
	simulators.FaultTimeout,
	simulators.FaultLostReply,
	FaultSessionLost,
	FaultSilentDrop,
}

// Config configures a Simulator. CompanyDB, UserName and Password are
// required, and DB or Path.
type Config struct {
	// DB is the simulators database shared with the other simulators.
	// When nil, the simulator opens Path and closes it in Close.
	DB   bun.IDB
	Path string

	Logger *logrus.Logger
	// World receives sales orders. Nil means simulators.NopWorld.
	World simulators.World
	// Faults injects failures. Nil means none until the admin API sets a rate.
	Faults *simulators.Injector

	CompanyDB string
	UserName  string
	Password  string

	// SessionTimeout ends a session unused for this long. Default 30 minutes,
	// the Service Layer's default.
	SessionTimeout time.Duration
	// CompletionDelay is how long a production order takes to complete.
	// Default 2 minutes.
	CompletionDelay time.Duration
	// PageSize is the number of entities per page of a list. Default 20.
	PageSize int
	// PollInterval is how often unreported sales orders are reported to
	// the World again. Default 1 second.
	PollInterval time.Duration
}

func (c *Config) applyDefaults() {
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 30 * time.Minute
	}
	if c.CompletionDelay <= 0 {
		c.CompletionDelay = 2 * time.Minute
	}
	if c.PageSize <= 0 {
		c.PageSize = 20
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
}

// Stats counts what the simulator served since it started.
type Stats struct {
	Logins   int64 `json:"logins"`
	Sessions int   `json:"sessions"`
	// Rejected is the number of calls rejected with "Invalid session."
	Rejected int64 `json:"rejected"`
	// Faults is the number of requests that got an injected fault.
	Faults int64 `json:"faults"`
}

// Simulator is a running Service Layer simulator.
type Simulator struct {
	cfg      Config
	db       bun.IDB
	ownDB    *bun.DB
	log      *logrus.Entry
	world    simulators.World
	faults   *simulators.Injector
	sessions *sessionStore
	handler  http.Handler
	logins   atomic.Int64
	injected atomic.Int64
	rejected atomic.Int64

	// notifyMu serialises reports of sales orders to the World.
	notifyMu sync.Mutex

	runner *simulators.Runner
	// stop is closed when Close begins.
	stop <-chan struct{}
}

// New creates the simulator's tables and starts its background loop.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil && cfg.Path == "" {
		return nil, errors.New("sapb1 simulator: set DB or Path")
	}
	if cfg.CompanyDB == "" || cfg.UserName == "" || cfg.Password == "" {
		return nil, errors.New("sapb1 simulator: CompanyDB, UserName and Password are required")
	}
	cfg.applyDefaults()

	s := &Simulator{cfg: cfg, db: cfg.DB, world: cfg.World, faults: cfg.Faults}
	logger := cfg.Logger
	if logger == nil {
		logger = logrus.New()
	}
	s.log = logger.WithField(logging.KeyComponent, "sapb1-simulator")
	s.runner = simulators.NewRunner("SAP Business One simulator", s.log)
	s.stop = s.runner.Stopping()
	if s.world == nil {
		s.world = simulators.NopWorld{}
	}
	if s.faults == nil {
		injector, err := simulators.NewInjector(simulators.FaultConfig{}, DefaultFaults...)
		if err != nil {
			return nil, err
		}
		s.faults = injector
	}

	if s.db == nil {
		db, err := sqlitedb.Open(cfg.Path, 1)
		if err != nil {
			return nil, err
		}
		s.db, s.ownDB = db, db
	}
	if err := migrate(ctx, s.db); err != nil {
		_ = s.closeDB()
		return nil, err
	}

	s.sessions = newSessionStore(cfg.SessionTimeout)
	s.handler = s.routes()
	s.runner.Go(s.reportLoop)
	return s, nil
}

// Handler returns the HTTP handler serving /b1s/v1/ and /sim/.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Faults returns the fault injector.
func (s *Simulator) Faults() *simulators.Injector { return s.faults }

// InjectNext makes the next request whose "METHOD resource" starts with
// prefix, e.g. "POST Orders", fail with fault, whatever the configured
// rate. Tests use it to hit one exact call; other requests are not affected.
func (s *Simulator) InjectNext(fault simulators.Fault, prefix string) {
	s.faults.Arm(fault, prefix)
}

// Stats returns login and session counts.
func (s *Simulator) Stats() Stats {
	return Stats{Logins: s.logins.Load(), Sessions: s.sessions.count(), Rejected: s.rejected.Load(), Faults: s.injected.Load()}
}

// ExpireSessions ends every session and returns how many there were.
func (s *Simulator) ExpireSessions() int { return s.sessions.dropAll() }

// Start serves the simulator on addr and returns the Service Layer base
// URL, such as "http://127.0.0.1:8095/b1s/v1/".
func (s *Simulator) Start(addr string) (string, error) {
	url, err := s.runner.Serve(addr, s.handler)
	if err != nil {
		return "", err
	}
	return url + "/b1s/v1/", nil
}

// Close stops the server, the background loop and, if the simulator
// opened it, the database.
func (s *Simulator) Close() error { return s.runner.Close(s.closeDB) }

func (s *Simulator) closeDB() error {
	if s.ownDB == nil {
		return nil
	}
	if err := s.ownDB.Close(); err != nil {
		return fmt.Errorf("close SAP Business One simulator database: %w", err)
	}
	return nil
}

// reportLoop reports sales orders the World has not acknowledged yet.
func (s *Simulator) reportLoop() {
	ticker := time.NewTicker(s.cfg.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.reportPending(ctx); err != nil {
				s.log.WithError(err).Warn("Failed to report sales orders; will retry")
			}
			cancel()
		}
	}
}
