// Package wecom simulates the parts of the WeCom (企业微信) server API that
// ordo's WeCom channel calls: gettoken and message/send, with tokens that
// expire, injectable 40014 and 42001 replies, invalid users and the
// per-member limit of 30 messages a minute. Every message to every member
// is a row of sim_wecom_messages, with its outcome, so duplicates and
// losses can be counted.
package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/simulators/chatsim"
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

// Simulator is the WeCom API simulator. Create it with New, then Start
// it or mount Handler; Close stops it. ExpireTokens makes every issued
// token fail with 42001. InjectSendErrors makes the simulator reply to the
// next message/send requests with a code and send nothing. Typical codes are
// 40014, 42001, -1 or 45009.
type Simulator struct {
	*chatsim.Server

	cfg Config

	// sendMu serialises message/send, so the rate-limit count and the
	// insert are one step.
	sendMu sync.Mutex
}

// New validates the configuration and creates the table.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("WeCom simulator: missing DB")
	}
	if cfg.CorpID == "" || cfg.Secret == "" || cfg.AgentID <= 0 {
		return nil, errors.New("WeCom simulator: missing corp id, secret or agent id")
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 30
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	server, err := chatsim.NewServer(chatsim.Setup{
		Name: "WeCom simulator", Component: componentID, Address: cfg.Address, TokenTTL: cfg.TokenTTL,
		Faults: cfg.Faults, DefaultFaults: DefaultFaults, InvalidUsers: cfg.InvalidUsers,
		Clock: cfg.Clock, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, cfg.DB); err != nil {
		return nil, err
	}
	return &Simulator{Server: server, cfg: cfg}, nil
}

// Start listens on the configured address and serves in the background.
func (s *Simulator) Start() error { return s.Serve(s.Handler()) }

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
	chatsim.HandleControl(mux, s.Server, chatsim.Control{CodeParam: "errcode", RecipientParam: "userid"}, s.Messages, s.Summary)
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

func (s *Simulator) getToken(w http.ResponseWriter, r *http.Request) {
	if s.fault(w) {
		return
	}
	query := r.URL.Query()
	if query.Get("corpid") != s.cfg.CorpID || query.Get("corpsecret") != s.cfg.Secret {
		simulators.WriteJSON(w, map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
		return
	}
	token, ttl := s.Tokens().Issue("")
	simulators.WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": int(ttl / time.Second)})
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
	fault := s.Injector().Draw()
	if s.applyFault(w, fault) {
		return
	}
	if code, ok := s.checkToken(r.URL.Query().Get("access_token")); !ok {
		simulators.WriteJSON(w, map[string]any{"errcode": code, "errmsg": tokenMessage(code)})
		return
	}
	if code, ok := s.NextInjectedError(); ok {
		simulators.WriteJSON(w, map[string]any{"errcode": code, "errmsg": "injected by the simulator"})
		return
	}
	var request sendRequest
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		simulators.WriteJSON(w, map[string]any{"errcode": 40058, "errmsg": "invalid json: " + err.Error()})
		return
	}
	message, code, reason := s.parse(request)
	if code != 0 {
		simulators.WriteJSON(w, map[string]any{"errcode": code, "errmsg": reason})
		return
	}
	reply, err := s.deliver(r.Context(), request, message)
	if err != nil {
		s.Log().WithError(err).Error("store WeCom message")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if fault == simulators.FaultLostReply {
		simulators.LoseReply(w)
		return
	}
	simulators.WriteJSON(w, reply)
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
	message.Digest = chatsim.Digest(message.MsgType, message.Title, message.Content, message.URL)
	return message, 0, ""
}

// deliver applies the recipient checks, the duplicate check and the rate
// limit to every member and stores one row per member.
func (s *Simulator) deliver(ctx context.Context, request sendRequest, template Message) (map[string]any, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()

	msgID := simulators.RandomHex(16)
	now := s.Now().UTC()
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
	s.Log().WithFields(logrus.Fields{"msgid": msgID, "delivered": len(valid), "invalid": len(invalid)}).Debug("WeCom message")
	if overLimit {
		return map[string]any{"errcode": 45009, "errmsg": "api freq out of limit"}, nil
	}
	if len(valid) == 0 {
		return map[string]any{"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": strings.Join(invalid, "|")}, nil
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": strings.Join(invalid, "|"), "msgid": msgID}, nil
}

func (s *Simulator) outcome(ctx context.Context, request sendRequest, row Message) (string, error) {
	if s.InvalidUser(row.UserID) {
		return OutcomeInvalidUser, nil
	}
	if request.EnableDuplicateCheck == 1 {
		interval := request.DuplicateCheckInterval
		if interval <= 0 {
			interval = 1800
		}
		since := row.ReceivedAt.Add(-time.Duration(interval) * time.Second)
		n, err := chatsim.CountSince(ctx, s.cfg.DB, (*Message)(nil), "userid", row.UserID, OutcomeDelivered, row.Digest, since)
		if err != nil {
			return "", fmt.Errorf("check WeCom duplicates: %w", err)
		}
		if n > 0 {
			return OutcomeDuplicate, nil
		}
	}
	since := row.ReceivedAt.Add(-s.cfg.Window)
	n, err := chatsim.CountSince(ctx, s.cfg.DB, (*Message)(nil), "userid", row.UserID, OutcomeDelivered, "", since)
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
	switch s.Tokens().Check(token) {
	case simulators.TokenUnknown:
		return 40014, false
	case simulators.TokenExpired:
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

// fault applies a drawn fault to a request that does no work.
func (s *Simulator) fault(w http.ResponseWriter) bool {
	return s.applyFault(w, s.Injector().Draw())
}

// applyFault replies to the faults that prevent the work. Lost replies are
// applied after the work.
func (s *Simulator) applyFault(w http.ResponseWriter, fault simulators.Fault) bool {
	return s.Injector().ReplyFault(w, fault, func(w http.ResponseWriter, fault simulators.Fault) bool {
		if fault == FaultBusy {
			simulators.WriteJSON(w, map[string]any{"errcode": -1, "errmsg": "system busy"})
			return true
		}
		return false
	})
}
