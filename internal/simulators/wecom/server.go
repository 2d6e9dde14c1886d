// Package wecom simulates the parts of the WeCom (企业微信) server API that
// ordo's WeCom channel calls: gettoken and message/send, with tokens that
// expire, injectable 40014 and 42001 replies, invalid users and the
// per-member limit of 30 messages a minute. Every message to every member
// is a row of sim_wecom_messages, with its outcome, so duplicates and
// losses can be counted.
package wecom

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

// FaultBusy returns errcode -1 (system busy) without doing the work.
const FaultBusy simulators.Fault = "busy"

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{FaultBusy, simulators.FaultServerError, simulators.FaultLostReply}

const componentID = "wecom-sim"

// Config configures the simulator. Zero values take the defaults named on
// each field.
type Config struct {
	// DB stores the messages. Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// CorpID, Secret and AgentID identify the one app the simulator accepts.
	CorpID  string
	Secret  string
	AgentID int64
	// TokenTTL is the lifetime of an access token, default 7200 seconds.
	TokenTTL time.Duration
	// Limit messages per member in any Window, default 30 a minute.
	Limit  int
	Window time.Duration
	// SilentDrop returns errcode 0 for over-limit messages and drops
	// them, as the real service does. Off, they get errcode 45009.
	SilentDrop bool
	// InvalidUsers are user ids that do not exist.
	InvalidUsers []string
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Simulator is the WeCom API simulator. Create it with New, then Start it
// or mount Handler; Close stops it.
type Simulator struct {
	cfg      Config
	log      logrus.FieldLogger
	injector *simulators.Injector

	mu      sync.Mutex
	tokens  map[string]time.Time
	inject  []int
	invalid map[string]bool

	// sendMu serialises message/send, so the rate-limit count and the
	// insert are one step.
	sendMu sync.Mutex

	server   *http.Server
	listener net.Listener
}

// New validates the configuration and creates the table.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("WeCom simulator: missing DB")
	}
	if cfg.CorpID == "" || cfg.Secret == "" || cfg.AgentID <= 0 {
		return nil, errors.New("WeCom simulator: missing corp id, secret or agent id")
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 30
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		logger := logrus.New()
		logger.Out = discard{}
		cfg.Logger = logger
	}
	injector, err := simulators.NewInjector(cfg.Faults, DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("WeCom simulator: %w", err)
	}
	if err := Migrate(ctx, cfg.DB); err != nil {
		return nil, err
	}
	s := &Simulator{
		cfg: cfg, injector: injector, tokens: map[string]time.Time{}, invalid: map[string]bool{},
		log: cfg.Logger.WithField(logging.KeyComponent, componentID),
	}
	s.SetInvalidUsers(cfg.InvalidUsers...)
	return s, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Start listens on the configured address and serves in the background.
func (s *Simulator) Start() error {
	listener, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("WeCom simulator: listen on %s: %w", s.cfg.Address, err)
	}
	s.listener = listener
	s.server = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("WeCom simulator stopped")
		}
	}()
	s.log.WithField("address", listener.Addr().String()).Info("WeCom simulator listening")
	return nil
}

// URL returns the base URL clients use, once started.
func (s *Simulator) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops the server.
func (s *Simulator) Close() error {
	if s.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.server.Shutdown(ctx)
}

// Handler serves the API and the control endpoints:
//
//	GET  /cgi-bin/gettoken?corpid=&corpsecret=
//	POST /cgi-bin/message/send?access_token=
//	POST /sim/expire_tokens            every issued token returns 42001
//	POST /sim/inject?errcode=40014&count=1
//	GET  /sim/messages?userid=
//	GET  /sim/summary
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", s.getToken)
	mux.HandleFunc("POST /cgi-bin/message/send", s.send)
	mux.HandleFunc("POST /sim/expire_tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		writeJSON(w, map[string]any{"expired": true})
	})
	mux.HandleFunc("POST /sim/inject", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("errcode"))
		count, cerr := strconv.Atoi(r.URL.Query().Get("count"))
		if err != nil || cerr != nil || count < 1 {
			http.Error(w, "errcode and count must be integers, count at least 1", http.StatusBadRequest)
			return
		}
		s.InjectSendErrors(code, count)
		writeJSON(w, map[string]any{"errcode": code, "count": count})
	})
	mux.HandleFunc("GET /sim/messages", func(w http.ResponseWriter, r *http.Request) {
		messages, err := List(r.Context(), s.cfg.DB, r.URL.Query().Get("userid"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, messages)
	})
	mux.HandleFunc("GET /sim/summary", func(w http.ResponseWriter, r *http.Request) {
		summary, err := s.Summary(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, summary)
	})
	return mux
}

// Summary counts the messages by outcome.
func (s *Simulator) Summary(ctx context.Context) (Summary, error) {
	return Summarize(ctx, s.cfg.DB)
}

// Messages lists the messages, of one member when userID is not empty.
func (s *Simulator) Messages(ctx context.Context, userID string) ([]Message, error) {
	return List(ctx, s.cfg.DB, userID)
}

// ExpireTokens makes every issued token fail with 42001.
func (s *Simulator) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.cfg.Clock().Add(-time.Second)
	for token := range s.tokens {
		s.tokens[token] = past
	}
}

// InjectSendErrors makes the next count message/send requests answer code
// without sending, e.g. 40014, 42001, -1 or 45009.
func (s *Simulator) InjectSendErrors(code, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range count {
		s.inject = append(s.inject, code)
	}
}

// SetInvalidUsers replaces the user ids that do not exist.
func (s *Simulator) SetInvalidUsers(users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalid = map[string]bool{}
	for _, user := range users {
		s.invalid[user] = true
	}
}

// TokensIssued returns how many tokens the simulator issued.
func (s *Simulator) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func (s *Simulator) getToken(w http.ResponseWriter, r *http.Request) {
	if s.fault(w) {
		return
	}
	query := r.URL.Query()
	if query.Get("corpid") != s.cfg.CorpID || query.Get("corpsecret") != s.cfg.Secret {
		writeJSON(w, map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
		return
	}
	token := randomHex(32)
	s.mu.Lock()
	s.tokens[token] = s.cfg.Clock().Add(s.cfg.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": int(s.cfg.TokenTTL / time.Second)})
}

type sendRequest struct {
	ToUser   string `json:"touser"`
	MsgType  string `json:"msgtype"`
	AgentID  int64  `json:"agentid"`
	TextCard *struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		URL         string `json:"url"`
		BtnTxt      string `json:"btntxt"`
	} `json:"textcard"`
	Text *struct {
		Content string `json:"content"`
	} `json:"text"`
	EnableDuplicateCheck   int `json:"enable_duplicate_check"`
	DuplicateCheckInterval int `json:"duplicate_check_interval"`
}

func (s *Simulator) send(w http.ResponseWriter, r *http.Request) {
	fault := s.injector.Draw()
	if s.applyFault(w, fault) {
		return
	}
	if code, ok := s.checkToken(r.URL.Query().Get("access_token")); !ok {
		writeJSON(w, map[string]any{"errcode": code, "errmsg": tokenMessage(code)})
		return
	}
	if code, ok := s.nextInjected(); ok {
		writeJSON(w, map[string]any{"errcode": code, "errmsg": "injected by the simulator"})
		return
	}
	var request sendRequest
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		writeJSON(w, map[string]any{"errcode": 40058, "errmsg": "invalid json: " + err.Error()})
		return
	}
	message, code, reason := s.parse(request)
	if code != 0 {
		writeJSON(w, map[string]any{"errcode": code, "errmsg": reason})
		return
	}
	reply, err := s.deliver(r.Context(), request, message)
	if err != nil {
		s.log.WithError(err).Error("store WeCom message")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if fault == simulators.FaultLostReply {
		lose(w)
		return
	}
	writeJSON(w, reply)
}

// parse checks the request and returns the message template.
func (s *Simulator) parse(request sendRequest) (Message, int, string) {
	if request.AgentID != s.cfg.AgentID {
		return Message{}, 40056, fmt.Sprintf("invalid agentid %d", request.AgentID)
	}
	message := Message{MsgType: request.MsgType}
	switch request.MsgType {
	case "textcard":
		if request.TextCard == nil || request.TextCard.Title == "" || request.TextCard.Description == "" || request.TextCard.URL == "" {
			return Message{}, 44004, "textcard needs title, description and url"
		}
		if len(request.TextCard.Title) > 128 || len(request.TextCard.Description) > 512 {
			return Message{}, 45002, "content size out of limit"
		}
		message.Title, message.Content, message.URL = request.TextCard.Title, request.TextCard.Description, request.TextCard.URL
	case "text":
		if request.Text == nil || request.Text.Content == "" {
			return Message{}, 44004, "empty content"
		}
		message.Content = request.Text.Content
	default:
		return Message{}, 40008, fmt.Sprintf("invalid message type %q", request.MsgType)
	}
	sum := sha256.Sum256([]byte(message.MsgType + "\x00" + message.Title + "\x00" + message.Content + "\x00" + message.URL))
	message.Digest = hex.EncodeToString(sum[:16])
	return message, 0, ""
}

// deliver applies the recipient checks, the duplicate check and the rate
// limit to every member and stores one row per member.
func (s *Simulator) deliver(ctx context.Context, request sendRequest, template Message) (map[string]any, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()

	msgID := randomHex(16)
	now := s.cfg.Clock().UTC()
	var invalid, valid []string
	overLimit := false
	rows := []Message{}
	for _, user := range strings.Split(request.ToUser, "|") {
		user = strings.TrimSpace(user)
		if user == "" {
			continue
		}
		row := template
		row.MsgID, row.UserID, row.ReceivedAt = msgID, user, now
		outcome, err := s.outcome(ctx, request, row)
		if err != nil {
			return nil, err
		}
		row.Outcome = outcome
		switch outcome {
		case OutcomeInvalidUser:
			invalid = append(invalid, user)
		case OutcomeRateLimited:
			overLimit = true
		default:
			valid = append(valid, user)
		}
		rows = append(rows, row)
	}
	if len(rows) > 0 {
		if _, err := s.cfg.DB.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return nil, fmt.Errorf("insert WeCom messages: %w", err)
		}
	}
	s.log.WithFields(logrus.Fields{"msgid": msgID, "delivered": len(valid), "invalid": len(invalid)}).Debug("WeCom message")
	if overLimit {
		return map[string]any{"errcode": 45009, "errmsg": "api freq out of limit"}, nil
	}
	if len(valid) == 0 {
		return map[string]any{"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": strings.Join(invalid, "|")}, nil
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": strings.Join(invalid, "|"), "msgid": msgID}, nil
}

func (s *Simulator) outcome(ctx context.Context, request sendRequest, row Message) (string, error) {
	s.mu.Lock()
	invalid := s.invalid[row.UserID]
	s.mu.Unlock()
	if invalid {
		return OutcomeInvalidUser, nil
	}
	if request.EnableDuplicateCheck == 1 {
		interval := request.DuplicateCheckInterval
		if interval <= 0 {
			interval = 1800
		}
		since := row.ReceivedAt.Add(-time.Duration(interval) * time.Second)
		n, err := s.cfg.DB.NewSelect().Model((*Message)(nil)).
			Where("userid = ? AND digest = ? AND outcome = ? AND received_at > ?", row.UserID, row.Digest, OutcomeDelivered, since).Count(ctx)
		if err != nil {
			return "", fmt.Errorf("check WeCom duplicates: %w", err)
		}
		if n > 0 {
			return OutcomeDuplicate, nil
		}
	}
	since := row.ReceivedAt.Add(-s.cfg.Window)
	n, err := s.cfg.DB.NewSelect().Model((*Message)(nil)).
		Where("userid = ? AND outcome = ? AND received_at > ?", row.UserID, OutcomeDelivered, since).Count(ctx)
	if err != nil {
		return "", fmt.Errorf("count WeCom messages for the rate limit: %w", err)
	}
	if int(n) >= s.cfg.Limit {
		if s.cfg.SilentDrop {
			return OutcomeDropped, nil
		}
		return OutcomeRateLimited, nil
	}
	return OutcomeDelivered, nil
}

func (s *Simulator) checkToken(token string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expires, ok := s.tokens[token]
	if !ok {
		return 40014, false
	}
	if !s.cfg.Clock().Before(expires) {
		return 42001, false
	}
	return 0, true
}

func tokenMessage(code int) string {
	if code == 42001 {
		return "access_token expired"
	}
	return "invalid access_token"
}

func (s *Simulator) nextInjected() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.inject) == 0 {
		return 0, false
	}
	code := s.inject[0]
	s.inject = s.inject[1:]
	return code, true
}

// fault applies a drawn fault to a request that does no work.
func (s *Simulator) fault(w http.ResponseWriter) bool {
	return s.applyFault(w, s.injector.Draw())
}

// applyFault replies to the faults that prevent the work. Lost replies are
// applied after the work.
func (s *Simulator) applyFault(w http.ResponseWriter, fault simulators.Fault) bool {
	if latency := s.injector.Latency(); latency > 0 {
		time.Sleep(latency)
	}
	switch fault {
	case FaultBusy:
		writeJSON(w, map[string]any{"errcode": -1, "errmsg": "system busy"})
		return true
	case simulators.FaultServerError:
		http.Error(w, "injected server error", http.StatusInternalServerError)
		return true
	case simulators.FaultThrottle:
		http.Error(w, "injected throttle", http.StatusTooManyRequests)
		return true
	case simulators.FaultTimeout:
		time.Sleep(s.injector.Hang())
		lose(w)
		return true
	}
	return false
}

// lose drops the connection without a reply.
func lose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
