// Package wecom sends ordo's task notifications as WeCom (企业微信) app
// messages: a text card whose button opens the task in ordo's API.
//
// The client caches the app's access token until shortly before it
// expires and refreshes it once for all concurrent callers. A reply that
// reports an invalid or expired token (40014, 42001) drops the cache and
// replays the request once. WeCom drops messages over 30 a minute or 1,000
// an hour per member without an error, so the client queues the messages
// to each member and waits until the limits allow the next one instead of
// sending it.
package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ordo-project/ordo/internal/notify"
)

// ChannelName is the registry name of the WeCom channel.
const ChannelName = notify.ChannelWeCom

// WeCom error codes the client branches on. The client never branches on
// errmsg.
const (
	CodeOK             = 0
	CodeBusy           = -1
	CodeInvalidSecret  = 40001
	CodeInvalidToken   = 40014
	CodeExpiredToken   = 42001
	CodeRateLimited    = 45009
	CodeIPNotAllowed   = 60020
	CodeNoValidReceive = 81013
)

// busyRetries is how often a -1 (system busy) reply is retried.
const busyRetries = 3

// Config configures the client. Zero values take the defaults named on
// each field.
type Config struct {
	// BaseURL is the API root, default https://qyapi.weixin.qq.com.
	BaseURL string
	// CorpID, AgentID and Secret identify the app (企业ID, AgentId, Secret).
	CorpID  string
	AgentID int64
	Secret  string
	// Timeout bounds one HTTP request, default 15 seconds.
	Timeout time.Duration
	// Rates are the per-member limits, default 30 a minute and 1,000 an
	// hour, which are WeCom's documented limits.
	Rates []Rate
	// Clock defaults to the system clock.
	Clock Clock
	// HTTPClient defaults to a client with Timeout.
	HTTPClient *http.Client
}

// Rate is a limit of Limit messages in any interval of length Window.
type Rate struct {
	Limit  int
	Window time.Duration
}

// DefaultRates are WeCom's per-member limits on app messages.
var DefaultRates = []Rate{{Limit: 30, Window: time.Minute}, {Limit: 1000, Window: time.Hour}}

// Clock is the time source of the token cache and the limiter.
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

// Client calls the WeCom server API of one app. It is safe for concurrent
// use.
type Client struct {
	cfg     Config
	http    *http.Client
	clock   Clock
	limiter *limiter

	flight  singleflight.Group
	mu      sync.Mutex
	token   string
	expires time.Time
	// tokenFetches counts gettoken calls, for tests.
	tokenFetches int
}

// NewClient validates cfg and returns the client. It does not connect.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://qyapi.weixin.qq.com"
	}
	if _, err := url.ParseRequestURI(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("wecom: invalid base URL %q: %w", cfg.BaseURL, err)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	var missing []string
	if cfg.CorpID == "" {
		missing = append(missing, "corp id")
	}
	if cfg.AgentID <= 0 {
		missing = append(missing, "agent id")
	}
	if cfg.Secret == "" {
		missing = append(missing, "secret")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("wecom: missing %s: copy them from the app's page in the WeCom admin console", strings.Join(missing, ", "))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if len(cfg.Rates) == 0 {
		cfg.Rates = DefaultRates
	}
	for _, rate := range cfg.Rates {
		if rate.Limit < 1 || rate.Window <= 0 {
			return nil, fmt.Errorf("wecom: invalid rate %d per %s: use a positive limit and window", rate.Limit, rate.Window)
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Client{cfg: cfg, http: client, clock: cfg.Clock, limiter: newLimiter(cfg.Rates, cfg.Clock)}, nil
}

// TokenFetches returns how many times the client called gettoken.
func (c *Client) TokenFetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenFetches
}

// APIError is a reply with a non-zero errcode.
type APIError struct {
	Op      string
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.Op, e.Code, e.Message)
}

// accessToken returns the cached token or fetches one. Concurrent callers
// share one gettoken request.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if token, ok := c.cachedToken(); ok {
		return token, nil
	}
	// The fetch runs without the caller's cancellation, because other
	// callers wait for the same result; the HTTP timeout still bounds it.
	result := c.flight.DoChan("token", func() (any, error) {
		if token, ok := c.cachedToken(); ok {
			return token, nil
		}
		return c.fetchToken(context.WithoutCancel(ctx))
	})
	select {
	case r := <-result:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Client) cachedToken() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.clock.Now().Before(c.expires) {
		return c.token, true
	}
	return "", false
}

// dropToken clears the cached token unless a newer one replaced it already, so that
// concurrent requests rejected with one stale token cause one refresh.
func (c *Client) dropToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

type tokenReply struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	query := url.Values{"corpid": {c.cfg.CorpID}, "corpsecret": {c.cfg.Secret}}
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		c.tokenFetches++
		c.mu.Unlock()

		var reply tokenReply
		if err := c.call(ctx, http.MethodGet, "/cgi-bin/gettoken", query, nil, &reply); err != nil {
			return "", err
		}
		switch reply.ErrCode {
		case CodeOK:
		case CodeBusy:
			if attempt < busyRetries {
				if err := c.clock.Sleep(ctx, backoff(attempt)); err != nil {
					return "", err
				}
				continue
			}
			return "", &APIError{Op: "gettoken", Code: reply.ErrCode, Message: reply.ErrMsg}
		case CodeInvalidSecret:
			return "", notify.Permanent(ChannelName, reply.ErrCode,
				fmt.Errorf("gettoken rejected the secret of corp %s: check notify.wecom.secret: %s", c.cfg.CorpID, reply.ErrMsg))
		case CodeIPNotAllowed:
			return "", notify.Permanent(ChannelName, reply.ErrCode, ipNotAllowed(reply.ErrMsg))
		default:
			return "", &APIError{Op: "gettoken", Code: reply.ErrCode, Message: reply.ErrMsg}
		}
		if reply.AccessToken == "" || reply.ExpiresIn <= 0 {
			return "", fmt.Errorf("wecom gettoken: reply without access_token or expires_in")
		}
		lifetime := time.Duration(reply.ExpiresIn) * time.Second
		// Refresh a tenth of the lifetime early, at most five minutes, so a
		// request never leaves with a token about to expire.
		early := min(lifetime/10, 5*time.Minute)
		c.mu.Lock()
		c.token, c.expires = reply.AccessToken, c.clock.Now().Add(lifetime-early)
		c.mu.Unlock()
		return reply.AccessToken, nil
	}
}

func ipNotAllowed(message string) error {
	return fmt.Errorf("WeCom rejected the request from this server's IP address: add the egress IP to the app's trusted IP list: %s", message)
}

func backoff(attempt int) time.Duration {
	return time.Duration(200*(1<<attempt)) * time.Millisecond
}

// call sends one request and decodes the JSON reply into out. Errors
// carry the path without the query, which holds the secret or the token.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("wecom %s: encode request: %w", path, err)
		}
		reader = bytes.NewReader(data)
	}
	request, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path+"?"+query.Encode(), reader)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", path, err)
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	response, err := c.http.Do(request)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return fmt.Errorf("wecom %s %s: %w", method, path, urlErr.Err)
		}
		return fmt.Errorf("wecom %s %s: %w", method, path, err)
	}
	defer response.Body.Close()
	data, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wecom %s %s: read reply: %w", method, path, err)
	}
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("wecom %s %s: HTTP %d: %s", method, path, response.StatusCode, truncate(string(data), 200))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("wecom %s %s: invalid JSON reply: %w", method, path, err)
	}
	return nil
}

// TextCard is a textcard message. URL is required; BtnTxt has at most 4
// characters and defaults to 详情 on WeCom's side.
type TextCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	BtnTxt      string `json:"btntxt,omitempty"`
}

type textContent struct {
	Content string `json:"content"`
}

type sendRequest struct {
	ToUser                 string       `json:"touser"`
	MsgType                string       `json:"msgtype"`
	AgentID                int64        `json:"agentid"`
	TextCard               *TextCard    `json:"textcard,omitempty"`
	Text                   *textContent `json:"text,omitempty"`
	EnableDuplicateCheck   int          `json:"enable_duplicate_check"`
	DuplicateCheckInterval int          `json:"duplicate_check_interval,omitempty"`
}

type sendReply struct {
	ErrCode      int    `json:"errcode"`
	ErrMsg       string `json:"errmsg"`
	InvalidUser  string `json:"invaliduser"`
	InvalidParty string `json:"invalidparty"`
	InvalidTag   string `json:"invalidtag"`
	MsgID        string `json:"msgid"`
}

// Result is the outcome of one send. Success can be partial: Failed names
// the recipients WeCom did not deliver to, with the reason.
type Result struct {
	MsgID  string
	Failed map[string]string
}

// duplicateCheckInterval makes WeCom drop a copy of the same content to
// the same member within 30 minutes, so a resend after a lost reply does
// not reach the person twice.
const duplicateCheckInterval = 1800

// SendTextCard sends card to users. It waits until each user's rate
// limits allow one more message, so a burst is spread out, not dropped.
func (c *Client) SendTextCard(ctx context.Context, users []string, card TextCard) (Result, error) {
	if card.URL == "" {
		return c.send(ctx, users, sendRequest{MsgType: "text", Text: &textContent{Content: card.Title + "\n" + card.Description}})
	}
	return c.send(ctx, users, sendRequest{MsgType: "textcard", TextCard: &card})
}

func (c *Client) send(ctx context.Context, users []string, request sendRequest) (Result, error) {
	if len(users) == 0 {
		return Result{}, notify.Permanent(ChannelName, 0, errors.New("no recipient"))
	}
	users = sortedUnique(users)
	request.ToUser = strings.Join(users, "|")
	request.AgentID = c.cfg.AgentID
	request.EnableDuplicateCheck = 1
	request.DuplicateCheckInterval = duplicateCheckInterval

	release, err := c.limiter.acquire(ctx, users)
	if err != nil {
		return Result{}, fmt.Errorf("wecom: wait for the rate limit of %s: %w", request.ToUser, err)
	}
	defer release()

	replayed := false
	for busy := 0; ; {
		token, err := c.accessToken(ctx)
		if err != nil {
			return Result{}, err
		}
		var reply sendReply
		if err := c.call(ctx, http.MethodPost, "/cgi-bin/message/send", url.Values{"access_token": {token}}, request, &reply); err != nil {
			return Result{}, err
		}
		switch reply.ErrCode {
		case CodeOK:
			return Result{MsgID: reply.MsgID, Failed: failedRecipients(reply)}, nil
		case CodeInvalidToken, CodeExpiredToken:
			// An expired token sometimes comes back as 40014, so both
			// codes drop the cache. One replay only: a second rejection
			// of a fresh token is not a caching problem.
			if replayed {
				return Result{}, &APIError{Op: "message/send", Code: reply.ErrCode, Message: reply.ErrMsg + " (after a token refresh)"}
			}
			c.dropToken(token)
			replayed = true
		case CodeBusy:
			if busy >= busyRetries {
				return Result{}, &APIError{Op: "message/send", Code: reply.ErrCode, Message: reply.ErrMsg}
			}
			if err := c.clock.Sleep(ctx, backoff(busy)); err != nil {
				return Result{}, err
			}
			busy++
		case CodeNoValidReceive:
			return Result{}, notify.Permanent(ChannelName, reply.ErrCode,
				fmt.Errorf("no valid recipient among %s (invaliduser %q): check the WeCom user ids in notify.wecom.users and the app's visible range", request.ToUser, reply.InvalidUser))
		case CodeIPNotAllowed:
			return Result{}, notify.Permanent(ChannelName, reply.ErrCode, ipNotAllowed(reply.ErrMsg))
		default:
			return Result{}, &APIError{Op: "message/send", Code: reply.ErrCode, Message: reply.ErrMsg}
		}
	}
}

// failedRecipients maps each user named in invaliduser to the reason.
// Parties and tags are not used by ordo and only reported when present.
func failedRecipients(reply sendReply) map[string]string {
	failed := map[string]string{}
	for _, user := range strings.Split(reply.InvalidUser, "|") {
		if user = strings.TrimSpace(user); user != "" {
			failed[user] = fmt.Sprintf("WeCom reported user %q as invalid (invaliduser): the id does not exist or is outside the app's visible range", user)
		}
	}
	if reply.InvalidParty != "" {
		failed["party:"+reply.InvalidParty] = "WeCom reported invalid departments (invalidparty): " + reply.InvalidParty
	}
	if reply.InvalidTag != "" {
		failed["tag:"+reply.InvalidTag] = "WeCom reported invalid tags (invalidtag): " + reply.InvalidTag
	}
	return failed
}

func sortedUnique(users []string) []string {
	set := map[string]bool{}
	var unique []string
	for _, user := range users {
		if user != "" && !set[user] {
			set[user] = true
			unique = append(unique, user)
		}
	}
	sort.Strings(unique)
	return unique
}

func truncate(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	cut := maxBytes
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
