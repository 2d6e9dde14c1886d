// Package feishu sends ordo's task notifications as Feishu (飞书) messages
// through the official SDK, github.com/larksuite/oapi-sdk-go/v3: an
// interactive card whose button opens the task in ordo, or a post when
// there is no link.
//
// The client keeps the tenant_access_token itself instead of using the
// SDK's cache, so that concurrent callers share one fetch and a token
// Feishu rejects is dropped and the request replayed once. Every message
// carries a uuid derived from the notification key: Feishu sends at most
// one message per uuid within an hour, so a retry after a lost reply does
// not reach the person twice. Feishu allows 5 messages a second to one
// user; the client spaces its sends to each receiver accordingly.
package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkauth "github.com/larksuite/oapi-sdk-go/v3/service/auth/v3"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
	"github.com/sirupsen/logrus"
	"golang.org/x/time/rate"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/tokencache"
)

// ChannelName is the registry name of the Feishu channel.
const ChannelName = notify.ChannelFeishu

// Feishu error codes the client branches on, from Feishu's server error
// code list; it never branches on msg.
const (
	CodeOK = 0
	// Token problems: drop the token and replay once.
	CodeTokenMissing       = 99991661
	CodeTenantTokenInvalid = 99991663
	CodeTokenInvalid       = 99991671
	// Frequency limits: retry later.
	CodeRateLimited    = 99991400
	CodeMessageLimited = 230020
	// Bad credentials at tenant_access_token.
	CodeInvalidAppID     = 10003
	CodeInvalidAppSecret = 10014
	// Requests no retry can fix.
	CodeInvalidParam    = 230001
	CodeBotNotInChat    = 230002
	CodeBotDisabled     = 230006
	CodeUserUnavailable = 230013
	CodeNoPermission    = 99991672
	CodeFieldInvalid    = 99992402
	CodeCrossAppOpenID  = 99992361
)

// permanentCodes are send replies no retry can fix.
var permanentCodes = []int{
	CodeInvalidParam, CodeBotNotInChat, CodeBotDisabled, CodeUserUnavailable,
	CodeNoPermission, CodeFieldInvalid, CodeCrossAppOpenID,
}

// Receive id types the channel supports.
const (
	ReceiveUserID = "user_id"
	ReceiveOpenID = "open_id"
)

// PerUserRate is Feishu's limit of messages a second to one user.
const PerUserRate = 5

// Config configures the client. Zero values take the defaults named on
// each field.
type Config struct {
	// BaseURL is the API root, default https://open.feishu.cn.
	BaseURL string
	// AppID and AppSecret identify the self-built app.
	AppID     string
	AppSecret string
	// ReceiveIDType is the kind of the user ids: user_id (default) or
	// open_id.
	ReceiveIDType string
	// Timeout bounds one HTTP request, default 15 seconds.
	Timeout time.Duration
	// PerUserRate is the messages a second to one receiver, default 5.
	PerUserRate float64
	// Now is the token cache's clock, default time.Now.
	Now func() time.Time
	// Logger receives the SDK's warnings and errors; default discards.
	Logger logrus.FieldLogger
	// Transport defaults to a pooled transport.
	Transport http.RoundTripper
}

// Client sends messages through the Feishu SDK. It is safe for concurrent
// use.
type Client struct {
	cfg    Config
	sdk    *lark.Client
	tokens *tokencache.Cache

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewClient validates cfg and returns the client. It does not connect.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = lark.FeishuBaseUrl
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("feishu: invalid base URL %q: use an http(s) URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	var missing []string
	if cfg.AppID == "" {
		missing = append(missing, "app id")
	}
	if cfg.AppSecret == "" {
		missing = append(missing, "app secret")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("feishu: missing %s: copy them from the app's credentials page in the Feishu developer console", strings.Join(missing, ", "))
	}
	if cfg.ReceiveIDType == "" {
		cfg.ReceiveIDType = ReceiveUserID
	}
	if cfg.ReceiveIDType != ReceiveUserID && cfg.ReceiveIDType != ReceiveOpenID {
		return nil, fmt.Errorf("feishu: receive id type %q is not user_id or open_id", cfg.ReceiveIDType)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.PerUserRate <= 0 {
		cfg.PerUserRate = PerUserRate
	}
	if cfg.Logger == nil {
		logger := logrus.New()
		logger.Out = io.Discard
		cfg.Logger = logger
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConns: 32, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	sdk := lark.NewClient(cfg.AppID, cfg.AppSecret,
		lark.WithOpenBaseUrl(cfg.BaseURL),
		lark.WithEnableTokenCache(false),
		lark.WithHttpClient(&http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout}),
		lark.WithLogger(sdkLogger{cfg.Logger.WithField("sdk", "larksuite")}),
		lark.WithLogLevel(larkcore.LogLevelWarn),
	)
	c := &Client{cfg: cfg, sdk: sdk, limiters: map[string]*rate.Limiter{}}
	c.tokens = tokencache.New(c.fetchToken, cfg.Now)
	return c, nil
}

// sdkLogger passes the SDK's log lines to logrus.
type sdkLogger struct{ log logrus.FieldLogger }

func (l sdkLogger) Debug(_ context.Context, args ...any) { l.log.Debug(args...) }
func (l sdkLogger) Info(_ context.Context, args ...any)  { l.log.Info(args...) }
func (l sdkLogger) Warn(_ context.Context, args ...any)  { l.log.Warn(args...) }
func (l sdkLogger) Error(_ context.Context, args ...any) { l.log.Error(args...) }

// TokenFetches returns how many times the client asked for a token.
func (c *Client) TokenFetches() int { return c.tokens.Fetches() }

// APIError is a reply with a non-zero code. It may succeed on a later
// attempt; replies that cannot are wrapped by notify.Permanent instead.
type APIError struct {
	Op      string
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("feishu %s: code %d: %s", e.Op, e.Code, e.Message)
}

// tokenReply is the reply of tenant_access_token/internal, whose token
// and lifetime are top-level fields.
type tokenReply struct {
	Code              int    `json:"code"`
	Msg               string `json:"msg"`
	TenantAccessToken string `json:"tenant_access_token"`
	Expire            int    `json:"expire"`
}

func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	request := larkauth.NewInternalTenantAccessTokenReqBuilder().Body(
		larkauth.NewInternalTenantAccessTokenReqBodyBuilder().AppId(c.cfg.AppID).AppSecret(c.cfg.AppSecret).Build(),
	).Build()
	response, err := c.sdk.Auth.V3.TenantAccessToken.Internal(ctx, request)
	if err != nil {
		return "", 0, sdkError("tenant_access_token", err)
	}
	var out tokenReply
	if err := json.Unmarshal(response.RawBody, &out); err != nil {
		return "", 0, fmt.Errorf("feishu tenant_access_token: HTTP %d: invalid JSON reply: %w", response.StatusCode, err)
	}
	switch out.Code {
	case CodeOK:
	case CodeInvalidAppID, CodeInvalidAppSecret:
		return "", 0, notify.Permanent(ChannelName, out.Code,
			fmt.Errorf("tenant_access_token rejected app %s or its secret: check notify.feishu.app_id and app_secret: %s", c.cfg.AppID, out.Msg))
	default:
		return "", 0, &APIError{Op: "tenant_access_token", Code: out.Code, Message: out.Msg}
	}
	if out.TenantAccessToken == "" || out.Expire <= 0 {
		return "", 0, errors.New("feishu tenant_access_token: reply without tenant_access_token or expire")
	}
	return out.TenantAccessToken, time.Duration(out.Expire) * time.Second, nil
}

// sdkError removes the request URL from the SDK's transport errors and
// keeps the cause.
func sdkError(op string, err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return fmt.Errorf("feishu %s: %w", op, urlErr.Err)
	}
	return fmt.Errorf("feishu %s: %w", op, err)
}

// Message is one message to send.
type Message struct {
	ReceiveID string
	// MsgType is interactive, post or text; Content its JSON.
	MsgType string
	Content string
	// UUID makes Feishu send at most one message per value within an
	// hour; at most 50 characters.
	UUID string
}

// Send sends msg and returns Feishu's message id. It waits until the
// receiver's rate allows one more message.
func (c *Client) Send(ctx context.Context, msg Message) (string, error) {
	if strings.TrimSpace(msg.ReceiveID) == "" {
		return "", notify.Permanent(ChannelName, 0, errors.New("no receiver"))
	}
	if err := c.limiter(msg.ReceiveID).Wait(ctx); err != nil {
		return "", fmt.Errorf("feishu: wait for the rate limit of %s: %w", msg.ReceiveID, err)
	}
	body := larkim.NewCreateMessageReqBodyBuilder().
		ReceiveId(msg.ReceiveID).MsgType(msg.MsgType).Content(msg.Content).Uuid(msg.UUID).Build()
	request := larkim.NewCreateMessageReqBuilder().ReceiveIdType(c.cfg.ReceiveIDType).Body(body).Build()
	replayed := false
	for {
		token, err := c.tokens.Get(ctx)
		if err != nil {
			return "", err
		}
		response, err := c.sdk.Im.V1.Message.Create(ctx, request, larkcore.WithTenantAccessToken(token))
		if err != nil {
			return "", sdkError("im/v1/messages", err)
		}
		switch code := response.Code; {
		case code == CodeOK:
			if response.Data == nil || response.Data.MessageId == nil {
				return "", errors.New("feishu im/v1/messages: reply without message_id")
			}
			return *response.Data.MessageId, nil
		case code == CodeTokenMissing || code == CodeTenantTokenInvalid || code == CodeTokenInvalid:
			// One replay only: a second rejection of a fresh token is not
			// a caching problem.
			if replayed {
				return "", &APIError{Op: "im/v1/messages", Code: code, Message: response.Msg + " (after a token refresh)"}
			}
			c.tokens.Drop(token)
			replayed = true
		case slices.Contains(permanentCodes, code):
			return "", notify.Permanent(ChannelName, code,
				fmt.Errorf("feishu rejected the message to %s %s: %s: check notify.feishu.users, receive_id_type and the app's availability range", c.cfg.ReceiveIDType, msg.ReceiveID, response.Msg))
		default:
			// Frequency limits, server errors and unknown codes may pass
			// on a later attempt; the uuid keeps that attempt from
			// sending a second copy.
			return "", &APIError{Op: "im/v1/messages", Code: code, Message: response.Msg}
		}
	}
}

func (c *Client) limiter(receiver string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[receiver]
	if !ok {
		// A tenth below the rate, so clock differences between ordo and
		// Feishu do not put a message over the limit.
		l = rate.NewLimiter(rate.Limit(0.9*c.cfg.PerUserRate), 1)
		c.limiters[receiver] = l
	}
	return l
}
