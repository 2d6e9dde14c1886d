// Package bank implements connectors.Bank for banks that serve account
// statements through the signed JSON query documented in
// internal/simulators/bank. The bank returns pages of lines after an opaque
// cursor. Each line has a bank serial number, a YYYYMMDD business date and
// a signed, comma-formatted amount.
//
// The query only reads, so the client retries transport errors, 5xx and
// 429 replies at the HTTP level. Lines are returned as the bank sends them:
// a line may appear again at the start of the next page, and callers
// deduplicate on LineID.
package bank

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/money"
)

// ConnectorName is the Connector of every *connectors.Error this package
// returns.
const ConnectorName = "bank"

// Config configures a Client. Zero values take the defaults named on each
// field.
type Config struct {
	// BaseURL is the bank's address, e.g. http://127.0.0.1:8602. Required.
	BaseURL string
	// ClientID and ClientSecret are the direct-connect credentials.
	// Required. The secret is only used to sign and never logged.
	ClientID     string
	ClientSecret string
	// AccountNo is the collection account to read. Required.
	AccountNo string
	// MaxPageSize caps the limit passed to ListLines, default 200, the
	// most the bank accepts.
	MaxPageSize int
	// Timeout bounds one HTTP attempt, default 10 seconds.
	Timeout time.Duration
	// Retries is the number of extra attempts after a transport error, a
	// 5xx or a 429 reply, default 3. A negative value disables retries.
	Retries int
	// RetryWait is the first wait between attempts, default 200
	// milliseconds. It grows with jitter up to RetryMaxWait, default 2
	// seconds.
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// MaxConns sizes the connection pool to the caller's concurrency,
	// default 4. It is ignored when Transport is set.
	MaxConns int
	// Transport defaults to a pooled transport.
	Transport http.RoundTripper
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Client reads the statement of one account. It is safe for concurrent
// use.
type Client struct {
	http        *resty.Client
	accountNo   string
	maxPageSize int
}

var _ connectors.Bank = (*Client)(nil)

// New returns a client for the bank at cfg.BaseURL.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("bank connector: missing base URL")
	}
	if _, err := url.ParseRequestURI(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("bank connector: invalid base URL %q: %w", cfg.BaseURL, err)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("bank connector: missing client ID or client secret")
	}
	if cfg.AccountNo == "" {
		return nil, errors.New("bank connector: missing account number")
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 200
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 3
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
		cfg.MaxConns = 4
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
	// The hook runs before every attempt, so each retry is signed with a
	// fresh timestamp.
	client.SetPreRequestHook(func(_ *resty.Client, request *http.Request) error {
		return sign(request, cfg.ClientID, cfg.ClientSecret, time.Now())
	})
	return &Client{http: client, accountNo: cfg.AccountNo, maxPageSize: cfg.MaxPageSize}, nil
}

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

// sign sets X-Client-Id, X-Timestamp and X-Signature on request, which
// must have its final URL and body.
func sign(request *http.Request, clientID, secret string, now time.Time) error {
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
	request.Header.Set("X-Client-Id", clientID)
	request.Header.Set("X-Timestamp", timestamp)
	request.Header.Set("X-Signature", RequestSignature(secret, timestamp, request.Method, request.URL.RequestURI(), body))
	return nil
}

// RequestSignature returns the hex HMAC-SHA256 that authenticates a
// statement request: over the timestamp, method and request URI, one per
// line, followed by the body.
func RequestSignature(secret, timestamp, method, requestURI string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + method + "\n" + requestURI + "\n"))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// retryableReply reports whether resty should repeat an attempt: on a
// transport error, a 5xx or a 429.
func retryableReply(response *resty.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled)
	}
	if response == nil {
		return false
	}
	status := response.StatusCode()
	return status >= 500 || status == http.StatusTooManyRequests
}

func logRetry(log logrus.FieldLogger, response *resty.Response, err error) {
	fields := logrus.Fields{}
	if response != nil && response.Request != nil {
		fields[logging.KeyAttempt] = response.Request.Attempt
		if response.RawResponse != nil {
			fields[logging.KeyStatusCode] = response.StatusCode()
		}
	}
	if err != nil {
		fields[logging.KeyError] = err
	}
	log.WithFields(fields).Warn("bank statement query failed, retrying")
}

// debugLogger routes resty's own messages to debug level, because every
// failure they report is also returned to the caller and logged there.
type debugLogger struct{ log logrus.FieldLogger }

func (l debugLogger) Errorf(format string, v ...any) { l.log.Debugf(format, v...) }
func (l debugLogger) Warnf(format string, v ...any)  { l.log.Debugf(format, v...) }
func (l debugLogger) Debugf(format string, v ...any) { l.log.Debugf(format, v...) }

type queryRequest struct {
	AccountNo string `json:"account_no"`
	Cursor    string `json:"cursor"`
	PageSize  int    `json:"page_size"`
}

type reply struct {
	RetCode string          `json:"ret_code"`
	RetMsg  string          `json:"ret_msg"`
	Data    json.RawMessage `json:"data"`
}

type queryReply struct {
	Lines      []statementLine `json:"lines"`
	NextCursor string          `json:"next_cursor"`
	HasMore    bool            `json:"has_more"`
}

type statementLine struct {
	SerialNo            string `json:"serial_no"`
	BusinessDate        string `json:"business_date"`
	Amount              string `json:"amount"`
	Currency            string `json:"currency"`
	CounterpartyName    string `json:"counterparty_name"`
	CounterpartyAccount string `json:"counterparty_account"`
	Remark              string `json:"remark"`
}

const operationListLines = "ListLines"

// ListLines returns up to limit lines after cursor, oldest first, and the
// cursor to pass next time. A limit of 0 or less, or above MaxPageSize,
// requests MaxPageSize lines. On an empty page the returned cursor equals
// the one passed in. A line the bank resent may repeat the last line of the
// previous page.
func (c *Client) ListLines(ctx context.Context, cursor string, limit int) ([]connectors.BankLine, string, error) {
	if limit <= 0 || limit > c.maxPageSize {
		limit = c.maxPageSize
	}
	payload, err := json.Marshal(queryRequest{AccountNo: c.accountNo, Cursor: cursor, PageSize: limit})
	if err != nil {
		return nil, "", failure(connectors.KindValidation, 0, "", "encode statement query", err)
	}
	response, err := c.http.R().SetContext(ctx).
		SetHeader("Content-Type", "application/json; charset=utf-8").
		SetBody(payload).
		Post("/openapi/v1/statements/query")
	if err != nil {
		return nil, "", failure(connectors.KindTransient, 0, "", "request failed", err)
	}
	page, err := decodePage(response)
	if err != nil {
		return nil, "", err
	}

	lines := make([]connectors.BankLine, 0, len(page.Lines))
	for i, raw := range page.Lines {
		line, err := convertLine(raw)
		if err != nil {
			return nil, "", failure(connectors.KindProtocol, response.StatusCode(), "",
				fmt.Sprintf("line %d of the page after cursor %q", i+1, cursor), err)
		}
		lines = append(lines, line)
	}
	next := page.NextCursor
	if next == "" {
		next = cursor
	}
	return lines, next, nil
}

// decodePage classifies a reply by its HTTP status, then by ret_code, and
// decodes the page on success.
func decodePage(response *resty.Response) (queryReply, error) {
	status := response.StatusCode()
	var envelope reply
	decodeErr := json.Unmarshal(response.Body(), &envelope)
	code, message := "", "reply is not a JSON envelope"
	if decodeErr == nil {
		code, message = envelope.RetCode, envelope.RetMsg
	}

	switch {
	case status >= 500:
		return queryReply{}, failure(connectors.KindTransient, status, code, message, nil)
	case status == http.StatusTooManyRequests:
		return queryReply{}, failure(connectors.KindThrottled, status, code, message, nil)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return queryReply{}, failure(connectors.KindAuth, status, code, message, nil)
	case status == http.StatusNotFound:
		return queryReply{}, failure(connectors.KindNotFound, status, code, message, nil)
	case status >= 400:
		return queryReply{}, failure(connectors.KindValidation, status, code, message, nil)
	case status < 200 || status > 299:
		return queryReply{}, failure(connectors.KindProtocol, status, code, fmt.Sprintf("unexpected HTTP status %d", status), nil)
	case decodeErr != nil:
		return queryReply{}, failure(connectors.KindProtocol, status, "", message, decodeErr)
	case envelope.RetCode != "000000":
		return queryReply{}, failure(kindOfCode(envelope.RetCode), status, code, message, nil)
	}
	var page queryReply
	if err := json.Unmarshal(envelope.Data, &page); err != nil {
		return queryReply{}, failure(connectors.KindProtocol, status, code, "reply data is not a statement page", err)
	}
	return page, nil
}

// kindOfCode classifies an error code sent with HTTP 200.
func kindOfCode(code string) connectors.ErrorKind {
	switch code {
	case "E1001":
		return connectors.KindValidation
	case "E1004":
		return connectors.KindNotFound
	case "E4001":
		return connectors.KindAuth
	case "E4291":
		return connectors.KindThrottled
	case "E5001":
		return connectors.KindTransient
	}
	return connectors.KindProtocol
}

var businessDatePattern = regexp.MustCompile(`^[0-9]{8}$`)

// convertLine parses one statement line and keeps the amount's text.
func convertLine(raw statementLine) (connectors.BankLine, error) {
	if raw.SerialNo == "" {
		return connectors.BankLine{}, errors.New("missing serial_no")
	}
	if !businessDatePattern.MatchString(raw.BusinessDate) {
		return connectors.BankLine{}, fmt.Errorf("line %s: business_date %q is not YYYYMMDD", raw.SerialNo, raw.BusinessDate)
	}
	if _, err := time.Parse("20060102", raw.BusinessDate); err != nil {
		return connectors.BankLine{}, fmt.Errorf("line %s: business_date %q is not a calendar date", raw.SerialNo, raw.BusinessDate)
	}
	amount, err := money.ParseSigned(raw.Amount)
	if err != nil {
		return connectors.BankLine{}, fmt.Errorf("line %s: %w", raw.SerialNo, err)
	}
	return connectors.BankLine{
		LineID:       raw.SerialNo,
		BusinessDate: raw.BusinessDate,
		Amount:       amount,
		AmountText:   raw.Amount,
		Currency:     raw.Currency,
		PayerName:    raw.CounterpartyName,
		PayerAccount: raw.CounterpartyAccount,
		Remark:       raw.Remark,
	}, nil
}

func failure(kind connectors.ErrorKind, status int, code, message string, err error) *connectors.Error {
	return &connectors.Error{
		Kind:       kind,
		Connector:  ConnectorName,
		Operation:  operationListLines,
		StatusCode: status,
		Code:       code,
		Message:    message,
		Err:        err,
	}
}
