// Package rest is a generic ERP connector for home-grown ERPs with a JSON
// API. The erp.rest section of the configuration sets its endpoints
// (method, path template, success statuses), its authentication (bearer
// token, basic, or an HMAC signature header) and the mapping between
// ordo's fields and the ERP's JSON. A site thus connects such an ERP
// without code.
//
// Creates are idempotent on ordo's document number: in lookup mode the
// connector finds the document by number before creating it, in header
// mode it sends the number as an idempotency key. Only idempotent
// requests (GET, PUT, DELETE, and creates in header mode) are retried by
// the HTTP client; any other failure goes back to the activity, whose
// retry starts with the lookup again.
package rest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"
	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
)

// ConnectorName names the connector in errors and logs.
const ConnectorName = "rest"

// Options are the connector settings that do not come from its configuration section.
type Options struct {
	// MaxConns sizes the pool when the configuration does not; default 16.
	MaxConns int
	// Transport replaces the pooled transport, for tests.
	Transport http.RoundTripper
	Logger    logrus.FieldLogger
	// RetryWait is the first wait between attempts, default 200ms; it
	// grows with jitter up to 2 seconds.
	RetryWait time.Duration
}

// Client implements connectors.ERP and connectors.PriceLists over a
// configured JSON API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *resty.Client
	log  logrus.FieldLogger
}

var (
	_ connectors.ERP        = (*Client)(nil)
	_ connectors.PriceLists = (*Client)(nil)
)

// New builds a client from a configuration DecodeSection accepted and the
// resolved secrets in creds.
func New(cfg Config, creds Credentials, opts Options) (*Client, error) {
	if problems := cfg.Validate("erp.rest"); problems != nil {
		return nil, problems.Err("REST connector configuration")
	}
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = opts.MaxConns
	}
	if maxConns <= 0 {
		maxConns = 16
	}
	if opts.Transport == nil {
		dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		opts.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			MaxIdleConns:          maxConns,
			MaxIdleConnsPerHost:   maxConns,
			MaxConnsPerHost:       maxConns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	if opts.Logger == nil {
		opts.Logger = logging.Discard()
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 200 * time.Millisecond
	}
	log := opts.Logger.WithField(logging.KeyConnector, ConnectorName)

	client := resty.NewWithClient(&http.Client{Transport: opts.Transport}).
		SetBaseURL(strings.TrimRight(cfg.BaseURL, "/")).
		SetTimeout(cfg.Timeout).
		SetLogger(debugLogger{log}).
		SetHeader("Accept", "application/json").
		SetRetryCount(cfg.Retries).
		SetRetryWaitTime(opts.RetryWait).
		SetRetryMaxWaitTime(2 * time.Second).
		AddRetryCondition(retryable).
		AddRetryHook(func(response *resty.Response, err error) { logRetry(log, response, err) })
	auth := cfg.Auth
	switch auth.Kind {
	case "bearer":
		client.SetAuthToken(creds.Token)
	case "basic":
		client.SetBasicAuth(auth.Username, creds.Password)
	case "hmac":
		// The hook runs before every attempt, so each retry is signed with
		// a fresh timestamp.
		client.SetPreRequestHook(func(_ *resty.Client, request *http.Request) error {
			return signRequest(request, auth, creds.Secret, time.Now())
		})
	}
	return &Client{cfg: cfg, http: client, log: log}, nil
}

// Credentials are the resolved secrets of the auth section. They go only
// into request headers, never into logs or errors.
type Credentials struct {
	Token    string
	Password string
	Secret   string
}

// ResolveCredentials reads the secrets the auth kind needs from the
// environment or files. Errors name the key.
func ResolveCredentials(auth Auth, prefix string) (Credentials, error) {
	var creds Credentials
	var err error
	switch auth.Kind {
	case "bearer":
		if creds.Token, err = auth.Token.Resolve(); err != nil {
			return creds, fmt.Errorf("%s.auth.token: %w", prefix, err)
		}
	case "basic":
		if creds.Password, err = auth.Password.Resolve(); err != nil {
			return creds, fmt.Errorf("%s.auth.password: %w", prefix, err)
		}
	case "hmac":
		if creds.Secret, err = auth.Secret.Resolve(); err != nil {
			return creds, fmt.Errorf("%s.auth.secret: %w", prefix, err)
		}
	}
	return creds, nil
}

// RequestSignature returns the hex HMAC-SHA256 of the timestamp, method
// and request URI, one per line, followed by the body.
func RequestSignature(secret, timestamp, method, requestURI string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + method + "\n" + requestURI + "\n"))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func signRequest(request *http.Request, auth Auth, secret string, now time.Time) error {
	var body []byte
	if request.GetBody != nil {
		reader, err := request.GetBody()
		if err != nil {
			return fmt.Errorf("read request body to sign: %w", err)
		}
		if body, err = io.ReadAll(reader); err != nil {
			return fmt.Errorf("read request body to sign: %w", err)
		}
	}
	timestamp := strconv.FormatInt(now.Unix(), 10)
	request.Header.Set(auth.TimestampHeader, timestamp)
	if auth.KeyID != "" {
		request.Header.Set(auth.KeyIDHeader, auth.KeyID)
	}
	request.Header.Set(auth.Header, RequestSignature(secret, timestamp, request.Method, request.URL.RequestURI(), body))
	return nil
}

// idempotentKey marks, in a request's context, a request that may be
// repeated although its method is POST or PATCH.
type idempotentKey struct{}

// retryable lets resty repeat an attempt after a transport error, a 5xx
// or a 429, but only for an idempotent request: a repeated plain POST
// could create a second document.
func retryable(response *resty.Response, err error) bool {
	if response == nil || response.Request == nil {
		return false
	}
	request := response.Request
	idempotent := request.Method == http.MethodGet || request.Method == http.MethodPut ||
		request.Method == http.MethodDelete || request.Context().Value(idempotentKey{}) != nil
	if !idempotent {
		return false
	}
	if err != nil {
		return !errors.Is(err, context.Canceled)
	}
	status := response.StatusCode()
	return status >= 500 || status == http.StatusTooManyRequests
}

func logRetry(log logrus.FieldLogger, response *resty.Response, err error) {
	fields := logrus.Fields{}
	if response != nil && response.Request != nil {
		fields[logging.KeyAttempt] = response.Request.Attempt
		fields[logging.KeyHTTPMethod] = response.Request.Method
		fields[logging.KeyHTTPPath] = response.Request.URL
		if response.RawResponse != nil {
			fields[logging.KeyStatusCode] = response.StatusCode()
		}
	}
	if err != nil {
		fields[logging.KeyError] = err
	}
	log.WithFields(fields).Warn("REST ERP call failed, retrying")
}

// debugLogger routes resty's own messages to debug level, because every
// failure they report is also returned to the caller.
type debugLogger struct{ log logrus.FieldLogger }

func (l debugLogger) Errorf(format string, v ...any) { l.log.Debugf(format, v...) }
func (l debugLogger) Warnf(format string, v ...any)  { l.log.Debugf(format, v...) }
func (l debugLogger) Debugf(format string, v ...any) { l.log.Debugf(format, v...) }

// reply is a received HTTP reply with a success status.
type reply struct {
	status int
	body   []byte
}

// send calls endpoint name with the path placeholders filled from fields
// and body as the JSON body. A 404 is a KindNotFound error.
func (c *Client) send(ctx context.Context, name string, fields map[string]string, body []byte, idempotencyKey string) (reply, error) {
	endpoint := c.cfg.Endpoints[name]
	path := placeholderPattern.ReplaceAllStringFunc(endpoint.Path, func(match string) string {
		return url.PathEscape(fields[match[1:len(match)-1]])
	})
	if idempotencyKey != "" {
		ctx = context.WithValue(ctx, idempotentKey{}, true)
	}
	request := c.http.R().SetContext(ctx)
	if body != nil {
		request.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	if idempotencyKey != "" {
		request.SetHeader(c.cfg.Idempotency.Header, idempotencyKey)
	}
	operation := strings.TrimSpace(name + " " + fields["number"])
	response, err := request.Execute(endpoint.Method, path)
	if err != nil {
		return reply{}, transportError(operation, err)
	}
	status := response.StatusCode()
	if slices.Contains(endpoint.Success, status) {
		return reply{status: status, body: response.Body()}, nil
	}
	return reply{}, statusError(operation, status, response.Body())
}

func statusError(operation string, status int, body []byte) error {
	e := &connectors.Error{Connector: ConnectorName, Operation: operation, StatusCode: status, Message: snippet(body)}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind = connectors.KindThrottled
	case status >= 500:
		e.Kind = connectors.KindTransient
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = connectors.KindAuth
	case status == http.StatusNotFound:
		e.Kind = connectors.KindNotFound
	case status == http.StatusConflict:
		e.Kind = connectors.KindConflict
	case status >= 400:
		e.Kind = connectors.KindValidation
	default:
		e.Kind = connectors.KindProtocol
		e.Message = fmt.Sprintf("unexpected HTTP status: add %d to the endpoint's success list if it means success", status)
	}
	return e
}

// transportError classifies a request that got no HTTP response. It is
// transient, because the same call may succeed later.
func transportError(operation string, err error) error {
	message := "request failed"
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		message = "request timed out"
	case errors.Is(err, context.Canceled):
		message = "request cancelled"
	}
	return &connectors.Error{Kind: connectors.KindTransient, Connector: ConnectorName, Operation: operation, Message: message, Err: err}
}

func protocolError(operation, format string, args ...any) error {
	return &connectors.Error{Kind: connectors.KindProtocol, Connector: ConnectorName, Operation: operation, Message: fmt.Sprintf(format, args...)}
}

// snippet shortens an error body for a message, cutting at a character
// boundary.
func snippet(body []byte) string {
	const limit = 200
	text := strings.TrimSpace(string(body))
	if len(text) <= limit {
		return text
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}
