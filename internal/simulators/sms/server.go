// Package sms simulates the SMS APIs that ordo's SMS channel calls:
// Aliyun's Dysmsapi (SendSms, QuerySendDetails, RPC style with signature
// version 1.0) and Tencent Cloud SMS (SendSms,
// PullSmsSendStatusByPhoneNumber, API 3.0 with TC3-HMAC-SHA256), both on
// one listener. It verifies every signature, checks numbers, signatures
// and templates as the providers do, enforces a daily limit per number
// and injects latency, 5xx replies, throttling, requests that hang and
// are dropped, and lost replies. Every SMS request to every number is a
// row of sim_sms_messages, with its outcome, so duplicates and losses can
// be counted.
package sms

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{
	simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultTimeout, simulators.FaultLostReply,
}

const componentID = "sms-sim"

// Template is a template the simulated providers approved.
type Template struct {
	// Params are the parameter names. Aliyun requests must fill exactly
	// these names; Tencent requests must give as many values.
	Params []string
	// Text is the template text with ${name} (Aliyun) or {1} (Tencent)
	// placeholders; empty records no text.
	Text string
}

// Config configures the simulator. Zero values take the defaults named on
// each field.
type Config struct {
	// DB stores the messages. Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// AccessKeyID and AccessKeySecret are the Aliyun credentials accepted;
	// empty rejects every Aliyun request.
	AccessKeyID     string
	AccessKeySecret string
	// SecretID, SecretKey and SDKAppID are the Tencent credentials and
	// application accepted; empty rejects every Tencent request.
	SecretID  string
	SecretKey string
	SDKAppID  string
	// SignNames are the approved signatures.
	SignNames []string
	// Templates maps template ids to approved templates.
	Templates map[string]Template
	// DailyLimit is the number of SMS one number may receive a day
	// (Asia/Shanghai days), default 10. A request over it is rejected
	// with isv.BUSINESS_LIMIT_CONTROL or LimitExceeded.PhoneNumberDailyLimit.
	DailyLimit int
	// InvalidNumbers are numbers, in E.164 form, that the carriers reject.
	InvalidNumbers []string
	// ReceiptDelay is how long after delivery Tencent's receipt becomes
	// visible to PullSmsSendStatusByPhoneNumber, default 0.
	ReceiptDelay time.Duration
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Simulator is the SMS API simulator. Create it with New, then Start it
// or mount Handler; Close stops it.
type Simulator struct {
	cfg      Config
	log      logrus.FieldLogger
	injector *simulators.Injector
	location *time.Location

	faults  simulators.Queue[simulators.Fault]
	codes   simulators.Queue[string]
	invalid simulators.IDSet

	mu     sync.Mutex
	nonces map[string]time.Time

	// sendMu serialises sends, so the daily-limit count and the insert are
	// one step.
	sendMu sync.Mutex

	server *simulators.HTTPServer
}

// New validates the configuration and creates the table.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("SMS simulator: missing DB")
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.DailyLimit <= 0 {
		cfg.DailyLimit = 10
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}

	location, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, fmt.Errorf("SMS simulator: load Asia/Shanghai: %w", err)
	}
	injector, err := simulators.NewInjector(cfg.Faults, DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("SMS simulator: %w", err)
	}
	if err := Migrate(ctx, cfg.DB); err != nil {
		return nil, err
	}
	s := &Simulator{
		cfg: cfg, injector: injector, location: location, nonces: map[string]time.Time{},
		log: cfg.Logger.WithField(logging.KeyComponent, componentID),
	}
	s.SetInvalidNumbers(cfg.InvalidNumbers...)
	return s, nil
}

// Start listens on the configured address and serves in the background.
func (s *Simulator) Start() error {
	server, err := simulators.ServeHTTP(s.cfg.Address, s.Handler(), s.log, "SMS simulator")
	if err != nil {
		return err
	}
	s.server = server
	return nil
}

// URL returns the base URL clients use, once started.
func (s *Simulator) URL() string { return s.server.URL() }

// Close stops the server.
func (s *Simulator) Close() error {
	if s.server == nil {
		return nil
	}
	return s.server.Close()
}

// Handler serves both APIs and the control endpoints:
//
//	POST /                  Tencent API 3.0 when X-TC-Action is set, else Aliyun RPC
//	GET  /                  Aliyun RPC with the parameters in the query
//	POST /sim/inject?code=isv.AMOUNT_NOT_ENOUGH&count=1
//	GET  /sim/messages?phone=
//	GET  /sim/summary
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-TC-Action") != "" {
			s.tencent(w, r)
			return
		}
		s.aliyun(w, r)
	})
	mux.HandleFunc("GET /{$}", s.aliyun)
	mux.HandleFunc("POST /sim/inject", func(w http.ResponseWriter, r *http.Request) {
		code := r.URL.Query().Get("code")
		count, err := strconv.Atoi(r.URL.Query().Get("count"))
		if code == "" || err != nil || count < 1 {
			http.Error(w, "code is required and count must be an integer of at least 1", http.StatusBadRequest)
			return
		}
		codes := make([]string, count)
		for i := range codes {
			codes[i] = code
		}
		s.InjectCodes(codes...)
		writeJSON(w, http.StatusOK, map[string]any{"code": code, "count": count})
	})
	mux.HandleFunc("GET /sim/messages", func(w http.ResponseWriter, r *http.Request) {
		messages, err := List(r.Context(), s.cfg.DB, r.URL.Query().Get("phone"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, messages)
	})
	mux.HandleFunc("GET /sim/summary", func(w http.ResponseWriter, r *http.Request) {
		summary, err := s.Summary(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, summary)
	})
	return mux
}

// Summary counts the messages by outcome.
func (s *Simulator) Summary(ctx context.Context) (Summary, error) {
	return Summarize(ctx, s.cfg.DB)
}

// Messages lists the messages, of one number when phone is not empty.
func (s *Simulator) Messages(ctx context.Context, phone string) ([]Message, error) {
	return List(ctx, s.cfg.DB, phone)
}

// Faults returns the injector, so tests and the dev stack change the
// fault rate while the simulator runs.
func (s *Simulator) Faults() *simulators.Injector { return s.injector }

// InjectFaults makes the next SendSms requests, one per fault, fail with
// faults in order, before any drawn fault.
func (s *Simulator) InjectFaults(faults ...simulators.Fault) { s.faults.Push(faults...) }

// InjectCodes makes the next SendSms requests, one per code, be rejected
// with the codes in order, e.g. isv.AMOUNT_NOT_ENOUGH or
// FailedOperation.InsufficientBalanceInSmsPackage.
func (s *Simulator) InjectCodes(codes ...string) { s.codes.Push(codes...) }

// SetInvalidNumbers replaces the numbers the carriers reject.
func (s *Simulator) SetInvalidNumbers(numbers ...string) { s.invalid.Replace(numbers...) }

// nextFault returns the fault of a request: an injected one for SendSms
// first, else a drawn one.
func (s *Simulator) nextFault(send bool) simulators.Fault {
	if send {
		if fault, ok := s.faults.Pop(); ok {
			return fault
		}
	}
	return s.injector.Draw()
}

func (s *Simulator) nextCode() (string, bool) { return s.codes.Pop() }

func (s *Simulator) isInvalid(phone string) bool { return s.invalid.Contains(phone) }

// useNonce records an Aliyun SignatureNonce and reports whether it is new.
// Nonces are kept for 15 minutes, the timestamp tolerance.
func (s *Simulator) useNonce(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, at := range s.nonces {
		if now.Sub(at) > 15*time.Minute {
			delete(s.nonces, n)
		}
	}
	if _, used := s.nonces[nonce]; used {
		return false
	}
	s.nonces[nonce] = now
	return true
}

// overDailyLimit reports whether phone received DailyLimit SMS today.
func (s *Simulator) overDailyLimit(ctx context.Context, provider, phone string, now time.Time) (bool, error) {
	local := now.In(s.location)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.location)
	sent, err := delivered(ctx, s.cfg.DB, provider, phone, start, start.AddDate(0, 0, 1))
	if err != nil {
		return false, err
	}
	return len(sent) >= s.cfg.DailyLimit, nil
}

func (s *Simulator) signApproved(name string) bool {
	for _, approved := range s.cfg.SignNames {
		if approved == name {
			return true
		}
	}
	return false
}

func (s *Simulator) insert(ctx context.Context, message *Message) error {
	if _, err := s.cfg.DB.NewInsert().Model(message).Exec(ctx); err != nil {
		return fmt.Errorf("insert SMS message: %w", err)
	}
	s.log.WithFields(logrus.Fields{
		"provider": message.Provider, "outcome": message.Outcome, "code": message.Code, "template_id": message.TemplateID,
	}).Debug("SMS request")
	return nil
}

// applyFault sleeps the configured latency, then replies to the faults
// that prevent the work. It reports whether it replied. Lost replies are
// applied after the work.
func (s *Simulator) applyFault(w http.ResponseWriter, fault simulators.Fault, throttle func(http.ResponseWriter)) bool {
	return s.injector.ReplyFault(w, fault, func(w http.ResponseWriter, fault simulators.Fault) bool {
		if fault == simulators.FaultThrottle {
			throttle(w)
			return true
		}
		return false
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteString(d.String())
	}
	return b.String()
}
