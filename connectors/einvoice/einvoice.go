// Package einvoice implements connectors.EInvoice for invoicing platforms
// that speak the signed JSON protocol documented in
// internal/simulators/einvoice: a {code, message, data} envelope, requests
// signed with an app key and HMAC-SHA256, asynchronous issuing and a
// two-step red-letter reversal.
//
// Every call is idempotent on the platform side (issue and red-letter
// requests on their serial number, confirmation forms per original
// invoice, queries trivially). So the client retries transport errors, 5xx
// and 429 replies at the HTTP level, and a reply lost after the platform
// accepted an issue request costs nothing: the retry returns the existing
// request. What remains after the retries is returned as a classified
// *connectors.Error.
package einvoice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
)

// ConnectorName is the Connector of every *connectors.Error this package
// returns.
const ConnectorName = "einvoice"

// Config configures a Client. Zero values take the defaults named on each
// field.
type Config struct {
	// BaseURL is the platform's address, e.g. http://127.0.0.1:8601.
	// Required.
	BaseURL string
	// AppKey and AppSecret are the platform credentials. Required. The
	// secret is only used to sign and never logged.
	AppKey    string
	AppSecret string
	// Timeout bounds one HTTP attempt, default 10 seconds.
	Timeout time.Duration
	// Retries is the number of extra attempts after a transport error, a
	// 5xx or a 429 reply, default 2. A negative value disables retries.
	Retries int
	// RetryWait is the first wait between attempts, default 200
	// milliseconds. It grows with jitter up to RetryMaxWait, default 2
	// seconds.
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// MaxConns sizes the connection pool to the caller's concurrency,
	// default 16. It is ignored when Transport is set.
	MaxConns int
	// Transport defaults to a pooled transport shared by the client's
	// requests.
	Transport http.RoundTripper
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Client calls an invoicing platform. It is safe for concurrent use.
type Client struct {
	http *resty.Client
}

var _ connectors.EInvoice = (*Client)(nil)

// New returns a client for the platform at cfg.BaseURL.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("einvoice connector: missing base URL")
	}
	if _, err := url.ParseRequestURI(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("einvoice connector: invalid base URL %q: %w", cfg.BaseURL, err)
	}
	if cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, errors.New("einvoice connector: missing app key or app secret")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 2
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 200 * time.Millisecond
	}
	if cfg.RetryMaxWait <= 0 {
		cfg.RetryMaxWait = 2 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.Transport == nil {
		cfg.Transport = newTransport(cfg.MaxConns)
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	log := cfg.Logger.WithField(logging.KeyConnector, ConnectorName)

	client := resty.NewWithClient(&http.Client{Transport: cfg.Transport}).
		SetBaseURL(strings.TrimRight(cfg.BaseURL, "/")).
		SetTimeout(cfg.Timeout).
		SetLogger(debugLogger{log}).
		SetHeader("Accept", "application/json").
		SetRetryCount(cfg.Retries).
		SetRetryWaitTime(cfg.RetryWait).
		SetRetryMaxWaitTime(cfg.RetryMaxWait).
		AddRetryCondition(retryableReply).
		AddRetryHook(func(response *resty.Response, err error) {
			logRetry(log, response, err)
		})
	// The hook runs before every attempt, so each retry gets a fresh
	// timestamp and nonce; the platform rejects a reused nonce.
	signer := requestSigner{appKey: cfg.AppKey, appSecret: cfg.AppSecret}
	client.SetPreRequestHook(func(_ *resty.Client, request *http.Request) error {
		return signer.sign(request, time.Now())
	})
	return &Client{http: client}, nil
}

// newTransport returns a pooled transport with bounded dial and handshake
// times, tuned for many small calls to one host.
func newTransport(maxConns int) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// retryableReply reports whether resty should repeat an attempt: on a
// transport error, a 5xx or a 429. Every platform call is idempotent, so
// repeating is safe for POST requests too.
func retryableReply(response *resty.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled)
	}
	if response == nil {
		return false
	}
	status := response.StatusCode()
	return status >= 500 || status == http.StatusTooManyRequests || nonceReused(status, response.Body())
}

// nonceReused reports a reply that rejects the request's nonce as seen
// before. Go's HTTP transport sends a GET again, headers and all, when a
// reused connection closes before the reply, so a reply lost after the
// platform read the request comes back as this error. Signing the request
// again with a fresh nonce succeeds.
func nonceReused(status int, body []byte) bool {
	if status != http.StatusUnauthorized {
		return false
	}
	var reply envelope
	return json.Unmarshal(body, &reply) == nil && reply.Code == codeNonceReused
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
	log.WithFields(fields).Warn("e-invoice call failed, retrying")
}

// debugLogger routes resty's own messages to debug level, because every
// failure they report is also returned to the caller and logged there.
type debugLogger struct{ log logrus.FieldLogger }

func (l debugLogger) Errorf(format string, v ...any) { l.log.Debugf(format, v...) }
func (l debugLogger) Warnf(format string, v ...any)  { l.log.Debugf(format, v...) }
func (l debugLogger) Debugf(format string, v ...any) { l.log.Debugf(format, v...) }

// Issue submits a blue invoice request and returns the request's state,
// usually processing. Repeating it with the same request returns the
// same state without a second invoice.
func (c *Client) Issue(ctx context.Context, request connectors.InvoiceRequest) (connectors.Invoice, error) {
	const operation = "Issue"
	var view invoiceView
	if err := c.call(ctx, operation, http.MethodPost, "/v1/invoices", issueWireFrom(request), &view); err != nil {
		return connectors.Invoice{}, err
	}
	return view.invoice(operation)
}

// Get returns the state of a blue or red request by its serial number.
func (c *Client) Get(ctx context.Context, serialNo string) (connectors.Invoice, error) {
	const operation = "Get"
	if serialNo == "" {
		return connectors.Invoice{}, localError(operation, connectors.KindValidation, "serial_no", "missing serial number")
	}
	var view invoiceView
	if err := c.call(ctx, operation, http.MethodGet, "/v1/invoices/"+url.PathEscape(serialNo), nil, &view); err != nil {
		return connectors.Invoice{}, err
	}
	return view.invoice(operation)
}

// RedLetter reverses an issued invoice in full. It creates the
// confirmation form, or finds the one created by an earlier attempt, and
// requests the red invoice under request.SerialNo. It returns the state of
// the red request, which is processing until the platform issues it; the
// original then reads as reversed.
func (c *Client) RedLetter(ctx context.Context, request connectors.RedLetterRequest) (connectors.Invoice, error) {
	const operation = "RedLetter"
	if err := validateRedLetter(request); err != nil {
		return connectors.Invoice{}, err
	}
	originalNo := request.OriginalInvoiceNo
	if originalNo == "" {
		original, err := c.Get(ctx, request.OriginalSerialNo)
		if err != nil {
			return connectors.Invoice{}, fmt.Errorf("look up invoice to reverse: %w", err)
		}
		if original.InvoiceNo == "" {
			return connectors.Invoice{}, &connectors.Error{
				Kind: connectors.KindConflict, Connector: ConnectorName, Operation: operation,
				Message: fmt.Sprintf("invoice request %s is %s and has no invoice number to reverse", request.OriginalSerialNo, original.Status),
			}
		}
		originalNo = original.InvoiceNo
	}

	var form confirmationView
	confirmation := redConfirmationWire{OriginalInvoiceNo: originalNo, Reason: request.Reason}
	if err := c.call(ctx, operation+" confirmation", http.MethodPost, "/v1/red-confirmations", confirmation, &form); err != nil {
		return connectors.Invoice{}, err
	}
	if form.ConfirmationNo == "" {
		return connectors.Invoice{}, &connectors.Error{
			Kind: connectors.KindProtocol, Connector: ConnectorName, Operation: operation,
			Message: "confirmation form reply without confirmation_no",
		}
	}

	var view invoiceView
	red := redIssueWire{SerialNo: request.SerialNo, ConfirmationNo: form.ConfirmationNo, Reason: request.Reason}
	if err := c.call(ctx, operation, http.MethodPost, "/v1/red-invoices", red, &view); err != nil {
		return connectors.Invoice{}, err
	}
	return view.invoice(operation)
}

func validateRedLetter(request connectors.RedLetterRequest) error {
	var fields []connectors.FieldError
	if request.SerialNo == "" {
		fields = append(fields, connectors.FieldError{Field: "serial_no", Message: "missing serial number", Index: -1})
	}
	if request.OriginalSerialNo == "" && request.OriginalInvoiceNo == "" {
		fields = append(fields, connectors.FieldError{Field: "original_invoice_no",
			Message: "missing original invoice: give its serial number or invoice number", Index: -1})
	}
	if strings.TrimSpace(request.Reason) == "" {
		fields = append(fields, connectors.FieldError{Field: "reason", Message: "missing reason", Index: -1})
	}
	if len(fields) == 0 {
		return nil
	}
	return &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: "RedLetter",
		Message: "invalid red-letter request", Fields: fields}
}

func localError(operation string, kind connectors.ErrorKind, field, message string) *connectors.Error {
	return &connectors.Error{Kind: kind, Connector: ConnectorName, Operation: operation, Message: message,
		Fields: []connectors.FieldError{{Field: field, Message: message, Index: -1}}}
}
