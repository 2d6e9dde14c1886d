// Package sapb1 is ordo's example ERP plugin: a connector for the SAP
// Business One Service Layer, written only against the plugin SDK in
// plugins/erpplugin and the types in connectors. The executable in
// cmd/ordo-plugin-sapb1 serves it to ordo; see docs/plugins.md.
//
// Every document ordo creates carries ordo's document number in the
// user-defined field U_ORDO_NO and the contract number in U_ORDO_CONTRACT.
// Each Ensure method looks the number up first and creates the document
// only when it is missing, so a retry after a timeout or a lost reply finds
// the document the first attempt created.
package sapb1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/plugins/erpplugin"
)

// ConnectorName names the connector in errors and in `ordo plugin verify`.
const ConnectorName = "sapb1"

// Version is the plugin's release.
const Version = "0.1.0"

// Environment variables the executable reads its configuration from.
// ordo passes them through plugins[].env in its configuration.
const (
	EnvServiceLayerURL = "SAPB1_SERVICE_LAYER_URL"
	EnvCompanyDB       = "SAPB1_COMPANY_DB"
	EnvUserName        = "SAPB1_USERNAME"
	EnvPassword        = "SAPB1_PASSWORD"
	EnvPasswordFile    = "SAPB1_PASSWORD_FILE"
	EnvTimeout         = "SAPB1_TIMEOUT"
	EnvPageSize        = "SAPB1_PAGE_SIZE"
)

// Config is the Service Layer connection.
type Config struct {
	// BaseURL is the Service Layer root, e.g. https://b1.example.com:50000/b1s/v1/.
	BaseURL   string
	CompanyDB string
	UserName  string
	Password  string
	// Timeout bounds one HTTP request. Default 15 seconds.
	Timeout time.Duration
	// PageSize is the odata.maxpagesize the client asks for. Default 100.
	PageSize int
	// MaxConns bounds the connections to the Service Layer. Default 32.
	MaxConns int
}

// ConfigFromEnv reads the configuration from the environment. It names
// the missing or malformed variable and never includes the password.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		BaseURL:   getenv(EnvServiceLayerURL),
		CompanyDB: getenv(EnvCompanyDB),
		UserName:  getenv(EnvUserName),
		Password:  getenv(EnvPassword),
	}
	if file := getenv(EnvPasswordFile); file != "" && cfg.Password == "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("%s: read the password file: %w", EnvPasswordFile, err)
		}
		cfg.Password = strings.TrimSpace(string(data))
	}
	for _, v := range []struct{ name, value string }{
		{EnvServiceLayerURL, cfg.BaseURL}, {EnvCompanyDB, cfg.CompanyDB}, {EnvUserName, cfg.UserName},
	} {
		if v.value == "" {
			return Config{}, fmt.Errorf("%s is not set: ordo passes it through plugins[].env", v.name)
		}
	}
	if cfg.Password == "" {
		return Config{}, fmt.Errorf("set %s or %s", EnvPassword, EnvPasswordFile)
	}
	if text := getenv(EnvTimeout); text != "" {
		d, err := time.ParseDuration(text)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q is not a positive duration such as 15s", EnvTimeout, text)
		}
		cfg.Timeout = d
	}
	if text := getenv(EnvPageSize); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("%s=%q is not a positive number", EnvPageSize, text)
		}
		cfg.PageSize = n
	}
	return cfg, nil
}

// serviceError is the Service Layer's error body.
type serviceError struct {
	Error struct {
		Code    json.Number `json:"code"`
		Message struct {
			Lang  string `json:"lang"`
			Value string `json:"value"`
		} `json:"message"`
	} `json:"error"`
}

// Service Layer error codes the client acts on.
const (
	codeInvalidSession = "301"
	codeNotFound       = "-2028"
)

// defaultSessionTimeout is how long the Service Layer keeps an idle session
// when the login reply has no SessionTimeout.
const defaultSessionTimeout = 30 * time.Minute

// Client talks to one Service Layer company. Each request runs in a session
// of its own from a pool of up to MaxConns (see connectors.SessionPool), so
// a lost session fails only one request. A request whose session is
// rejected logs in once more and sends again. It is safe for concurrent use.
type Client struct {
	cfg      Config
	base     *url.URL
	http     *http.Client
	sessions *connectors.SessionPool[[]*http.Cookie]
}

// NewClient checks cfg and returns a client. It does not log in yet.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 32
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("%s=%q is not an absolute URL such as https://b1.example.com:50000/b1s/v1/", EnvServiceLayerURL, cfg.BaseURL)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.MaxConns
	transport.MaxConnsPerHost = cfg.MaxConns
	c := &Client{cfg: cfg, base: base, http: &http.Client{Transport: transport, Timeout: cfg.Timeout}}
	c.sessions = connectors.NewSessionPool(cfg.MaxConns, c.login)
	return c, nil
}

// Logins returns how many times the client logged in.
func (c *Client) Logins() int { return c.sessions.Logins() }

func (c *Client) fail(kind connectors.ErrorKind, operation string, status int, code, message string, err error) *connectors.Error {
	return &connectors.Error{Kind: kind, Connector: ConnectorName, Operation: operation, StatusCode: status, Code: code, Message: message, Err: err}
}

// login opens a new session and returns its B1SESSION and ROUTEID cookies
// and how long it may stay idle.
func (c *Client) login(ctx context.Context) ([]*http.Cookie, time.Duration, error) {
	body, _ := json.Marshal(map[string]string{"CompanyDB": c.cfg.CompanyDB, "UserName": c.cfg.UserName, "Password": c.cfg.Password})
	resp, data, err := c.send(ctx, http.MethodPost, "Login", body, nil)
	if err != nil {
		return nil, 0, c.transportError("Login", err)
	}
	if resp.StatusCode != http.StatusOK {
		ce := c.replyError("Login", resp.StatusCode, data)
		if resp.StatusCode == http.StatusUnauthorized {
			ce.Kind = connectors.KindAuth
			ce.Message = fmt.Sprintf("login to company %s as %s was refused: %s", c.cfg.CompanyDB, c.cfg.UserName, ce.Message)
		}
		return nil, 0, ce
	}
	var cookies []*http.Cookie
	for _, cookie := range resp.Cookies() {
		if cookie.Name == "B1SESSION" || cookie.Name == "ROUTEID" {
			cookies = append(cookies, &http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
	}
	if len(cookies) == 0 {
		return nil, 0, c.fail(connectors.KindProtocol, "Login", resp.StatusCode, "", "the login reply set no B1SESSION cookie", nil)
	}
	var reply struct {
		SessionTimeout int `json:"SessionTimeout"`
	}
	keep := defaultSessionTimeout
	if json.Unmarshal(data, &reply) == nil && reply.SessionTimeout > 0 {
		keep = time.Duration(reply.SessionTimeout) * time.Minute
	}
	erpplugin.Logger().Debug("logged in to the Service Layer", "company_db", c.cfg.CompanyDB)
	return cookies, keep, nil
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, cookies []*http.Cookie) (*http.Response, []byte, error) {
	target, err := c.base.Parse(path)
	if err != nil {
		return nil, nil, fmt.Errorf("build the URL of %s: %w", path, err)
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), reader)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(c.cfg.PageSize))
	for _, cookie := range cookies {
		req.AddCookie(cookie)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	return resp, data, nil
}

// transportError reports a request that got no reply. The Service Layer
// may or may not have done the work, so callers look the document up
// before they create it again.
func (c *Client) transportError(operation string, err error) *connectors.Error {
	return c.fail(connectors.KindTransient, operation, 0, "", "no reply from the Service Layer", err)
}

// replyError classifies an error reply by status and Service Layer code.
func (c *Client) replyError(operation string, status int, data []byte) *connectors.Error {
	var body serviceError
	code, message := "", strings.TrimSpace(string(data))
	if err := json.Unmarshal(data, &body); err == nil && body.Error.Message.Value != "" {
		code, message = body.Error.Code.String(), body.Error.Message.Value
	} else if len(message) > 200 {
		message = message[:200] + "..."
	}
	kind := connectors.KindValidation
	switch {
	case status == http.StatusTooManyRequests:
		kind = connectors.KindThrottled
	case status >= 500:
		kind = connectors.KindTransient
	case status == http.StatusUnauthorized:
		kind = connectors.KindTransient
	case status == http.StatusNotFound || code == codeNotFound:
		kind = connectors.KindNotFound
	case status == http.StatusForbidden:
		kind = connectors.KindAuth
	}
	return c.fail(kind, operation, status, code, message, nil)
}

// call sends one request with the session and decodes a JSON reply into
// out. An invalid session is renewed and the request sent once more;
// nothing else is retried here, because ordo retries the activity.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	operation := method + " " + strings.SplitN(path, "?", 2)[0]
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return c.fail(connectors.KindValidation, operation, 0, "", "encode the request", err)
		}
	}
	s, err := c.sessions.Acquire(ctx)
	if err != nil {
		return c.sessionError(err)
	}
	for attempt := 0; ; attempt++ {
		resp, data, err := c.send(ctx, method, path, body, s.Value)
		if err != nil {
			c.sessions.Release(s, true)
			return c.transportError(operation, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			c.sessions.Release(s, true)
			if out == nil || resp.StatusCode == http.StatusNoContent {
				return nil
			}
			decoder := json.NewDecoder(bytes.NewReader(data))
			decoder.UseNumber()
			if err := decoder.Decode(out); err != nil {
				return c.fail(connectors.KindProtocol, operation, resp.StatusCode, "", "the reply is not the expected JSON", err)
			}
			return nil
		}
		ce := c.replyError(operation, resp.StatusCode, data)
		invalid := resp.StatusCode == http.StatusUnauthorized || ce.Code == codeInvalidSession
		if invalid && attempt == 0 {
			erpplugin.Logger().Info("Service Layer session is invalid; logging in again", "operation", operation)
			if s, err = c.sessions.Renew(ctx); err != nil {
				c.sessions.Release(s, false)
				return c.sessionError(err)
			}
			continue
		}
		c.sessions.Release(s, !invalid)
		if invalid {
			ce.Message = "the session was refused again after a new login: " + ce.Message
		}
		return ce
	}
}

// sessionError passes a login error on and turns the end of the caller's
// wait for a session into a transient error.
func (c *Client) sessionError(err error) error {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return ce
	}
	return c.transportError("Login", err)
}

// page is one page of an entity set.
type page struct {
	Value    []map[string]any `json:"value"`
	NextLink string           `json:"odata.nextLink"`
}

// list reads every entity of a query, following odata.nextLink.
func (c *Client) list(ctx context.Context, entity string, query url.Values) ([]map[string]any, error) {
	path := entity + "?" + encodeQuery(query)
	var all []map[string]any
	for path != "" {
		var p page
		if err := c.call(ctx, http.MethodGet, path, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		path = p.NextLink
	}
	return all, nil
}

// encodeQuery encodes OData options with %20 for spaces, which the
// Service Layer expects, instead of the "+" of url.Values.Encode.
func encodeQuery(query url.Values) string {
	return strings.ReplaceAll(query.Encode(), "+", "%20")
}

// quote returns s as an OData string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
