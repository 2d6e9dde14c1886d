package einvoice

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// Envelope codes, listed in the package doc.
const (
	codeOK             = "0000"
	codeValidation     = "1001"
	codeSerialConflict = "1002"
	codeStateConflict  = "1003"
	codeNotFound       = "1004"
	codeBadSignature   = "2001"
	codeStaleTimestamp = "2002"
	codeNonceReused    = "2003"
	codeUnknownAppKey  = "2004"
	codeThrottled      = "3001"
	codeInternal       = "5000"
)

const (
	maxBodyBytes = 4 << 20
	componentID  = "einvoice-sim"
)

// Log field names this package adds to those of package logging.
const (
	keyFault      = "fault"
	keyFaultRate  = "fault_rate"
	keyFaultKinds = "fault_kinds"
	keyLoop       = "loop"
)

// Simulator is the simulated invoicing platform. Create it with New, then
// Start it; Close stops the server and the background loops.
type Simulator struct {
	cfg       Config
	log       logrus.FieldLogger
	injector  *simulators.Injector
	validator validator
	nonces    *nonceCache

	callbackMu  sync.Mutex
	callbackURL string
	callbacks   *http.Client

	runner *simulators.Runner
}

// New validates the configuration and creates the simulator's tables.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	injector, err := simulators.NewInjector(cfg.Faults, DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("einvoice simulator: %w", err)
	}
	if err := migrate(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("einvoice simulator: %w", err)
	}
	log := cfg.Logger.WithField(logging.KeyComponent, componentID)
	return &Simulator{
		cfg:      cfg,
		log:      log,
		injector: injector,
		runner:   simulators.NewRunner("e-invoice simulator", log),
		validator: validator{
			rates:             cfg.TaxRates,
			lineTaxTolerance:  cfg.LineTaxTolerance,
			totalTaxTolerance: cfg.TotalTaxTolerance,
		},
		nonces:      newNonceCache(2 * cfg.ClockSkew),
		callbackURL: cfg.CallbackURL,
		callbacks:   &http.Client{Timeout: cfg.CallbackTimeout},
	}, nil
}

// Start listens on Config.Address and starts the loops that issue due
// requests, report them to the World and deliver callbacks. The loops stop
// when ctx ends or Close is called.
func (s *Simulator) Start(ctx context.Context) error {
	if _, err := s.runner.Serve(s.cfg.Address, s.Handler()); err != nil {
		return err
	}
	s.runner.GoContext(ctx, func(ctx context.Context) { s.runLoop(ctx, "issue", s.completeDue) })
	s.runner.GoContext(ctx, func(ctx context.Context) { s.runLoop(ctx, "callback", s.deliverDue) })
	return nil
}

// URL returns the base URL of the started server, e.g. http://127.0.0.1:4321.
func (s *Simulator) URL() string { return s.runner.URL() }

// Injector returns the fault injector, for tests and the admin endpoint.
func (s *Simulator) Injector() *simulators.Injector { return s.injector }

// SetCallbackURL changes where events of requests completed from now on
// are sent. Events already queued keep their URL.
func (s *Simulator) SetCallbackURL(url string) {
	s.callbackMu.Lock()
	defer s.callbackMu.Unlock()
	s.callbackURL = url
}

func (s *Simulator) currentCallbackURL() string {
	s.callbackMu.Lock()
	defer s.callbackMu.Unlock()
	return s.callbackURL
}

// Close stops the server and waits for the background loops. Requests that
// are still processing stay in the database for the next start.
func (s *Simulator) Close() error { return s.runner.Close(nil) }

// Handler returns the HTTP handler of the platform API and the simulator
// controls.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/invoices", s.api(s.handleIssue))
	mux.HandleFunc("GET /v1/invoices/{serial_no}", s.api(s.handleGet))
	mux.HandleFunc("POST /v1/red-confirmations", s.api(s.handleRedConfirmation))
	mux.HandleFunc("POST /v1/red-invoices", s.api(s.handleRedIssue))
	mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	mux.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	mux.HandleFunc("GET /sim/health", func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, http.StatusOK, codeOK, "ok", nil)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path), nil)
	})
	return mux
}

type faultKey struct{}

// drawnFault returns the fault drawn for the request, FaultNone if none.
func drawnFault(ctx context.Context) simulators.Fault {
	fault, _ := ctx.Value(faultKey{}).(simulators.Fault)
	return fault
}

// apiHandler handles an authenticated API request whose body was read.
type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// api wraps an endpoint with the added latency, authentication and fault
// injection. Authentication runs before the fault draw, so a bad
// credential always gets 401.
func (s *Simulator) api(handler apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.wait(r.Context(), s.injector.Latency()) {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			writeEnvelope(w, http.StatusBadRequest, codeValidation, "read request body: "+err.Error(), nil)
			return
		}
		if len(body) > maxBodyBytes {
			writeEnvelope(w, http.StatusRequestEntityTooLarge, codeValidation, "request body larger than 4 MiB", nil)
			return
		}
		if authErr := s.authenticate(r, body); authErr != nil {
			s.log.WithFields(logrus.Fields{logging.KeyHTTPPath: r.URL.Path, logging.KeyRemoteAddr: r.RemoteAddr}).
				Warn("rejected request: " + authErr.message)
			writeEnvelope(w, http.StatusUnauthorized, authErr.code, authErr.message, nil)
			return
		}

		fault := s.injector.Draw()
		if fault != simulators.FaultNone {
			s.log.WithFields(logrus.Fields{logging.KeyHTTPPath: r.URL.Path, keyFault: string(fault)}).Debug("injecting fault")
		}
		switch fault {
		case simulators.FaultServerError:
			writeEnvelope(w, http.StatusInternalServerError, codeInternal, "internal error, try again later", nil)
		case simulators.FaultThrottle:
			writeEnvelope(w, http.StatusTooManyRequests, codeThrottled, "rate limit exceeded, try again later", nil)
		case simulators.FaultTimeout:
			s.wait(r.Context(), s.injector.Hang())
			simulators.LoseReply(w)
		case simulators.FaultLostReply:
			ctx := context.WithValue(r.Context(), faultKey{}, fault)
			handler(&discardWriter{header: http.Header{}}, r.WithContext(ctx), body)
			simulators.LoseReply(w)
		default:
			ctx := context.WithValue(r.Context(), faultKey{}, fault)
			handler(w, r.WithContext(ctx), body)
		}
	}
}

// wait sleeps for d and reports false if the request or the simulator
// ended first.
func (s *Simulator) wait(ctx context.Context, d time.Duration) bool {
	return s.runner.Wait(ctx, d)
}

// discardWriter takes the reply of a request whose reply is to be lost.
type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

type envelope struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func writeEnvelope(w http.ResponseWriter, status int, code, message string, data any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope{Code: code, Message: message, Data: data})
}

func writeValidation(w http.ResponseWriter, errs []fieldError) {
	writeEnvelope(w, http.StatusBadRequest, codeValidation, "validation failed", map[string]any{"errors": errs})
}

// writeInternal logs a storage error and replies 500, which clients retry.
func (s *Simulator) writeInternal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.WithFields(logrus.Fields{logging.KeyHTTPPath: r.URL.Path, logging.KeyError: err}).Error("request failed")
	writeEnvelope(w, http.StatusInternalServerError, codeInternal, "internal error, try again later", nil)
}

func (s *Simulator) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, http.StatusOK, codeOK, "success", s.injector.Config())
}

func (s *Simulator) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var config simulators.FaultConfig
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&config); err != nil {
		writeEnvelope(w, http.StatusBadRequest, codeValidation, "invalid fault configuration: "+err.Error(), nil)
		return
	}
	if config.Rate < 0 || config.Rate > 1 {
		writeEnvelope(w, http.StatusBadRequest, codeValidation,
			fmt.Sprintf("invalid fault rate %v: use a probability between 0 and 1", config.Rate), nil)
		return
	}
	s.injector.SetConfig(config)
	s.log.WithFields(logrus.Fields{keyFaultRate: config.Rate, keyFaultKinds: config.Kinds}).Info("fault configuration changed")
	writeEnvelope(w, http.StatusOK, codeOK, "success", s.injector.Config())
}
