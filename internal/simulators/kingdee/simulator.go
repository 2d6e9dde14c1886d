// Package kingdee simulates the WebAPI of Kingdee K/3 Cloud (金蝶云星空), the
// ERP ordo's Kingdee connector talks to.
//
// The simulator serves the same JSON-over-POST protocol under /k3cloud/:
// AuthService.ValidateUser and LoginByAppSecret, and DynamicFormService
// Save, BatchSave, Draft, Submit, Audit, UnAudit, Delete, View,
// ExecuteBillQuery and ExcuteOperation (ForceClose of production orders).
// It implements the forms the contract-to-cash chain uses: BD_Customer,
// SAL_SaleOrder, PRD_MO, SAL_OUTSTOCK, AR_receivable and AR_RECEIVEBILL,
// and BD_SAL_PriceList, the price list that approved price changes write.
// Error messages are Chinese, as Kingdee sends them to a client logged in
// with lcid 2052.
//
// Documents live in SQLite, so they survive a restart and a kill -9, and
// every created document is appended to the shared simulator ledger in the
// transaction that creates it. The contract number travels in the custom
// header field F_ORDO_ContractNo (ContractNoField) of every form.
//
// An audited production order completes (FStatus 5) after
// Config.CompletionDelay. The due time is stored, so the completion happens
// after a restart too, and an optional signed callback reports it.
//
// Besides the WebAPI the handler serves a small admin API:
//
//	GET  /sim/faults           current fault configuration (durations in nanoseconds)
//	PUT  /sim/faults           replace it
//	GET  /sim/ledger           ledger summary, or with ?contract_no=X one contract's Kingdee entries
//	GET  /sim/stats            login and session counts
//	POST /sim/sessions/expire  end every session, as an application-pool recycle does
package kingdee

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
const System = "kingdee"

// ContractNoField is the custom header field that carries ordo's contract
// number on every form. A real Kingdee needs the field added to each form
// (BOS designer) under the same key.
const ContractNoField = "F_ORDO_ContractNo"

// FaultSessionLost is the Kingdee-specific fault: the caller's session is
// dropped before the call runs, so this call and every later call with the
// same cookie get the session-lost error until the client logs in again.
const FaultSessionLost simulators.Fault = "session_lost"

// DefaultFaults are the faults drawn when the fault configuration lists
// none. Latency applies to every request regardless of the draw.
var DefaultFaults = []simulators.Fault{
	simulators.FaultServerError,
	simulators.FaultThrottle,
	simulators.FaultTimeout,
	simulators.FaultLostReply,
	FaultSessionLost,
}

// MaxQueryRows is the maximum number of rows one ExecuteBillQuery call
// returns. Clients page with StartRow and Limit.
const MaxQueryRows = 2000

// Config configures a Simulator. AccountID, Username and either Password or
// AppID with AppSecret are required.
type Config struct {
	// DB is the simulators database shared with the other simulators in
	// ordo dev. When nil, the simulator opens Path and closes it in Close.
	DB   bun.IDB
	Path string

	Logger *logrus.Logger
	// World receives audited sales orders. Nil means simulators.NopWorld.
	World simulators.World
	// Faults injects failures. Nil creates an injector with rate 0, which
	// the admin API can turn up at run time.
	Faults *simulators.Injector

	// AccountID is the data center id (acctID) clients log in to.
	AccountID string
	Username  string
	Password  string
	// AppID and AppSecret enable LoginByAppSecret.
	AppID     string
	AppSecret string

	// SessionIdleTimeout ends a session unused for this long. Default 20 minutes.
	SessionIdleTimeout time.Duration
	// CompletionDelay is how long an audited production order takes to
	// complete. Default 2 minutes.
	CompletionDelay time.Duration
	// PollInterval is how often due completions and pending notifications
	// are processed. Default 1 second.
	PollInterval time.Duration

	// CallbackURL receives a signed POST when a production order completes.
	// Empty disables callbacks. CallbackSecret is then required.
	CallbackURL    string
	CallbackSecret string
	// CallbackAttempts is how often a callback is tried before it is given
	// up. Default 5.
	CallbackAttempts int
	// CallbackBackoff is the wait after the first failed attempt, doubled
	// after each further one. Default 1 second.
	CallbackBackoff time.Duration
	// CallbackTimeout bounds one callback request. Default 5 seconds.
	CallbackTimeout time.Duration
}

func (c *Config) applyDefaults() {
	if c.SessionIdleTimeout <= 0 {
		c.SessionIdleTimeout = 20 * time.Minute
	}
	if c.CompletionDelay <= 0 {
		c.CompletionDelay = 2 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.CallbackAttempts <= 0 {
		c.CallbackAttempts = 5
	}
	if c.CallbackBackoff <= 0 {
		c.CallbackBackoff = time.Second
	}
	if c.CallbackTimeout <= 0 {
		c.CallbackTimeout = 5 * time.Second
	}
}

func (c *Config) validate() error {
	if c.DB == nil && c.Path == "" {
		return errors.New("kingdee simulator: set DB or Path")
	}
	if c.AccountID == "" || c.Username == "" {
		return errors.New("kingdee simulator: AccountID and Username are required")
	}
	if c.Password == "" && (c.AppID == "" || c.AppSecret == "") {
		return errors.New("kingdee simulator: set Password, or AppID and AppSecret")
	}
	if c.CallbackURL != "" && c.CallbackSecret == "" {
		return errors.New("kingdee simulator: CallbackSecret is required with CallbackURL")
	}
	return nil
}

// Stats counts what the simulator served since it started.
type Stats struct {
	// Logins is the number of successful logins.
	Logins int64 `json:"logins"`
	// Sessions is the number of live sessions.
	Sessions int `json:"sessions"`
	// Rejected is the number of calls rejected because their session was
	// lost or unknown.
	Rejected int64 `json:"rejected"`
}

// Simulator is a running Kingdee WebAPI simulator. Use Handler to mount it
// on an existing server, or Start to serve it on its own listener.
type Simulator struct {
	cfg      Config
	db       bun.IDB
	ownDB    *bun.DB
	log      *logrus.Entry
	world    simulators.World
	faults   *simulators.Injector
	sessions *sessionStore
	handler  http.Handler

	callbackClient *http.Client
	// wakeCallbacks starts a callback delivery round early.
	wakeCallbacks chan struct{}

	logins   atomic.Int64
	rejected atomic.Int64

	// notifyMu serialises reports of audited sales orders.
	notifyMu sync.Mutex
	// notifyRetryAt and notifyRetryDelay pace the retries of failed
	// sales-order notifications; only the maintenance loop uses them.
	notifyRetryAt    time.Time
	notifyRetryDelay time.Duration

	runner *simulators.Runner
	// stop is closed when Close begins.
	stop <-chan struct{}
}

// New opens the database, creates the simulator's tables and starts the
// background loop that completes production orders, retries notifications
// and delivers callbacks. Call Close to stop it.
func New(cfg Config) (*Simulator, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = logging.Discard()
	}
	s := &Simulator{
		cfg:            cfg,
		db:             cfg.DB,
		log:            logger.WithField(logging.KeyComponent, "kingdee-simulator"),
		world:          cfg.World,
		faults:         cfg.Faults,
		sessions:       newSessionStore(cfg.SessionIdleTimeout),
		callbackClient: &http.Client{Timeout: cfg.CallbackTimeout},
		wakeCallbacks:  make(chan struct{}, 1),
	}
	s.runner = simulators.NewRunner("Kingdee simulator", s.log)
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
		db, err := sqlitedb.Open(cfg.Path, 4)
		if err != nil {
			return nil, err
		}
		s.db, s.ownDB = db, db
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := migrate(ctx, s.db); err != nil {
		s.closeDB()
		return nil, err
	}
	s.handler = s.routes()

	s.runner.Go(s.maintenanceLoop)
	s.runner.Go(s.callbackLoop)
	return s, nil
}

// Handler returns the HTTP handler serving /k3cloud/ and /sim/.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Faults returns the fault injector, for tests that change it directly.
func (s *Simulator) Faults() *simulators.Injector { return s.faults }

// Stats returns login and session counts.
func (s *Simulator) Stats() Stats {
	return Stats{Logins: s.logins.Load(), Sessions: s.sessions.count(), Rejected: s.rejected.Load()}
}

// InjectNext makes the next call whose method, in lower case, starts with
// prefix get fault, whatever the configured rate: "save", "submit",
// "audit", "view", "executebillquery" or "validateuser". Tests use it to
// hit one exact call.
func (s *Simulator) InjectNext(fault simulators.Fault, prefix string) {
	s.faults.Arm(fault, prefix)
}

// ExpireSessions ends every session and returns how many there were.
func (s *Simulator) ExpireSessions() int { return s.sessions.dropAll() }

// Start serves the simulator on addr (for example "127.0.0.1:0") and
// returns the WebAPI base URL, such as "http://127.0.0.1:41234/k3cloud/".
func (s *Simulator) Start(addr string) (string, error) {
	url, err := s.runner.Serve(addr, s.handler)
	if err != nil {
		return "", err
	}
	return url + "/k3cloud/", nil
}

// Close stops the server started by Start, the background loops and, if
// the simulator opened it, the database. Pending completions and callbacks
// stay in the database for the next start.
func (s *Simulator) Close() error { return s.runner.Close(s.closeDB) }

func (s *Simulator) closeDB() error {
	if s.ownDB == nil {
		return nil
	}
	if err := s.ownDB.Close(); err != nil {
		return fmt.Errorf("close Kingdee simulator database: %w", err)
	}
	return nil
}

// routes builds the handler: the admin API under /sim/ and the WebAPI
// under /k3cloud/, whose prefix Kingdee matches case-insensitively.
func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	mux.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	mux.HandleFunc("GET /sim/ledger", s.handleLedger)
	mux.HandleFunc("GET /sim/stats", s.handleStats)
	mux.HandleFunc("POST /sim/sessions/expire", s.handleExpireSessions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(strings.ToLower(r.URL.Path), "/k3cloud/") {
			s.serveAPI(w, r)
			return
		}
		http.NotFound(w, r)
	})
	return mux
}
