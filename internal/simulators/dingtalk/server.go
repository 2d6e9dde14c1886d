// Package dingtalk simulates the parts of the DingTalk (钉钉) server API
// that ordo's DingTalk channel calls: gettoken, asyncsend_v2 and the
// result queries getsendprogress and getsendresult. Like DingTalk it
// delivers a work notice later than it accepts it. It drops a notice whose
// content the person received within a day, and notices over the daily
// limit, but returns success for both and reports them only in the send
// result. Every notice to every person is a row of sim_dingtalk_messages,
// with its outcome, so duplicates and losses can be counted.
package dingtalk

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

// Faults specific to this simulator.
const (
	// FaultBusy returns errcode -1 (system busy) without doing the work.
	FaultBusy simulators.Fault = "busy"
	// FaultRateLimited returns errcode 90018 (calls over the frequency
	// limit) without doing the work.
	FaultRateLimited simulators.Fault = "rate_limited"
	// FaultSilentDrop accepts a notice and never delivers it; the send
	// result lists the person as failed.
	FaultSilentDrop simulators.Fault = "silent_drop"
)

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{
	FaultBusy, FaultRateLimited, FaultSilentDrop, simulators.FaultServerError, simulators.FaultLostReply,
}

// Codes of forbidden_list entries, as the channel expects them.
const (
	forbiddenSameContent = "143103"
	forbiddenDailyLimit  = "143105"
)

const componentID = "dingtalk-sim"

// Config configures the simulator. Zero values take the defaults named on
// each field.
type Config struct {
	// DB stores the notices. Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// AppKey, AppSecret and AgentID identify the one app the simulator
	// accepts.
	AppKey    string
	AppSecret string
	AgentID   int64
	// TokenTTL is the lifetime of an access token, default 7200 seconds.
	TokenTTL time.Duration
	// DailyLimit is the number of notices a person gets in 24 hours,
	// default 500.
	DailyLimit int
	// DeliveryDelay is how long a send stays in progress, default 0.
	DeliveryDelay time.Duration
	// InvalidUsers are user ids that do not exist.
	InvalidUsers []string
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Simulator is the DingTalk API simulator. Create it with New, then Start
// it or mount Handler; Close stops it. ExpireTokens makes every issued
// token fail with 42001. InjectSendErrors makes the simulator reply to the
// next asyncsend_v2 requests with a code and send nothing. Typical codes are
// 40014, 42001, -1 or 90018.
type Simulator struct {
	*chatsim.Server

	cfg Config

	// sendMu serialises asyncsend_v2, so the limit count, the duplicate
	// check and the insert are one step.
	sendMu sync.Mutex
}

// New validates the configuration and creates the table.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("DingTalk simulator: missing DB")
	}
	if cfg.AppKey == "" || cfg.AppSecret == "" || cfg.AgentID <= 0 {
		return nil, errors.New("DingTalk simulator: missing app key, app secret or agent id")
	}
	if cfg.DailyLimit <= 0 {
		cfg.DailyLimit = 500
	}
	server, err := chatsim.NewServer(chatsim.Setup{
		Name: "DingTalk simulator", Component: componentID, Address: cfg.Address, TokenTTL: cfg.TokenTTL,
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
//	GET  /gettoken?appkey=&appsecret=
//	POST /topapi/message/corpconversation/asyncsend_v2?access_token=
//	POST /topapi/message/corpconversation/getsendprogress?access_token=
//	POST /topapi/message/corpconversation/getsendresult?access_token=
//	POST /sim/expire_tokens            every issued token returns 42001
//	POST /sim/inject?errcode=40014&count=1
//	GET  /sim/messages?userid=
//	GET  /sim/summary
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gettoken", s.getToken)
	mux.HandleFunc("POST /topapi/message/corpconversation/asyncsend_v2", s.send)
	mux.HandleFunc("POST /topapi/message/corpconversation/getsendprogress", s.progress)
	mux.HandleFunc("POST /topapi/message/corpconversation/getsendresult", s.result)
	chatsim.HandleControl(mux, s.Server, chatsim.Control{CodeParam: "errcode", RecipientParam: "userid"}, s.Messages, s.Summary)
	return mux
}

// Summary counts the notices by outcome.
func (s *Simulator) Summary(ctx context.Context) (Summary, error) { return Summarize(ctx, s.cfg.DB) }

// Messages lists the notices, of one person when userID is not empty.
func (s *Simulator) Messages(ctx context.Context, userID string) ([]Message, error) {
	return List(ctx, s.cfg.DB, userID)
}

func (s *Simulator) getToken(w http.ResponseWriter, r *http.Request) {
	if s.applyFault(w, s.Injector().Draw()) {
		return
	}
	query := r.URL.Query()
	if query.Get("appkey") != s.cfg.AppKey || query.Get("appsecret") != s.cfg.AppSecret {
		simulators.WriteJSON(w, map[string]any{"errcode": 40089, "errmsg": "invalid appkey or appsecret"})
		return
	}
	token, ttl := s.Tokens().Issue("")
	simulators.WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": int(ttl / time.Second)})
}

// authorize answers a rejected token and reports whether the request may
// go on.
func (s *Simulator) authorize(w http.ResponseWriter, r *http.Request) bool {
	switch s.Tokens().Check(r.URL.Query().Get("access_token")) {
	case simulators.TokenUnknown:
		simulators.WriteJSON(w, map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
		return false
	case simulators.TokenExpired:
		simulators.WriteJSON(w, map[string]any{"errcode": 42001, "errmsg": "access_token expired"})
		return false
	}
	return true
}

type sendRequest struct {
	AgentID    int64  `json:"agent_id"`
	UserIDList string `json:"userid_list"`
	Msg        struct {
		MsgType    string `json:"msgtype"`
		ActionCard *struct {
			Title       string `json:"title"`
			Markdown    string `json:"markdown"`
			SingleTitle string `json:"single_title"`
			SingleURL   string `json:"single_url"`
		} `json:"action_card"`
		Markdown *struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
		Text *struct {
			Content string `json:"content"`
		} `json:"text"`
	} `json:"msg"`
}

func (s *Simulator) send(w http.ResponseWriter, r *http.Request) {
	fault := s.Injector().Draw()
	if s.applyFault(w, fault) {
		return
	}
	if !s.authorize(w, r) {
		return
	}
	if code, ok := s.NextInjectedError(); ok {
		simulators.WriteJSON(w, map[string]any{"errcode": code, "errmsg": "injected by the simulator"})
		return
	}
	var request sendRequest
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		simulators.WriteJSON(w, map[string]any{"errcode": 40035, "errmsg": "invalid json: " + err.Error()})
		return
	}
	template, code, reason := s.parse(request)
	if code != 0 {
		simulators.WriteJSON(w, map[string]any{"errcode": code, "errmsg": reason})
		return
	}
	taskID, err := s.deliver(r.Context(), request.UserIDList, template, fault == FaultSilentDrop)
	if err != nil {
		s.Log().WithError(err).Error("store DingTalk notice")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if fault == simulators.FaultLostReply {
		simulators.LoseReply(w)
		return
	}
	simulators.WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "task_id": taskID, "request_id": simulators.RandomHex(12)})
}

// parse checks the request and returns the notice template.
func (s *Simulator) parse(request sendRequest) (Message, int, string) {
	if request.AgentID != s.cfg.AgentID {
		return Message{}, 40035, fmt.Sprintf("invalid agent_id %d", request.AgentID)
	}
	if strings.TrimSpace(request.UserIDList) == "" {
		return Message{}, 40035, "userid_list is empty"
	}
	msg := request.Msg
	message := Message{MsgType: msg.MsgType}
	switch msg.MsgType {
	case "action_card":
		card := msg.ActionCard
		if card == nil || card.Title == "" || card.Markdown == "" || card.SingleTitle == "" || card.SingleURL == "" {
			return Message{}, 40035, "action_card needs title, markdown, single_title and single_url"
		}
		message.Title, message.Content, message.URL = card.Title, card.Markdown, card.SingleURL
	case "markdown":
		if msg.Markdown == nil || msg.Markdown.Title == "" || msg.Markdown.Text == "" {
			return Message{}, 40035, "markdown needs title and text"
		}
		message.Title, message.Content = msg.Markdown.Title, msg.Markdown.Text
	case "text":
		if msg.Text == nil || msg.Text.Content == "" {
			return Message{}, 40035, "text needs content"
		}
		message.Content = msg.Text.Content
	default:
		return Message{}, 40035, fmt.Sprintf("unsupported msgtype %q", msg.MsgType)
	}
	message.Digest = chatsim.Digest(message.MsgType, message.Title, message.Content, message.URL)
	return message, 0, ""
}

// deliver applies the user check, the same-content rule and the daily
// limit to every person and stores one row per person under a new task id.
func (s *Simulator) deliver(ctx context.Context, userList string, template Message, drop bool) (int64, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()

	var last int64
	if err := s.cfg.DB.NewRaw(`SELECT COALESCE(MAX(task_id), 0) FROM sim_dingtalk_messages`).Scan(ctx, &last); err != nil {
		return 0, fmt.Errorf("next DingTalk task id: %w", err)
	}
	taskID := last + 1
	now := s.Now().UTC()
	var rows []Message
	seen := map[string]bool{}
	for _, user := range strings.Split(userList, ",") {
		user = strings.TrimSpace(user)
		if user == "" || seen[user] {
			continue
		}
		seen[user] = true
		row := template
		row.TaskID, row.UserID, row.ReceivedAt = taskID, user, now
		outcome, err := s.outcome(ctx, row, drop)
		if err != nil {
			return 0, err
		}
		row.Outcome = outcome
		rows = append(rows, row)
	}
	if _, err := s.cfg.DB.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return 0, fmt.Errorf("insert DingTalk notices: %w", err)
	}
	s.Log().WithFields(logrus.Fields{"task_id": taskID, "recipients": len(rows)}).Debug("DingTalk work notice")
	return taskID, nil
}

func (s *Simulator) outcome(ctx context.Context, row Message, drop bool) (string, error) {
	if s.InvalidUser(row.UserID) {
		return OutcomeInvalidUser, nil
	}
	since := row.ReceivedAt.Add(-24 * time.Hour)
	same, err := chatsim.CountSince(ctx, s.cfg.DB, (*Message)(nil), "userid", row.UserID, OutcomeDelivered, row.Digest, since)
	if err != nil {
		return "", fmt.Errorf("check same content: %w", err)
	}
	if same > 0 {
		return OutcomeDuplicate, nil
	}
	count, err := chatsim.CountSince(ctx, s.cfg.DB, (*Message)(nil), "userid", row.UserID, OutcomeDelivered, "", since)
	if err != nil {
		return "", fmt.Errorf("count notices of the day: %w", err)
	}
	switch {
	case count >= int64(s.cfg.DailyLimit):
		return OutcomeOverLimit, nil
	case drop:
		return OutcomeDropped, nil
	}
	return OutcomeDelivered, nil
}

type taskRequest struct {
	AgentID int64 `json:"agent_id"`
	TaskID  int64 `json:"task_id"`
}

// task reads the rows of the task in the request, answering the errors.
func (s *Simulator) task(w http.ResponseWriter, r *http.Request) ([]Message, bool) {
	if s.applyFault(w, s.Injector().Draw()) || !s.authorize(w, r) {
		return nil, false
	}
	var request taskRequest
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil || request.AgentID != s.cfg.AgentID {
		simulators.WriteJSON(w, map[string]any{"errcode": 40035, "errmsg": "invalid agent_id or task_id"})
		return nil, false
	}
	var rows []Message
	if err := s.cfg.DB.NewSelect().Model(&rows).Where("task_id = ?", request.TaskID).Order("id").Scan(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, false
	}
	if len(rows) == 0 {
		simulators.WriteJSON(w, map[string]any{"errcode": 40035, "errmsg": fmt.Sprintf("no task %d", request.TaskID)})
		return nil, false
	}
	return rows, true
}

func (s *Simulator) finished(rows []Message) bool {
	return !s.Now().Before(rows[0].ReceivedAt.Add(s.cfg.DeliveryDelay))
}

func (s *Simulator) progress(w http.ResponseWriter, r *http.Request) {
	rows, ok := s.task(w, r)
	if !ok {
		return
	}
	progress := map[string]any{"progress_in_percent": 100, "status": 2}
	if !s.finished(rows) {
		progress = map[string]any{"progress_in_percent": 50, "status": 1}
	}
	simulators.WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "progress": progress})
}

func (s *Simulator) result(w http.ResponseWriter, r *http.Request) {
	rows, ok := s.task(w, r)
	if !ok {
		return
	}
	result := map[string]any{}
	list := func(key, user string) {
		users, _ := result[key].([]string)
		result[key] = append(users, user)
	}
	var forbidden []map[string]any
	for _, row := range rows {
		switch {
		case !s.finished(rows):
			// Not processed yet, so the result lists no user.
		case row.Outcome == OutcomeDelivered:
			list("unread_user_id_list", row.UserID)
		case row.Outcome == OutcomeInvalidUser:
			list("invalid_user_id_list", row.UserID)
		case row.Outcome == OutcomeDropped:
			list("failed_user_id_list", row.UserID)
		case row.Outcome == OutcomeDuplicate, row.Outcome == OutcomeOverLimit:
			code := forbiddenSameContent
			if row.Outcome == OutcomeOverLimit {
				code = forbiddenDailyLimit
			}
			list("forbidden_user_id_list", row.UserID)
			forbidden = append(forbidden, map[string]any{"code": code, "count": 1, "userid": row.UserID})
		}
	}
	if forbidden != nil {
		result["forbidden_list"] = forbidden
	}
	simulators.WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "send_result": result})
}

// applyFault replies to the faults that prevent the work. Lost replies
// and silent drops are applied by the send itself.
func (s *Simulator) applyFault(w http.ResponseWriter, fault simulators.Fault) bool {
	return s.Injector().ReplyFault(w, fault, func(w http.ResponseWriter, fault simulators.Fault) bool {
		switch fault {
		case FaultBusy:
			simulators.WriteJSON(w, map[string]any{"errcode": -1, "errmsg": "system busy"})
			return true
		case FaultRateLimited:
			simulators.WriteJSON(w, map[string]any{"errcode": 90018, "errmsg": "calls over the frequency limit"})
			return true
		}
		return false
	})
}
