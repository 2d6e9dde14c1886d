// Package dingtalk sends ordo's task notifications as DingTalk (钉钉) work
// notices (工作通知): an action card whose button opens the task in ordo.
//
// DingTalk accepts a work notice and delivers it later, so a send returns
// a task id and the client reads the outcome from getsendprogress and
// getsendresult. DingTalk returns success even when it delivers nothing,
// because the same content reaches a person only once a day and a person
// gets at most 500 work notices a day. The channel therefore writes a reference
// derived from the notification key into every notice, so two different
// notifications never look alike, while a retry of one notification is
// identical to its first attempt and DingTalk drops it if the first one
// arrived.
//
// The client caches the app's access token until shortly before it
// expires, refreshes it once for all concurrent callers, and replays a
// request once when DingTalk rejects the token (40014, 42001).
package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/tokencache"
)

// ChannelName is the registry name of the DingTalk channel.
const ChannelName = notify.ChannelDingTalk

// DingTalk error codes the client branches on. It never branches on
// errmsg.
//
// NOTE: the throttling codes come from DingTalk's global error code list
// as public client code repeats it, not checked against a live tenant.
const (
	CodeOK            = 0
	CodeBusy          = -1
	CodeInvalidToken  = 40014
	CodeExpiredToken  = 42001
	CodeInvalidSecret = 40089
	CodeThrottledApp  = 90002
	CodeThrottledCorp = 90006
	CodeThrottledAPI  = 90018
	CodeNoPermission  = 60011
)

// Codes of forbidden_list entries in a send result.
//
// NOTE: taken from public client code, not checked against a live tenant.
const (
	// ForbiddenSameContent: the person received the same content today.
	ForbiddenSameContent = "143103"
	// ForbiddenDailyLimit: the person reached the daily limit of work
	// notices from the app.
	ForbiddenDailyLimit = "143105"
)

// DailyLimit is DingTalk's limit of work notices a person gets from an
// internal app in a day.
const DailyLimit = 500

const busyRetries = 3

// Config configures the client. Zero values take the defaults named on
// each field.
type Config struct {
	// BaseURL is the API root, default https://oapi.dingtalk.com.
	BaseURL string
	// AppKey and AppSecret identify the internal app; AgentID is its
	// AgentId, which work notices name.
	AppKey    string
	AppSecret string
	AgentID   int64
	// Timeout bounds one HTTP request, default 15 seconds.
	Timeout time.Duration
	// ResultWait bounds how long a send waits for DingTalk to finish the
	// delivery, default 30 seconds; PollInterval is the first pause
	// between progress checks, default 300 milliseconds, doubling up to
	// 5 seconds.
	ResultWait   time.Duration
	PollInterval time.Duration
	// DailyLimit is the number of notices a person may get in 24 hours,
	// default DailyLimit. The client refuses more with a retryable error
	// instead of letting DingTalk drop them.
	DailyLimit int
	// Clock defaults to the system clock.
	Clock Clock
	// Transport defaults to a pooled transport.
	Transport http.RoundTripper
}

// Clock is the time source of the token cache, the limit and the result
// polling.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Client calls the DingTalk server API of one app. It is safe for
// concurrent use.
type Client struct {
	cfg    Config
	http   *resty.Client
	tokens *tokencache.Cache

	mu   sync.Mutex
	sent map[string][]time.Time
}

// NewClient validates cfg and returns the client. It does not connect.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://oapi.dingtalk.com"
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dingtalk: invalid base URL %q: use an http(s) URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	var missing []string
	if cfg.AppKey == "" {
		missing = append(missing, "app key")
	}
	if cfg.AppSecret == "" {
		missing = append(missing, "app secret")
	}
	if cfg.AgentID <= 0 {
		missing = append(missing, "agent id")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("dingtalk: missing %s: copy them from the app's page in the DingTalk developer console", strings.Join(missing, ", "))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.ResultWait <= 0 {
		cfg.ResultWait = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 300 * time.Millisecond
	}
	if cfg.DailyLimit <= 0 {
		cfg.DailyLimit = DailyLimit
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConns: 32, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	c := &Client{cfg: cfg, sent: map[string][]time.Time{}}
	c.http = resty.NewWithClient(&http.Client{Transport: cfg.Transport}).
		SetBaseURL(cfg.BaseURL).SetTimeout(cfg.Timeout)
	c.tokens = tokencache.New(c.fetchToken, cfg.Clock.Now)
	return c, nil
}

// TokenFetches returns how many times the client called gettoken.
func (c *Client) TokenFetches() int { return c.tokens.Fetches() }

// APIError is a reply with a non-zero errcode. It may succeed on a later
// attempt; replies that cannot are wrapped by notify.Permanent instead.
type APIError struct {
	Op      string
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("dingtalk %s: errcode %d: %s", e.Op, e.Code, e.Message)
}

type reply struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

type tokenReply struct {
	reply
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	query := map[string]string{"appkey": c.cfg.AppKey, "appsecret": c.cfg.AppSecret}
	for attempt := 0; ; attempt++ {
		var out tokenReply
		if err := c.call(ctx, http.MethodGet, "/gettoken", query, nil, &out); err != nil {
			return "", 0, err
		}
		switch out.ErrCode {
		case CodeOK:
		case CodeBusy:
			if attempt < busyRetries {
				if err := c.cfg.Clock.Sleep(ctx, backoff(attempt)); err != nil {
					return "", 0, err
				}
				continue
			}
			return "", 0, &APIError{Op: "gettoken", Code: out.ErrCode, Message: out.ErrMsg}
		case CodeInvalidSecret:
			return "", 0, notify.Permanent(ChannelName, out.ErrCode,
				fmt.Errorf("gettoken rejected the app key %s or its secret: check notify.dingtalk.app_key and app_secret: %s", c.cfg.AppKey, out.ErrMsg))
		default:
			return "", 0, &APIError{Op: "gettoken", Code: out.ErrCode, Message: out.ErrMsg}
		}
		if out.AccessToken == "" || out.ExpiresIn <= 0 {
			return "", 0, errors.New("dingtalk gettoken: reply without access_token or expires_in")
		}
		return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, nil
	}
}

func backoff(attempt int) time.Duration {
	return time.Duration(200*(1<<attempt)) * time.Millisecond
}

// call sends one request and decodes the JSON reply into out. Errors
// carry the path without the query, which holds the secret or the token.
func (c *Client) call(ctx context.Context, method, path string, query map[string]string, body, out any) error {
	request := c.http.R().SetContext(ctx).SetQueryParams(query).SetDoNotParseResponse(false)
	if body != nil {
		request.SetHeader("Content-Type", "application/json; charset=utf-8").SetBody(body)
	}
	response, err := request.Execute(method, path)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return fmt.Errorf("dingtalk %s %s: %w", method, path, urlErr.Err)
		}
		return fmt.Errorf("dingtalk %s %s: %w", method, path, err)
	}
	if response.StatusCode() != http.StatusOK {
		return fmt.Errorf("dingtalk %s %s: HTTP %d: %s", method, path, response.StatusCode(), truncate(response.String(), 200))
	}
	if err := json.Unmarshal(response.Body(), out); err != nil {
		return fmt.Errorf("dingtalk %s %s: invalid JSON reply: %w", method, path, err)
	}
	return nil
}

// authorized calls a method that needs the access token: it retries a
// busy reply up to three times and replays once with a fresh token when
// DingTalk rejects the token. It returns the reply's errcode, which the
// caller branches on.
func (c *Client) authorized(ctx context.Context, op, path string, body any, out interface{ header() *reply }) error {
	replayed := false
	for busy := 0; ; {
		token, err := c.tokens.Get(ctx)
		if err != nil {
			return err
		}
		if err := c.call(ctx, http.MethodPost, path, map[string]string{"access_token": token}, body, out); err != nil {
			return err
		}
		r := out.header()
		switch r.ErrCode {
		case CodeOK:
			return nil
		case CodeInvalidToken, CodeExpiredToken:
			// One replay only: a second rejection of a fresh token is not
			// a caching problem.
			if replayed {
				return &APIError{Op: op, Code: r.ErrCode, Message: r.ErrMsg + " (after a token refresh)"}
			}
			c.tokens.Drop(token)
			replayed = true
		case CodeBusy:
			if busy >= busyRetries {
				return &APIError{Op: op, Code: r.ErrCode, Message: r.ErrMsg}
			}
			if err := c.cfg.Clock.Sleep(ctx, backoff(busy)); err != nil {
				return err
			}
			busy++
		case CodeNoPermission:
			return notify.Permanent(ChannelName, r.ErrCode,
				fmt.Errorf("%s: the app lacks the permission for work notices: grant it in the DingTalk developer console: %s", op, r.ErrMsg))
		default:
			return &APIError{Op: op, Code: r.ErrCode, Message: strings.TrimSpace(r.ErrMsg + " " + r.SubMsg)}
		}
	}
}

func (r *reply) header() *reply { return r }

// Msg is the msg object of a work notice: an action card or markdown.
type Msg struct {
	MsgType    string      `json:"msgtype"`
	ActionCard *ActionCard `json:"action_card,omitempty"`
	Markdown   *Markdown   `json:"markdown,omitempty"`
}

// ActionCard is an action card with one button that opens SingleURL.
type ActionCard struct {
	Title       string `json:"title"`
	Markdown    string `json:"markdown"`
	SingleTitle string `json:"single_title"`
	SingleURL   string `json:"single_url"`
}

// Markdown is a markdown message; Title shows in the conversation list.
type Markdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type sendRequest struct {
	AgentID    int64  `json:"agent_id"`
	UserIDList string `json:"userid_list"`
	Msg        Msg    `json:"msg"`
}

type sendReply struct {
	reply
	TaskID int64 `json:"task_id"`
}

// ErrDailyLimit means a person reached the daily limit of work notices;
// the send was not attempted, and a later attempt may succeed.
var ErrDailyLimit = errors.New("the person reached DingTalk's limit of work notices a day")

// SendWorkNotice starts the asynchronous send of msg to users and returns
// DingTalk's task id. It refuses a send to a person who received the
// daily limit of notices in the last 24 hours, because DingTalk would
// drop it with a success reply.
func (c *Client) SendWorkNotice(ctx context.Context, users []string, msg Msg) (int64, error) {
	users = sortedUnique(users)
	if len(users) == 0 {
		return 0, notify.Permanent(ChannelName, 0, errors.New("no recipient"))
	}
	if err := c.reserve(users); err != nil {
		return 0, err
	}
	var out sendReply
	request := sendRequest{AgentID: c.cfg.AgentID, UserIDList: strings.Join(users, ","), Msg: msg}
	if err := c.authorized(ctx, "asyncsend_v2", "/topapi/message/corpconversation/asyncsend_v2", request, &out); err != nil {
		return 0, err
	}
	if out.TaskID == 0 {
		return 0, errors.New("dingtalk asyncsend_v2: reply without task_id")
	}
	return out.TaskID, nil
}

// reserve counts one notice for each user, or none when one of them is
// at the daily limit.
func (c *Client) reserve(users []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock.Now()
	cutoff := now.Add(-24 * time.Hour)
	for _, user := range users {
		times := c.sent[user]
		for len(times) > 0 && !times[0].After(cutoff) {
			times = times[1:]
		}
		c.sent[user] = times
		if len(times) >= c.cfg.DailyLimit {
			return fmt.Errorf("dingtalk: %s: %w (%d in 24 hours)", user, ErrDailyLimit, c.cfg.DailyLimit)
		}
	}
	for _, user := range users {
		c.sent[user] = append(c.sent[user], now)
	}
	return nil
}

type taskRequest struct {
	AgentID int64 `json:"agent_id"`
	TaskID  int64 `json:"task_id"`
}

// Progress is the state of an asynchronous send.
type Progress struct {
	Percent int `json:"progress_in_percent"`
	// Status is 0 not started, 1 in progress, 2 finished.
	Status int `json:"status"`
}

// Progress status values.
const (
	StatusNotStarted = 0
	StatusRunning    = 1
	StatusFinished   = 2
)

type progressReply struct {
	reply
	Progress Progress `json:"progress"`
}

// SendProgress returns how far DingTalk got with a send.
func (c *Client) SendProgress(ctx context.Context, taskID int64) (Progress, error) {
	var out progressReply
	err := c.authorized(ctx, "getsendprogress", "/topapi/message/corpconversation/getsendprogress",
		taskRequest{AgentID: c.cfg.AgentID, TaskID: taskID}, &out)
	return out.Progress, err
}

// Forbidden is a recipient DingTalk did not deliver to because of a limit.
type Forbidden struct {
	Code   string `json:"code"`
	Count  int    `json:"count"`
	UserID string `json:"userid"`
}

// SendResult is the outcome of a send for each recipient.
type SendResult struct {
	InvalidUsers   []string    `json:"invalid_user_id_list"`
	ForbiddenUsers []string    `json:"forbidden_user_id_list"`
	FailedUsers    []string    `json:"failed_user_id_list"`
	ReadUsers      []string    `json:"read_user_id_list"`
	UnreadUsers    []string    `json:"unread_user_id_list"`
	ForbiddenList  []Forbidden `json:"forbidden_list"`
}

type resultReply struct {
	reply
	SendResult SendResult `json:"send_result"`
}

// SendResult returns which recipients of a send got the notice.
func (c *Client) SendResult(ctx context.Context, taskID int64) (SendResult, error) {
	var out resultReply
	err := c.authorized(ctx, "getsendresult", "/topapi/message/corpconversation/getsendresult",
		taskRequest{AgentID: c.cfg.AgentID, TaskID: taskID}, &out)
	return out.SendResult, err
}

// ErrPending means DingTalk did not finish a send within the result wait.
var ErrPending = errors.New("dingtalk has not finished the send")

// WaitResult polls the progress of a send until DingTalk finished it,
// then returns the result. It gives up with ErrPending after ResultWait.
func (c *Client) WaitResult(ctx context.Context, taskID int64) (SendResult, error) {
	deadline := c.cfg.Clock.Now().Add(c.cfg.ResultWait)
	pause := c.cfg.PollInterval
	for {
		progress, err := c.SendProgress(ctx, taskID)
		if err != nil {
			return SendResult{}, err
		}
		if progress.Status == StatusFinished {
			return c.SendResult(ctx, taskID)
		}
		if !c.cfg.Clock.Now().Add(pause).Before(deadline) {
			return SendResult{}, fmt.Errorf("task %d at %d%%: %w", taskID, progress.Percent, ErrPending)
		}
		if err := c.cfg.Clock.Sleep(ctx, pause); err != nil {
			return SendResult{}, err
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// Outcome is the outcome of a send for one user.
type Outcome int

// Outcomes of a send for one user.
const (
	// Delivered: DingTalk delivered the notice (read or unread).
	Delivered Outcome = iota
	// AlreadyDelivered: DingTalk dropped the notice because the person
	// received the same content today, so an earlier attempt arrived.
	AlreadyDelivered
	InvalidUser
	// OverDailyLimit: DingTalk dropped the notice over the daily limit.
	OverDailyLimit
	// Failed: DingTalk could not deliver; a later attempt may succeed.
	Failed
	// Unknown: the result does not name the user.
	Unknown
)

// For returns the outcome of the send for user.
func (r SendResult) For(user string) (Outcome, string) {
	switch {
	case slices.Contains(r.InvalidUsers, user):
		return InvalidUser, ""
	case slices.Contains(r.FailedUsers, user):
		return Failed, ""
	}
	for _, f := range r.ForbiddenList {
		if f.UserID != user {
			continue
		}
		if f.Code == ForbiddenSameContent {
			return AlreadyDelivered, f.Code
		}
		return OverDailyLimit, f.Code
	}
	switch {
	case slices.Contains(r.ForbiddenUsers, user):
		return OverDailyLimit, ""
	case slices.Contains(r.ReadUsers, user), slices.Contains(r.UnreadUsers, user):
		return Delivered, ""
	}
	return Unknown, ""
}

func sortedUnique(users []string) []string {
	var unique []string
	for _, user := range users {
		if user = strings.TrimSpace(user); user != "" && !slices.Contains(unique, user) {
			unique = append(unique, user)
		}
	}
	slices.Sort(unique)
	return unique
}

func truncate(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	cut := maxBytes
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}

func formatTaskID(id int64) string { return strconv.FormatInt(id, 10) }
