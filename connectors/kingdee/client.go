// Package kingdee implements connectors.ERP for Kingdee K/3 Cloud
// (金蝶云星空) over its WebAPI, the JSON-over-POST protocol under
// http(s)://host/k3cloud/. The same client talks to a real Kingdee and to
// ordo's simulator (internal/simulators/kingdee), and only Config.BaseURL
// differs.
//
// Every Ensure method is idempotent on the document number. It looks the
// number up first, saves only when it is missing, and then submits and
// audits only what is still needed. So a call repeated after a timeout or a
// crash at any step leaves exactly one audited document. The target forms
// must allow manual numbers (手工编号) for that, because the number is the
// idempotency key.
//
// The contract number travels in the custom header field
// Config.ContractNoField (F_ORDO_ContractNo by default), which a real
// Kingdee needs added to each form.
package kingdee

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"
	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
)

// ConnectorName is the connector's name in errors and logs.
const ConnectorName = "kingdee"

// DefaultContractNoField is the custom header field that carries ordo's
// contract number.
const DefaultContractNoField = "F_ORDO_ContractNo"

// Service paths below the base URL.
const (
	serviceValidateUser     = "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc"
	serviceLoginByAppSecret = "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc"
	serviceFormPrefix       = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
	serviceSuffix           = ".common.kdsvc"
)

// Config configures a Client. Credentials are plain values the caller reads
// from the environment or a file. The client never logs them or puts them
// in errors.
type Config struct {
	// BaseURL is the WebAPI root, e.g. "https://erp.example.com/k3cloud/".
	BaseURL string
	// AccountID is the data center id (acctID).
	AccountID string
	Username  string
	// Password logs in with ValidateUser. It is used only when AppID is
	// empty.
	Password string
	// AppID and AppSecret log in with LoginByAppSecret, the integration
	// login Kingdee recommends.
	AppID     string
	AppSecret string
	// LCID is the language of messages. Default 2052 (simplified Chinese).
	LCID int

	// Timeout bounds one HTTP request. Default 30 seconds.
	Timeout time.Duration
	// MaxConns sizes the connection pool to the caller's concurrency, for
	// example the worker's activity concurrency. Default 16.
	MaxConns int
	// ReadRetries is how often a failed query or View is repeated when the
	// failure is transient or throttled. Default 2, and a negative value
	// disables the repeats. Writes are never repeated at the HTTP level.
	ReadRetries int

	// OrgNumber is the organization (FNumber) that sells, produces, ships
	// and settles, e.g. "100".
	OrgNumber string
	// ContractNoField is the header field that carries the contract number.
	// Default DefaultContractNoField.
	ContractNoField string
	// Currencies maps ISO 4217 codes to Kingdee currency numbers. Nil uses
	// DefaultCurrencies.
	Currencies map[string]string

	// Logger receives logins, re-logins and retries. Nil discards them.
	Logger *logrus.Logger
}

// DefaultCurrencies maps ISO 4217 codes to the preset currency numbers of
// a new Kingdee data center.
//
// NOTE: the PRE numbers come from public Kingdee samples and are
// unverified. Set Config.Currencies from the data center's BD_Currency list
// before going live.
var DefaultCurrencies = map[string]string{
	"CNY": "PRE001",
	"HKD": "PRE002",
	"EUR": "PRE003",
	"JPY": "PRE004",
	"GBP": "PRE006",
	"USD": "PRE007",
}

func (c *Config) applyDefaults() {
	if c.LCID == 0 {
		c.LCID = 2052
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 16
	}
	if c.ReadRetries < 0 {
		c.ReadRetries = 0
	} else if c.ReadRetries == 0 {
		c.ReadRetries = 2
	}
	if c.ContractNoField == "" {
		c.ContractNoField = DefaultContractNoField
	}
	if c.Currencies == nil {
		c.Currencies = DefaultCurrencies
	}
}

func (c *Config) validate() error {
	var missing []string
	if c.BaseURL == "" {
		missing = append(missing, "BaseURL")
	}
	if c.AccountID == "" {
		missing = append(missing, "AccountID")
	}
	if c.Username == "" {
		missing = append(missing, "Username")
	}
	if c.OrgNumber == "" {
		missing = append(missing, "OrgNumber")
	}
	if len(missing) > 0 {
		return fmt.Errorf("kingdee connector: missing %s", strings.Join(missing, ", "))
	}
	if c.AppID == "" && c.Password == "" {
		return errors.New("kingdee connector: set Password, or AppID and AppSecret")
	}
	if c.AppID != "" && c.AppSecret == "" {
		return errors.New("kingdee connector: AppSecret is required with AppID")
	}
	parsed, err := url.Parse(c.BaseURL)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("kingdee connector: invalid BaseURL %q: use http(s)://host/k3cloud/", c.BaseURL)
	}
	return nil
}

// Client is a Kingdee WebAPI client implementing connectors.ERP. It is safe
// for concurrent use. Create one per connector instance so all calls share
// one connection pool and one pool of sessions: each request runs in a
// session of its own, up to MaxConns at once (see connectors.SessionPool).
type Client struct {
	cfg      Config
	baseURL  string
	http     *resty.Client
	log      *logrus.Entry
	sessions *connectors.SessionPool[[]*http.Cookie]
}

// sessionIdleLimit is how long the client keeps an unused session. A
// session that Kingdee ended sooner costs one new login.
//
// NOTE: 20 minutes is an estimate, not a documented K/3 Cloud default.
const sessionIdleLimit = 20 * time.Minute

var _ connectors.ERP = (*Client)(nil)
var _ connectors.PriceLists = (*Client)(nil)

// New builds a client. It does not log in, because the first call does.
func New(cfg Config) (*Client, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          cfg.MaxConns,
		MaxIdleConnsPerHost:   cfg.MaxConns,
		MaxConnsPerHost:       cfg.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	logger := cfg.Logger
	if logger == nil {
		logger = logging.Discard()
	}
	entry := logger.WithField(logging.KeyConnector, ConnectorName)

	httpClient := resty.NewWithClient(&http.Client{Transport: transport}).
		SetTimeout(cfg.Timeout).
		SetLogger(entry).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json")

	c := &Client{
		cfg:     cfg,
		baseURL: strings.TrimRight(cfg.BaseURL, "/") + "/",
		http:    httpClient,
		log:     entry,
	}
	c.sessions = connectors.NewSessionPool(cfg.MaxConns, c.login)
	return c, nil
}

// formService returns the path of a DynamicFormService method.
func formService(method string) string {
	return serviceFormPrefix + method + serviceSuffix
}

// post sends one JSON POST with the session cookies and classifies
// transport failures and HTTP statuses. It returns the body of a 2xx
// response.
func (c *Client) post(ctx context.Context, operation, service string, body any, cookies []*http.Cookie) ([]byte, error) {
	resp, err := c.postRaw(ctx, service, body, cookies)
	if err != nil {
		return nil, transportError(operation, err)
	}
	return replyBody(operation, resp)
}

func (c *Client) postRaw(ctx context.Context, service string, body any, cookies []*http.Cookie) (*resty.Response, error) {
	return c.http.R().SetContext(ctx).SetBody(body).SetCookies(cookies).Post(c.baseURL + service)
}

// replyBody returns the body of a 2xx response and classifies any other
// status.
func replyBody(operation string, resp *resty.Response) ([]byte, error) {
	status := resp.StatusCode()
	if status >= 200 && status <= 299 {
		return resp.Body(), nil
	}
	e := &connectors.Error{
		Connector:  ConnectorName,
		Operation:  operation,
		StatusCode: status,
		Message:    snippet(resp.Body()),
	}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind = connectors.KindThrottled
	case status >= 500:
		e.Kind = connectors.KindTransient
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = connectors.KindAuth
	case status >= 400:
		e.Kind = connectors.KindValidation
	default:
		e.Kind = connectors.KindProtocol
	}
	return nil, e
}

// transportError classifies a request that got no HTTP response: timeouts,
// refused or dropped connections and cancelled contexts are transient,
// because the same call may succeed later.
func transportError(operation string, err error) error {
	message := "request failed"
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		message = "request timed out"
	case errors.Is(err, context.Canceled):
		message = "request cancelled"
	}
	return &connectors.Error{
		Kind:      connectors.KindTransient,
		Connector: ConnectorName,
		Operation: operation,
		Message:   message,
		Err:       err,
	}
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

// call sends a DynamicFormService request in a session of its own: it
// takes one from the pool, logging in if none is idle, and when the reply
// reports the session lost, logs in again once and replays the request. A
// second lost session is a transient error.
func (c *Client) call(ctx context.Context, operation, service string, body any) ([]byte, error) {
	s, err := c.sessions.Acquire(ctx)
	if err != nil {
		return nil, sessionError(err)
	}
	raw, err := c.post(ctx, operation, service, body, s.Value)
	if err != nil || !sessionLost(raw) {
		c.sessions.Release(s, true)
		return raw, err
	}

	c.log.WithField(logging.KeyOperation, operation).Warn("Kingdee session lost; logging in again and replaying the call")
	if s, err = c.sessions.Renew(ctx); err != nil {
		c.sessions.Release(s, false)
		return nil, sessionError(err)
	}
	raw, err = c.post(ctx, operation, service, body, s.Value)
	lost := err == nil && sessionLost(raw)
	c.sessions.Release(s, !lost)
	if err != nil {
		return nil, err
	}
	if lost {
		return nil, &connectors.Error{
			Kind:      connectors.KindTransient,
			Connector: ConnectorName,
			Operation: operation,
			Code:      "500",
			Message:   "session lost again right after a new login: " + sessionLostMessage,
		}
	}
	return raw, nil
}

// sessionError passes a login error on and turns the end of the caller's
// wait for a session into a transient error.
func sessionError(err error) error {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return ce
	}
	return transportError("Login", err)
}

// Logins returns how many sessions the client opened.
func (c *Client) Logins() int { return c.sessions.Logins() }

// login opens a session and returns its cookies.
func (c *Client) login(ctx context.Context) ([]*http.Cookie, time.Duration, error) {
	service, parameters := serviceValidateUser, []any{c.cfg.AccountID, c.cfg.Username, c.cfg.Password, c.cfg.LCID}
	if c.cfg.AppID != "" {
		service = serviceLoginByAppSecret
		parameters = []any{c.cfg.AccountID, c.cfg.Username, c.cfg.AppID, c.cfg.AppSecret, c.cfg.LCID}
	}
	body := map[string]any{
		"format":     1,
		"useragent":  "ApiClient",
		"rid":        map[string]any{},
		"parameters": parameters,
		"timestamp":  time.Now().Format("2006-01-02"),
		"v":          "1.0",
	}
	resp, err := c.postRaw(ctx, service, body, nil)
	if err != nil {
		return nil, 0, transportError("Login", err)
	}
	raw, err := replyBody("Login", resp)
	if err != nil {
		return nil, 0, err
	}
	reply, err := decodeLogin(raw)
	if err != nil {
		return nil, 0, err
	}
	if reply.LoginResultType != loginSucceeded {
		message := reply.Message
		if message == "" {
			message = "login rejected"
		}
		return nil, 0, &connectors.Error{
			Kind:      connectors.KindAuth,
			Connector: ConnectorName,
			Operation: "Login",
			Code:      fmt.Sprintf("LoginResultType %d", reply.LoginResultType),
			Message:   message + "; check AccountID, Username and the password or app secret",
		}
	}
	cookies := sessionCookies(resp.Cookies(), reply.KDSVCSessionID)
	c.log.WithField(logging.KeyCount, c.sessions.Logins()+1).Info("Logged in to Kingdee")
	return cookies, sessionIdleLimit, nil
}

// sessionCookies returns the session cookies of a login reply. When the
// reply set no kdservice-sessionid cookie, the KDSVCSessionId from its body
// is used as that cookie, so later calls carry the session either way.
func sessionCookies(set []*http.Cookie, sessionID string) []*http.Cookie {
	var cookies []*http.Cookie
	hasSession := false
	for _, cookie := range set {
		if cookie.Value == "" {
			continue
		}
		cookies = append(cookies, &http.Cookie{Name: cookie.Name, Value: cookie.Value})
		hasSession = hasSession || cookie.Name == "kdservice-sessionid"
	}
	if !hasSession && sessionID != "" {
		cookies = append(cookies, &http.Cookie{Name: "kdservice-sessionid", Value: sessionID})
	}
	return cookies
}

// read sends an idempotent request (ExecuteBillQuery, View), repeating it
// up to ReadRetries times with a doubling pause while the failure is
// transient or throttled.
func (c *Client) read(ctx context.Context, operation, service string, body any, decode func([]byte) error) error {
	pause := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		raw, err := c.call(ctx, operation, service, body)
		if err == nil {
			err = decode(raw)
		}
		if err == nil || attempt >= c.cfg.ReadRetries || !connectors.IsRetryable(err) {
			return err
		}
		c.log.WithFields(logrus.Fields{
			logging.KeyOperation: operation,
			logging.KeyAttempt:   attempt + 1,
			logging.KeyError:     err.Error(),
		}).Warn("Kingdee read failed; retrying")
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		pause *= 2
	}
}
