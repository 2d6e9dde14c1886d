package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/validation"
)

// Config is the erp.rest section: where the ERP is, how to authenticate,
// which endpoint serves each operation and how ordo's fields map to the
// ERP's JSON.
type Config struct {
	// BaseURL is prefixed to every endpoint path, e.g.
	// http://erp.example.com/api.
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one HTTP attempt; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConns sizes the connection pool; default the worker's activity
	// concurrency.
	MaxConns int `yaml:"max_conns"`
	// Retries is the number of extra attempts of an idempotent request
	// after a transport error, a 5xx or a 429; default 2, -1 for none.
	Retries     int                 `yaml:"retries"`
	Auth        Auth                `yaml:"auth"`
	Idempotency Idempotency         `yaml:"idempotency"`
	Endpoints   map[string]Endpoint `yaml:"endpoints"`
	Mapping     map[string]Mapping  `yaml:"mapping"`
}

// Auth selects how requests authenticate.
type Auth struct {
	// Kind selects the scheme: none, bearer, basic or hmac.
	Kind string `yaml:"kind"`
	// Token is the bearer token.
	Token config.Credential `yaml:"token"`
	// Username and Password are the basic credentials.
	Username string            `yaml:"username"`
	Password config.Credential `yaml:"password"`
	// Secret keys the HMAC-SHA256 signature, sent in Header (default
	// X-Signature) over the timestamp in TimestampHeader (default
	// X-Timestamp, Unix seconds), the method, the request URI and the body.
	Secret          config.Credential `yaml:"secret"`
	Header          string            `yaml:"header"`
	TimestampHeader string            `yaml:"timestamp_header"`
	// KeyID, when set, is sent in KeyIDHeader (default X-Key-Id).
	KeyID       string `yaml:"key_id"`
	KeyIDHeader string `yaml:"key_id_header"`
}

// Idempotency selects how a create is made safe to repeat.
type Idempotency struct {
	// Mode is lookup (find the document by ordo's number before creating
	// it) or header (send ordo's number in Header and let the ERP return
	// the document it created for that key).
	Mode   string `yaml:"mode"`
	Header string `yaml:"header"`
	// Verify looks a document up after the ERP acknowledged its creation,
	// so an ERP that acknowledges and then loses the request is caught
	// and the call retried. It needs the find_ endpoints.
	Verify bool `yaml:"verify"`
}

// Endpoint is one HTTP call of the ERP.
type Endpoint struct {
	Method string `yaml:"method"`
	// Path is appended to base_url. {field} is replaced by the
	// URL-escaped value of an ordo field of the document, e.g. {number}.
	Path string `yaml:"path"`
	// Success lists the HTTP statuses that mean success; default 200 and
	// 201, and 204 for cancel_ endpoints.
	Success []int `yaml:"success"`
}

// Mapping translates one document kind between ordo and the ERP.
type Mapping struct {
	// Request maps an ordo field (the JSON name in connectors, e.g.
	// contract_no) to a JSON path in the request body, e.g. header.contract.
	// Without it the body is ordo's own JSON of the document.
	Request map[string]string `yaml:"request"`
	// Lines maps the document's lines, for kinds that have them.
	Lines *LineMapping `yaml:"lines"`
	// Reply maps an ordo field to a JSON path in the reply: id, status and
	// number for documents, and status, completed, cancelled and
	// completed_at for production_status.
	Reply map[string]string `yaml:"reply"`
}

// LineMapping maps the lines array.
type LineMapping struct {
	// Path is the JSON path of the array in the request body.
	Path string `yaml:"path"`
	// Fields maps an ordo line field to a JSON path inside one line;
	// without it each line is ordo's own JSON.
	Fields map[string]string `yaml:"fields"`
}

// Document kinds the connector writes, with the ordo type of each.
var kindTypes = map[connectors.DocumentKind]reflect.Type{
	connectors.KindCustomer:        reflect.TypeFor[connectors.Customer](),
	connectors.KindSalesOrder:      reflect.TypeFor[connectors.SalesOrder](),
	connectors.KindProductionOrder: reflect.TypeFor[connectors.ProductionOrder](),
	connectors.KindDelivery:        reflect.TypeFor[connectors.Delivery](),
	connectors.KindReceivable:      reflect.TypeFor[connectors.Receivable](),
	connectors.KindWriteOff:        reflect.TypeFor[connectors.WriteOff](),
	connectors.KindPriceList:       reflect.TypeFor[connectors.PriceChange](),
}

// mappingProductionStatus is the mapping key of the production status
// reply.
const mappingProductionStatus = "production_status"

var (
	documentReplyFields = []string{"id", "number", "status"}
	statusReplyFields   = []string{"cancelled", "completed", "completed_at", "status"}
	lineFields          = jsonFields(reflect.TypeFor[connectors.OrderLine]())
	placeholderPattern  = regexp.MustCompile(`\{([^{}]*)\}`)
	jsonPathPattern     = regexp.MustCompile(`^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$`)
)

// endpointNames returns the names of every endpoint the connector calls, sorted.
func endpointNames() []string {
	names := []string{"production_status", "update_customer"}
	for kind := range kindTypes {
		for _, verb := range []string{"create", "find", "cancel"} {
			names = append(names, verb+"_"+string(kind))
		}
	}
	sort.Strings(names)
	return names
}

// requiredEndpoints are the endpoints the contract-to-cash chain cannot do
// without; price lists and cancellation are optional.
func requiredEndpoints(idem Idempotency) []string {
	required := []string{"production_status"}
	for _, kind := range chainKinds {
		required = append(required, "create_"+string(kind))
		if idem.Mode == ModeLookup || idem.Verify {
			required = append(required, "find_"+string(kind))
		}
	}
	return required
}

// chainKinds are the kinds of the contract-to-cash chain.
var chainKinds = []connectors.DocumentKind{
	connectors.KindCustomer, connectors.KindSalesOrder, connectors.KindProductionOrder,
	connectors.KindDelivery, connectors.KindReceivable, connectors.KindWriteOff,
}

// Idempotency modes.
const (
	ModeLookup = "lookup"
	ModeHeader = "header"
)

// DecodeSection decodes the erp.rest section strictly and checks it. Every
// problem's path starts with prefix, e.g. erp.rest.endpoints.create_sales_order.path.
func DecodeSection(section config.Section, prefix string) (Config, validation.Problems) {
	var cfg Config
	if section.IsZero() {
		return cfg, validation.Problems{{Path: prefix, Reason: "is required with the erp/rest connector: set base_url, auth, endpoints and mapping (see deploy/erp-rest.example.yaml)"}}
	}
	data, err := yaml.Marshal(section.Node)
	if err != nil {
		return cfg, validation.Problems{{Path: prefix, Reason: "cannot be read: " + err.Error()}}
	}
	if problems := validation.DecodeYAML(data, &cfg); problems != nil {
		for i := range problems {
			problems[i].Path = validation.Key(prefix, problems[i].Path)
		}
		return cfg, problems
	}
	cfg.applyDefaults()
	return cfg, cfg.Validate(prefix)
}

func (c *Config) applyDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	switch {
	case c.Retries == 0:
		c.Retries = 2
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Auth.Kind == "" {
		c.Auth.Kind = "none"
	}
	if c.Auth.Header == "" {
		c.Auth.Header = "X-Signature"
	}
	if c.Auth.TimestampHeader == "" {
		c.Auth.TimestampHeader = "X-Timestamp"
	}
	if c.Auth.KeyIDHeader == "" {
		c.Auth.KeyIDHeader = "X-Key-Id"
	}
	if c.Idempotency.Mode == "" {
		c.Idempotency.Mode = ModeLookup
	}
	if c.Idempotency.Header == "" {
		c.Idempotency.Header = "Idempotency-Key"
	}
	for name, e := range c.Endpoints {
		if e.Method == "" {
			e.Method = http.MethodGet
			if strings.HasPrefix(name, "create_") {
				e.Method = http.MethodPost
			}
			if strings.HasPrefix(name, "cancel_") {
				e.Method = http.MethodDelete
			}
			if name == "update_customer" {
				e.Method = http.MethodPut
			}
		}
		e.Method = strings.ToUpper(e.Method)
		if len(e.Success) == 0 {
			e.Success = []int{http.StatusOK, http.StatusCreated}
			if strings.HasPrefix(name, "cancel_") {
				e.Success = append(e.Success, http.StatusNoContent)
			}
		}
		c.Endpoints[name] = e
	}
}

// Validate checks values the YAML types cannot: the URL, the auth kind,
// endpoint names, methods, path placeholders and mapped field names.
func (c *Config) Validate(prefix string) validation.Problems {
	var problems validation.Problems
	add := func(key, format string, args ...any) { problems.Add(validation.Key(prefix, key), format, args...) }

	if parsed, err := url.Parse(c.BaseURL); c.BaseURL == "" || err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		add("base_url", "%q is not an http(s) URL such as https://erp.example.com/api", c.BaseURL)
	}
	if c.MaxConns < 0 {
		add("max_conns", "%d is negative", c.MaxConns)
	}
	c.validateAuth(add)
	switch c.Idempotency.Mode {
	case ModeLookup, ModeHeader:
	default:
		add("idempotency.mode", "%q is not lookup or header", c.Idempotency.Mode)
	}

	known := endpointNames()
	for _, name := range sortedKeys(c.Endpoints) {
		if !contains(known, name) {
			add("endpoints."+name, "unknown endpoint; the endpoints are %s", strings.Join(known, ", "))
			continue
		}
		c.validateEndpoint(add, name, c.Endpoints[name])
	}
	for _, name := range requiredEndpoints(c.Idempotency) {
		if _, ok := c.Endpoints[name]; !ok {
			add("endpoints."+name, "is required but missing")
		}
	}
	for _, name := range sortedKeys(c.Mapping) {
		c.validateMapping(add, name, c.Mapping[name])
	}
	return problems
}

func (c *Config) validateAuth(add func(key, format string, args ...any)) {
	a := c.Auth
	switch a.Kind {
	case "none":
	case "bearer":
		if a.Token == (config.Credential{}) {
			add("auth.token", "is required with auth kind bearer: set env or file")
		}
	case "basic":
		if a.Username == "" {
			add("auth.username", "is required with auth kind basic")
		}
		if a.Password == (config.Credential{}) {
			add("auth.password", "is required with auth kind basic: set env or file")
		}
	case "hmac":
		if a.Secret == (config.Credential{}) {
			add("auth.secret", "is required with auth kind hmac: set env or file")
		}
	default:
		add("auth.kind", "%q is not none, bearer, basic or hmac", a.Kind)
	}
}

func (c *Config) validateEndpoint(add func(key, format string, args ...any), name string, e Endpoint) {
	key := "endpoints." + name
	switch e.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		add(key+".method", "%q is not GET, POST, PUT, PATCH or DELETE", e.Method)
	}
	if !strings.HasPrefix(e.Path, "/") {
		add(key+".path", "%q must start with /", e.Path)
	}
	allowed := []string{"number"}
	if kind, ok := strings.CutPrefix(name, "create_"); ok {
		allowed = jsonFields(kindTypes[connectors.DocumentKind(kind)])
	}
	if name == "update_customer" {
		allowed = jsonFields(kindTypes[connectors.KindCustomer])
	}
	for _, match := range placeholderPattern.FindAllStringSubmatch(e.Path, -1) {
		if !contains(allowed, match[1]) {
			add(key+".path", "placeholder {%s} is not a field here; use one of {%s}", match[1], strings.Join(allowed, "}, {"))
		}
	}
	for i, status := range e.Success {
		if status < 200 || status > 299 {
			add(validation.Index(key+".success", i), "%d is not a 2xx status", status)
		}
	}
}

func (c *Config) validateMapping(add func(key, format string, args ...any), name string, m Mapping) {
	key := "mapping." + name
	if name == mappingProductionStatus {
		if len(m.Request) > 0 || m.Lines != nil {
			add(key, "production_status maps only its reply")
		}
		checkFields(add, key+".reply", m.Reply, statusReplyFields)
		return
	}
	t, ok := kindTypes[connectors.DocumentKind(name)]
	if !ok {
		known := []string{mappingProductionStatus}
		for kind := range kindTypes {
			known = append(known, string(kind))
		}
		sort.Strings(known)
		add(key, "unknown document kind; the kinds are %s", strings.Join(known, ", "))
		return
	}
	fields := jsonFields(t)
	checkFields(add, key+".request", m.Request, without(fields, "lines"))
	checkFields(add, key+".reply", m.Reply, documentReplyFields)
	if m.Lines != nil {
		if !contains(fields, "lines") {
			add(key+".lines", "%s has no lines", name)
		} else {
			if !jsonPathPattern.MatchString(m.Lines.Path) {
				add(key+".lines.path", "%q is not a JSON path such as items or order.lines", m.Lines.Path)
			}
			checkFields(add, key+".lines.fields", m.Lines.Fields, lineFields)
		}
	}
}

func checkFields(add func(key, format string, args ...any), key string, mapping map[string]string, allowed []string) {
	for _, field := range sortedKeys(mapping) {
		if !contains(allowed, field) {
			add(key+"."+field, "unknown ordo field; the fields here are %s", strings.Join(allowed, ", "))
			continue
		}
		if !jsonPathPattern.MatchString(mapping[field]) {
			add(key+"."+field, "%q is not a JSON path such as customer.code", mapping[field])
		}
	}
}

// jsonFields returns the JSON names of a struct's fields, sorted.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}

func without(list []string, s string) []string {
	var out []string
	for _, item := range list {
		if item != s {
			out = append(out, item)
		}
	}
	return out
}

// describe names a document for messages.
func describe(kind connectors.DocumentKind, number string) string {
	return fmt.Sprintf("%s %s", strings.ReplaceAll(string(kind), "_", " "), number)
}
