// Package feishu simulates the parts of the Feishu (飞书) open platform
// that ordo's Feishu channel calls: tenant_access_token/internal and
// im/v1/messages. Its tokens expire, it sends one message per uuid within
// an hour, it rejects more than 5 messages a second to one receiver, and
// it injects failures. Feishu reports every rejection with an error
// code, so unlike the DingTalk and WeCom simulators this one has no
// silent drop. Every request that reached the message logic is a row of
// sim_feishu_messages, with its outcome, so duplicates and losses can be
// counted.
package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/simulators/chatsim"
)

// FaultRateLimited returns HTTP 429 with code 99991400 without doing the
// work.
const FaultRateLimited simulators.Fault = "rate_limited"

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{FaultRateLimited, simulators.FaultServerError, simulators.FaultLostReply}

const componentID = "feishu-sim"

// uuidWindow is how long Feishu remembers a uuid.
const uuidWindow = time.Hour

// Config configures the simulator. Zero values take the defaults named on
// each field.
type Config struct {
	// DB stores the messages. Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// AppID and AppSecret identify the one app the simulator accepts.
	AppID     string
	AppSecret string
	// TokenTTL is the lifetime of a tenant_access_token, default 7200
	// seconds.
	TokenTTL time.Duration
	// PerUserRate is the messages a second one receiver may get,
	// default 5.
	PerUserRate int
	// InvalidUsers are receive ids the app cannot reach.
	InvalidUsers []string
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Simulator is the Feishu API simulator. Create it with New, then Start it
// or mount Handler; Close stops it. ExpireTokens makes every issued token
// fail with 99991663, and InjectSendErrors makes the next message requests
// fail with a code, e.g. 99991663, 99991400 or 230020, and send nothing.
type Simulator struct {
	*chatsim.Server

	cfg Config

	// sendMu serialises message creation, so the uuid check, the rate
	// count and the insert are one step.
	sendMu sync.Mutex
}

// New validates the configuration and creates the table.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("Feishu simulator: missing DB")
	}
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("Feishu simulator: missing app id or app secret")
	}
	if cfg.PerUserRate <= 0 {
		cfg.PerUserRate = 5
	}
	server, err := chatsim.NewServer(chatsim.Setup{
		Name: "Feishu simulator", Component: componentID, Address: cfg.Address, TokenTTL: cfg.TokenTTL,
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
//	POST /open-apis/auth/v3/tenant_access_token/internal
//	POST /open-apis/im/v1/messages?receive_id_type=user_id|open_id
//	POST /sim/expire_tokens            every issued token returns 99991663
//	POST /sim/inject?code=230020&count=1
//	GET  /sim/messages?receive_id=
//	GET  /sim/summary
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /open-apis/auth/v3/tenant_access_token/internal", s.getToken)
	mux.HandleFunc("POST /open-apis/im/v1/messages", s.send)
	chatsim.HandleControl(mux, s.Server, chatsim.Control{CodeParam: "code", RecipientParam: "receive_id"}, s.Messages, s.Summary)
	return mux
}

// Summary counts the messages by outcome.
func (s *Simulator) Summary(ctx context.Context) (Summary, error) { return Summarize(ctx, s.cfg.DB) }

// Messages lists the messages, of one receiver when receiveID is not empty.
func (s *Simulator) Messages(ctx context.Context, receiveID string) ([]Message, error) {
	return List(ctx, s.cfg.DB, receiveID)
}

// reply writes Feishu's JSON envelope with an HTTP status.
func reply(w http.ResponseWriter, status, code int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	body := map[string]any{"code": code, "msg": msg}
	if data != nil {
		body["data"] = data
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Simulator) getToken(w http.ResponseWriter, r *http.Request) {
	if s.applyFault(w, s.Injector().Draw()) {
		return
	}
	var request struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		reply(w, http.StatusBadRequest, 9499, "invalid json", nil)
		return
	}
	if request.AppID != s.cfg.AppID {
		reply(w, http.StatusOK, 10003, "invalid param: app_id", nil)
		return
	}
	if request.AppSecret != s.cfg.AppSecret {
		reply(w, http.StatusOK, 10014, "app secret invalid", nil)
		return
	}
	token, ttl := s.Tokens().Issue("t-")
	simulators.WriteJSON(w, map[string]any{"code": 0, "msg": "ok", "tenant_access_token": token, "expire": int(ttl / time.Second)})
}

type sendRequest struct {
	ReceiveID string `json:"receive_id"`
	MsgType   string `json:"msg_type"`
	Content   string `json:"content"`
	UUID      string `json:"uuid"`
}

func (s *Simulator) send(w http.ResponseWriter, r *http.Request) {
	fault := s.Injector().Draw()
	if s.applyFault(w, fault) {
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch s.Tokens().Check(token) {
	case simulators.TokenUnknown, simulators.TokenExpired:
		reply(w, http.StatusBadRequest, 99991663, "Invalid access token for authorization. Please make a request with token attached.", nil)
		return
	}
	if code, ok := s.NextInjectedError(); ok {
		status := http.StatusBadRequest
		if code == 99991400 || code == 230020 {
			status = http.StatusTooManyRequests
		}
		reply(w, status, code, "injected by the simulator", nil)
		return
	}
	receiveIDType := r.URL.Query().Get("receive_id_type")
	if receiveIDType != "user_id" && receiveIDType != "open_id" && receiveIDType != "union_id" && receiveIDType != "email" && receiveIDType != "chat_id" {
		reply(w, http.StatusBadRequest, 99992402, "field validation failed: receive_id_type", nil)
		return
	}
	var request sendRequest
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		reply(w, http.StatusBadRequest, 9499, "invalid json: "+err.Error(), nil)
		return
	}
	row, code, reason := parse(request)
	if code != 0 {
		reply(w, http.StatusBadRequest, code, reason, nil)
		return
	}
	row.ReceiveIDType = receiveIDType
	status, code, reason, err := s.deliver(r.Context(), &row)
	if err != nil {
		s.Log().WithError(err).Error("store Feishu message")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if code != 0 {
		reply(w, status, code, reason, nil)
		return
	}
	if fault == simulators.FaultLostReply {
		simulators.LoseReply(w)
		return
	}
	reply(w, http.StatusOK, 0, "success", map[string]any{
		"message_id": row.MessageID, "msg_type": row.MsgType, "chat_id": "oc_" + row.ReceiveID,
		"create_time": strconv.FormatInt(row.ReceivedAt.UnixMilli(), 10),
	})
}

// parse checks the request body and reads title and link for the ledger.
func parse(request sendRequest) (Message, int, string) {
	if request.ReceiveID == "" {
		return Message{}, 230001, "invalid receive_id"
	}
	if len(request.UUID) > 50 {
		return Message{}, 99992402, "field validation failed: uuid longer than 50 characters"
	}
	row := Message{UUID: request.UUID, ReceiveID: request.ReceiveID, MsgType: request.MsgType, Content: request.Content}
	switch request.MsgType {
	case "interactive":
		var card struct {
			Header struct {
				Title struct {
					Content string `json:"content"`
				} `json:"title"`
			} `json:"header"`
			Elements []struct {
				Tag     string `json:"tag"`
				Actions []struct {
					URL string `json:"url"`
				} `json:"actions"`
			} `json:"elements"`
		}
		if err := json.Unmarshal([]byte(request.Content), &card); err != nil || len(card.Elements) == 0 {
			return Message{}, 230099, "failed to create card content"
		}
		row.Title = card.Header.Title.Content
		for _, element := range card.Elements {
			for _, action := range element.Actions {
				if row.URL == "" {
					row.URL = action.URL
				}
			}
		}
	case "post":
		var post map[string]struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal([]byte(request.Content), &post); err != nil || len(post) == 0 {
			return Message{}, 230001, "invalid post content"
		}
		for _, p := range post {
			row.Title = p.Title
		}
	case "text":
		var text struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(request.Content), &text); err != nil || text.Text == "" {
			return Message{}, 230001, "invalid text content"
		}
	default:
		return Message{}, 230001, fmt.Sprintf("unsupported msg_type %q", request.MsgType)
	}
	return row, 0, ""
}

// deliver applies the uuid rule, the receiver check and the rate limit,
// stores the row and fills in its message id and outcome. A non-zero code
// is the error reply.
func (s *Simulator) deliver(ctx context.Context, row *Message) (int, int, string, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	now := s.Now().UTC()
	row.ReceivedAt = now
	if row.UUID != "" {
		var earlier []Message
		err := s.cfg.DB.NewSelect().Model(&earlier).
			Where("uuid = ? AND outcome = ? AND received_at > ?", row.UUID, OutcomeDelivered, now.Add(-uuidWindow)).
			Order("id").Limit(1).Scan(ctx)
		if err != nil {
			return 0, 0, "", fmt.Errorf("check uuid: %w", err)
		}
		if len(earlier) > 0 {
			row.MessageID, row.Outcome = earlier[0].MessageID, OutcomeUUIDRepeat
			return 0, 0, "", s.insert(ctx, row)
		}
	}
	if s.InvalidUser(row.ReceiveID) {
		row.Outcome = OutcomeInvalidUser
		return http.StatusBadRequest, 230013, "Bot has NO availability to this user.", s.insert(ctx, row)
	}
	recent, err := chatsim.CountSince(ctx, s.cfg.DB, (*Message)(nil), "receive_id", row.ReceiveID, OutcomeDelivered, "", now.Add(-time.Second))
	if err != nil {
		return 0, 0, "", fmt.Errorf("count recent messages: %w", err)
	}
	if recent >= int64(s.cfg.PerUserRate) {
		row.Outcome = OutcomeRateLimited
		return http.StatusTooManyRequests, 230020, "This operation triggers the frequency limit.", s.insert(ctx, row)
	}
	row.MessageID, row.Outcome = "om_"+simulators.RandomHex(32), OutcomeDelivered
	return 0, 0, "", s.insert(ctx, row)
}

func (s *Simulator) insert(ctx context.Context, row *Message) error {
	if _, err := s.cfg.DB.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert Feishu message: %w", err)
	}
	return nil
}

// applyFault replies to the faults that prevent the work. Lost replies are
// applied after the work.
func (s *Simulator) applyFault(w http.ResponseWriter, fault simulators.Fault) bool {
	return s.Injector().ReplyFault(w, fault, func(w http.ResponseWriter, fault simulators.Fault) bool {
		if fault == FaultRateLimited {
			reply(w, http.StatusTooManyRequests, 99991400, "request trigger frequency limit", nil)
			return true
		}
		return false
	})
}
