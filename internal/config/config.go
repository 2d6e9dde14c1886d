// Package config loads ordo's configuration: a YAML file whose every key
// has a default, so `ordo dev` runs with no file at all. Unknown keys, wrong
// types and impossible values are rejected with the key's path.
package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/internal/validation"
)

// Config is the whole configuration of an ordo process.
type Config struct {
	// Currency is the ISO 4217 code of amounts in imported CRM data.
	Currency string `yaml:"currency"`
	// TaskQueue is the Temporal task queue ordo's worker polls.
	TaskQueue string     `yaml:"task_queue"`
	Temporal  Temporal   `yaml:"temporal"`
	Database  Database   `yaml:"database"`
	API       API        `yaml:"api"`
	Tax       Tax        `yaml:"tax"`
	Invoice   Invoice    `yaml:"invoice"`
	Payment   Payment    `yaml:"payment"`
	Chain     Chain      `yaml:"chain"`
	Worker    Worker     `yaml:"worker"`
	ERP       ERP        `yaml:"erp"`
	EInvoice  EInvoice   `yaml:"einvoice"`
	Bank      Bank       `yaml:"bank"`
	Sim       Simulators `yaml:"simulators"`
	Notify    Notify     `yaml:"notify"`
	Log       Log        `yaml:"log"`
	Metrics   Metrics    `yaml:"metrics"`
	// Plugins are out-of-process connectors; erp.connector "plugin:NAME"
	// selects one as the ERP.
	Plugins []Plugin `yaml:"plugins"`
}

// Temporal selects the Temporal cluster. `ordo dev` starts its own.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	// SearchAttributes sets OrdoState and related attributes on workflows,
	// which needs them registered on the namespace; ordo dev registers
	// them, an existing cluster needs `ordo temporal setup` once.
	SearchAttributes bool `yaml:"search_attributes"`
}

// Database selects ordo's own database.
type Database struct {
	// Driver is "sqlite" or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string, or the SQLite file path.
	// Empty with sqlite means ordo.db in the data dir.
	DSN string `yaml:"dsn"`
	// MaxConns bounds the connection pool.
	MaxConns int `yaml:"max_conns"`
}

// API configures ordo's HTTP API.
type API struct {
	Address string `yaml:"address"`
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every call except signed webhooks and health checks. Prefer
	// TokenFile or ORDO_API_TOKEN over writing it here.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// AdminToken is accepted wherever Token is and lets its bearer act for
	// anyone, such as completing another person's task. Prefer
	// AdminTokenFile or ORDO_ADMIN_TOKEN over writing it here.
	AdminToken     string `yaml:"admin_token"`
	AdminTokenFile string `yaml:"admin_token_file"`
	// WebhookSecret verifies HMAC signatures on inbound events. Prefer
	// WebhookSecretFile or ORDO_WEBHOOK_SECRET.
	WebhookSecret     string `yaml:"webhook_secret"`
	WebhookSecretFile string `yaml:"webhook_secret_file"`
	// WebhookTolerance is how far a signed timestamp may be from now.
	WebhookTolerance time.Duration `yaml:"webhook_tolerance"`
	// PublicURL is how people reach the API, used in links.
	PublicURL string `yaml:"public_url"`
	// LinkSecret signs the links of task pages (/t/ID?sig=...) that
	// notifications carry. Without it, notifications link to the API's
	// JSON view of the task, which needs the API token. Prefer
	// LinkSecretFile or ORDO_LINK_SECRET.
	LinkSecret     string `yaml:"link_secret"`
	LinkSecretFile string `yaml:"link_secret_file"`
}

// TaxRate is a VAT rate in force from a date until the next entry of the
// same category starts.
type TaxRate struct {
	Category string          `yaml:"category"`
	Rate     decimal.Decimal `yaml:"rate"`
	From     Date            `yaml:"from"`
}

// ProductTax maps a product to its tax classification code (税收分类编码)
// and rate category.
type ProductTax struct {
	Code     string `yaml:"code"`
	Category string `yaml:"category"`
	// InvoiceName is the goods name printed on the invoice.
	InvoiceName string `yaml:"invoice_name"`
	Unit        string `yaml:"unit"`
}

// Tax holds dated VAT rates and per-product classification.
type Tax struct {
	Rates []TaxRate `yaml:"rates"`
	// Products maps CRM product names to tax data; "default" applies to
	// products without an entry.
	Products map[string]ProductTax `yaml:"products"`
}

// Invoice configures issued invoices.
type Invoice struct {
	// Kind is "81" (special) or "82" (ordinary).
	Kind        string `yaml:"kind"`
	SellerName  string `yaml:"seller_name"`
	SellerTaxID string `yaml:"seller_tax_id"`
	// ExchangeRates convert contracts in other currencies into CNY, the
	// currency of every VAT invoice. Each rate applies from its date until
	// the next entry of the same currency.
	ExchangeRates []ExchangeRate `yaml:"exchange_rates"`
}

// ExchangeRate is the CNY price of one unit of Currency from a date on.
type ExchangeRate struct {
	Currency string          `yaml:"currency"`
	Rate     decimal.Decimal `yaml:"rate"`
	From     Date            `yaml:"from"`
}

// RateFor returns the CNY price of one unit of currency on day; CNY itself
// is 1.
func (inv Invoice) RateFor(currency string, day time.Time) (decimal.Decimal, error) {
	if currency == "CNY" {
		return decimal.NewFromInt(1), nil
	}
	var best *ExchangeRate
	for i := range inv.ExchangeRates {
		r := &inv.ExchangeRates[i]
		if r.Currency != currency || r.From.After(day) {
			continue
		}
		if best == nil || r.From.After(best.From.Time) {
			best = r
		}
	}
	if best == nil {
		return decimal.Zero, fmt.Errorf("no %s exchange rate in force on %s: add one under invoice.exchange_rates", currency, day.Format(time.DateOnly))
	}
	return best.Rate, nil
}

// Instalment is one entry of the default payment plan.
type Instalment struct {
	Label string `yaml:"label"`
	// Trigger is "signing" or "delivery": when the instalment falls due.
	Trigger string          `yaml:"trigger"`
	Ratio   decimal.Decimal `yaml:"ratio"`
}

// Payment configures payment plans and receipt matching.
type Payment struct {
	Plan []Instalment `yaml:"plan"`
	// PollInterval is how often the bank statement is read.
	PollInterval time.Duration `yaml:"poll_interval"`
	// PageSize is the number of statement lines read per call.
	PageSize int `yaml:"page_size"`
}

// Chain tunes the contract-to-cash workflow.
type Chain struct {
	// ProductionPollInitial and ProductionPollMax bound the backoff between
	// checks of a production order's status, used when no callback arrives.
	ProductionPollInitial time.Duration `yaml:"production_poll_initial"`
	ProductionPollMax     time.Duration `yaml:"production_poll_max"`
	InvoicePollInitial    time.Duration `yaml:"invoice_poll_initial"`
	InvoicePollMax        time.Duration `yaml:"invoice_poll_max"`
	// ActivityTimeout bounds one attempt of a call to an outside system.
	ActivityTimeout time.Duration `yaml:"activity_timeout"`
	// RetryMaxAttempts bounds retries of a retryable failure before the
	// chain parks for a person.
	RetryMaxAttempts int           `yaml:"retry_max_attempts"`
	RetryMaxInterval time.Duration `yaml:"retry_max_interval"`
	// LocalActivities runs calls to outside systems as local activities:
	// fewer round trips through Temporal, so more chains per second, at
	// the cost of pending retries being visible in the Web UI only as a
	// slow workflow task. False runs them as regular activities.
	LocalActivities bool `yaml:"local_activities"`
}

// Worker sizes the Temporal worker.
type Worker struct {
	MaxConcurrentActivities    int `yaml:"max_concurrent_activities"`
	MaxConcurrentWorkflowTasks int `yaml:"max_concurrent_workflow_tasks"`
	ActivityPollers            int `yaml:"activity_pollers"`
	WorkflowPollers            int `yaml:"workflow_pollers"`
	MaxCachedWorkflows         int `yaml:"max_cached_workflows"`
}

// Credential is a secret given directly, by environment variable or by
// file. Env and File are preferred, so secrets stay out of the YAML.
type Credential struct {
	Value string `yaml:"value"`
	Env   string `yaml:"env"`
	File  string `yaml:"file"`
}

// ERP selects and configures the ERP connector.
type ERP struct {
	// Connector is a registered connector id: erp/kingdee, erp/rest or
	// plugin:NAME. The short forms kingdee and rest are accepted too.
	Connector string `yaml:"connector"`
	BaseURL   string `yaml:"base_url"`
	AcctID    string `yaml:"acct_id"`
	// OrgNumber is the organisation (FNumber) that sells, produces, ships
	// and settles.
	OrgNumber string        `yaml:"org_number"`
	User      string        `yaml:"user"`
	Password  Credential    `yaml:"password"`
	AppID     string        `yaml:"app_id"`
	AppSecret Credential    `yaml:"app_secret"`
	Timeout   time.Duration `yaml:"timeout"`
	MaxConns  int           `yaml:"max_conns"`
	// SyncInterval is how often the SyncERP schedule pulls changed
	// customers and document states. 0 means 5 minutes, and a negative
	// value creates no schedule.
	SyncInterval time.Duration `yaml:"sync_interval"`
	// SyncPageSize is the number of records per ExecuteBillQuery page of
	// the sync, at most 2,000. 0 means 2,000.
	SyncPageSize int `yaml:"sync_page_size"`
	// Rest configures the erp/rest connector: endpoints, authentication
	// and field mapping. See connectors/rest.
	Rest Section `yaml:"rest"`
}

// EInvoice configures the e-invoice service connector.
type EInvoice struct {
	// Connector is a registered connector id; einvoice/platform is the
	// built-in one.
	Connector string        `yaml:"connector"`
	BaseURL   string        `yaml:"base_url"`
	AppKey    string        `yaml:"app_key"`
	AppSecret Credential    `yaml:"app_secret"`
	Timeout   time.Duration `yaml:"timeout"`
	MaxConns  int           `yaml:"max_conns"`
}

// Bank configures the bank statement connector.
type Bank struct {
	// Connector is a registered connector id; bank/statement is the
	// built-in one.
	Connector    string        `yaml:"connector"`
	BaseURL      string        `yaml:"base_url"`
	AccountNo    string        `yaml:"account_no"`
	ClientID     string        `yaml:"client_id"`
	ClientSecret Credential    `yaml:"client_secret"`
	Timeout      time.Duration `yaml:"timeout"`
	MaxConns     int           `yaml:"max_conns"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// UnmarshalYAML replaces the whole credential, so a file that gives env
// or file for a secret whose default has a value does not keep that
// value, which Resolve would prefer.
func (c *Credential) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.MappingNode {
		for i := 0; i < len(node.Content); i += 2 {
			switch key := node.Content[i]; key.Value {
			case "value", "env", "file":
			default:
				return fmt.Errorf("line %d: unknown credential key %q: use value, env or file", key.Line, key.Value)
			}
		}
	}
	type plain Credential
	var decoded plain
	if err := node.Decode(&decoded); err != nil {
		return err
	}
	*c = Credential(decoded)
	return nil
}

// Date is a calendar day written as YYYY-MM-DD in YAML.
type Date struct {
	time.Time
}

// UnmarshalYAML reads YYYY-MM-DD.
func (d *Date) UnmarshalYAML(node *yaml.Node) error {
	parsed, err := time.Parse(time.DateOnly, node.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid date %q: use YYYY-MM-DD", node.Line, node.Value)
	}
	d.Time = parsed
	return nil
}

// MarshalYAML writes YYYY-MM-DD.
func (d Date) MarshalYAML() (any, error) {
	return d.Format(time.DateOnly), nil
}

// Load reads the YAML file at path over the defaults. An empty path
// returns the defaults. Environment overrides are applied after the file.
func Load(path string) (*Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
		if problems := validation.DecodeYAML(data, cfg); problems != nil {
			return nil, fmt.Errorf("config %s: %w", path, problems.Err("configuration"))
		}
	}
	applyEnv(cfg)
	cfg.alignDerivedAddresses()
	if err := cfg.Validate(); err != nil {
		if path == "" {
			return nil, err
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

func applyEnv(cfg *Config) {
	if v := os.Getenv("ORDO_TEMPORAL_ADDRESS"); v != "" {
		cfg.Temporal.Address = v
	}
	if v := os.Getenv("ORDO_DATABASE_DSN"); v != "" {
		cfg.Database.DSN = v
	}
	if v := os.Getenv("ORDO_DATABASE_DRIVER"); v != "" {
		cfg.Database.Driver = v
	}
	if v := os.Getenv("ORDO_API_TOKEN"); v != "" {
		cfg.API.Token = v
	}
	if v := os.Getenv("ORDO_ADMIN_TOKEN"); v != "" {
		cfg.API.AdminToken = v
	}
	if v := os.Getenv("ORDO_WEBHOOK_SECRET"); v != "" {
		cfg.API.WebhookSecret = v
	}
	if v := os.Getenv("ORDO_LINK_SECRET"); v != "" {
		cfg.API.LinkSecret = v
	}
}

// Resolve returns the secret from Value, the environment variable Env or
// the file File, in that order. Trailing newlines of files are removed.
func (c Credential) Resolve() (string, error) {
	switch {
	case c.Value != "":
		return c.Value, nil
	case c.Env != "":
		v, ok := os.LookupEnv(c.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", c.Env)
		}
		return v, nil
	case c.File != "":
		data, err := os.ReadFile(c.File)
		if err != nil {
			return "", fmt.Errorf("read secret file %s: %w", c.File, err)
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	return "", nil
}

// ValidationError lists every invalid key of a configuration.
type ValidationError = validation.Error

// ReconciliationTaskQueue is the task queue of the bank reconciliation.
func (c *Config) ReconciliationTaskQueue() string {
	return c.TaskQueue + "-reconciliation"
}

// Validate checks values that YAML types cannot: ranges, known names and
// ratios that must add up.
func (c *Config) Validate() error {
	var problems validation.Problems
	add := func(key, format string, args ...any) {
		problems.Add(key, format, args...)
	}

	if len(c.Currency) != 3 || strings.ToUpper(c.Currency) != c.Currency {
		add("currency", "%q is not an ISO 4217 code such as CNY or USD", c.Currency)
	}
	if c.TaskQueue == "" {
		add("task_queue", "must not be empty")
	}
	switch c.Database.Driver {
	case "sqlite", "postgres":
	default:
		add("database.driver", "%q is not supported: use sqlite or postgres", c.Database.Driver)
	}
	if c.Database.Driver == "postgres" && c.Database.DSN == "" {
		add("database.dsn", "is required with the postgres driver")
	}

	categories := map[string]bool{}
	for i, r := range c.Tax.Rates {
		key := fmt.Sprintf("tax.rates[%d]", i)
		if r.Category == "" {
			add(key+".category", "must not be empty")
		}
		if r.Rate.IsNegative() || r.Rate.GreaterThanOrEqual(decimal.NewFromInt(1)) {
			add(key+".rate", "%s is not a rate between 0 and 1 (13%% is 0.13)", r.Rate)
		}
		if r.From.IsZero() {
			add(key+".from", "must be a date YYYY-MM-DD")
		}
		categories[r.Category] = true
	}
	if _, ok := c.Tax.Products["default"]; !ok {
		add("tax.products.default", "is required for products without their own entry")
	}
	for _, name := range sortedKeys(c.Tax.Products) {
		p := c.Tax.Products[name]
		key := "tax.products." + name
		if !isDigits(p.Code) || len(p.Code) != 19 {
			add(key+".code", "%q is not a 19-digit tax classification code", p.Code)
		}
		if !categories[p.Category] {
			add(key+".category", "%q has no entry in tax.rates", p.Category)
		}
		if p.InvoiceName == "" {
			add(key+".invoice_name", "must not be empty")
		}
	}
	if c.Invoice.Kind != "81" && c.Invoice.Kind != "82" {
		add("invoice.kind", "%q is not 81 (special) or 82 (ordinary)", c.Invoice.Kind)
	}
	for i, r := range c.Invoice.ExchangeRates {
		key := fmt.Sprintf("invoice.exchange_rates[%d]", i)
		if len(r.Currency) != 3 || strings.ToUpper(r.Currency) != r.Currency {
			add(key+".currency", "%q is not an ISO 4217 code such as USD", r.Currency)
		}
		if !r.Rate.IsPositive() {
			add(key+".rate", "%s must be above 0 (CNY per unit of the currency)", r.Rate)
		}
		if r.From.IsZero() {
			add(key+".from", "must be a date YYYY-MM-DD")
		}
	}

	if len(c.Payment.Plan) == 0 {
		add("payment.plan", "needs at least one instalment")
	}
	sum := decimal.Zero
	for i, inst := range c.Payment.Plan {
		key := fmt.Sprintf("payment.plan[%d]", i)
		if inst.Label == "" {
			add(key+".label", "must not be empty")
		}
		if inst.Trigger != "signing" && inst.Trigger != "delivery" {
			add(key+".trigger", "%q is not signing or delivery", inst.Trigger)
		}
		if !inst.Ratio.IsPositive() {
			add(key+".ratio", "%s must be above 0", inst.Ratio)
		}
		sum = sum.Add(inst.Ratio)
	}
	if len(c.Payment.Plan) > 0 && !sum.Equal(decimal.NewFromInt(1)) {
		add("payment.plan", "ratios add up to %s, expected 1", sum)
	}
	if c.Payment.PollInterval <= 0 {
		add("payment.poll_interval", "must be a positive duration such as 2s")
	}
	if c.Payment.PageSize <= 0 || c.Payment.PageSize > 2000 {
		add("payment.page_size", "%d is not between 1 and 2000", c.Payment.PageSize)
	}

	positive := map[string]time.Duration{
		"chain.production_poll_initial": c.Chain.ProductionPollInitial,
		"chain.production_poll_max":     c.Chain.ProductionPollMax,
		"chain.invoice_poll_initial":    c.Chain.InvoicePollInitial,
		"chain.invoice_poll_max":        c.Chain.InvoicePollMax,
		"chain.activity_timeout":        c.Chain.ActivityTimeout,
		"chain.retry_max_interval":      c.Chain.RetryMaxInterval,
		"api.webhook_tolerance":         c.API.WebhookTolerance,
	}
	for _, key := range sortedKeys(positive) {
		if positive[key] <= 0 {
			add(key, "must be a positive duration such as 5s")
		}
	}
	if c.Chain.ProductionPollMax < c.Chain.ProductionPollInitial {
		add("chain.production_poll_max", "is shorter than chain.production_poll_initial")
	}
	if c.Chain.InvoicePollMax < c.Chain.InvoicePollInitial {
		add("chain.invoice_poll_max", "is shorter than chain.invoice_poll_initial")
	}
	if c.Chain.RetryMaxAttempts < 1 {
		add("chain.retry_max_attempts", "must be at least 1")
	}
	if c.ERP.Connector == "" {
		add("erp.connector", "must name an ERP connector, e.g. kingdee")
	}
	c.validateRanges(add)
	c.validateNotify(add)
	c.validatePlugins(add)
	c.validateSimSAPB1(add)

	return problems.Err("configuration")
}

// RateFor returns the VAT rate of category in force on day.
func (t Tax) RateFor(category string, day time.Time) (decimal.Decimal, error) {
	var best *TaxRate
	for i := range t.Rates {
		r := &t.Rates[i]
		if r.Category != category || r.From.After(day) {
			continue
		}
		if best == nil || r.From.After(best.From.Time) {
			best = r
		}
	}
	if best == nil {
		return decimal.Zero, fmt.Errorf("no VAT rate of category %q in force on %s: add one under tax.rates", category, day.Format(time.DateOnly))
	}
	return best.Rate, nil
}

// ProductTax returns the tax data of a product, falling back to "default".
func (t Tax) ProductTax(product string) ProductTax {
	if p, ok := t.Products[product]; ok {
		return p
	}
	return t.Products["default"]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// alignDerivedAddresses re-points the settings that follow an address
// when a configuration file moves that address but leaves them at their
// defaults: the API's public URL follows api.address, and the clients of
// the built-in simulators follow the simulators' addresses. Without this,
// a second ordo dev with moved ports would call the first one's
// simulators.
func (c *Config) alignDerivedAddresses() {
	d := Default()
	follow := func(derived *string, defaultDerived, address, defaultAddress, format string) {
		if *derived == defaultDerived && address != "" && address != defaultAddress {
			*derived = fmt.Sprintf(format, address)
		}
	}
	follow(&c.API.PublicURL, d.API.PublicURL, c.API.Address, d.API.Address, "http://%s")
	follow(&c.ERP.BaseURL, d.ERP.BaseURL, c.Sim.Kingdee.Address, d.Sim.Kingdee.Address, "http://%s/k3cloud/")
	follow(&c.EInvoice.BaseURL, d.EInvoice.BaseURL, c.Sim.EInvoice.Address, d.Sim.EInvoice.Address, "http://%s")
	follow(&c.Bank.BaseURL, d.Bank.BaseURL, c.Sim.Bank.Address, d.Sim.Bank.Address, "http://%s")
	follow(&c.Notify.SMTP.Address, d.Notify.SMTP.Address, c.Sim.SMTP.Address, d.Sim.SMTP.Address, "%s")
	follow(&c.Notify.WeCom.BaseURL, d.Notify.WeCom.BaseURL, c.Sim.WeCom.Address, d.Sim.WeCom.Address, "http://%s")
	follow(&c.Notify.DingTalk.BaseURL, d.Notify.DingTalk.BaseURL, c.Sim.DingTalk.Address, d.Sim.DingTalk.Address, "http://%s")
	follow(&c.Notify.Feishu.BaseURL, d.Notify.Feishu.BaseURL, c.Sim.Feishu.Address, d.Sim.Feishu.Address, "http://%s")
	follow(&c.Notify.SMS.BaseURL, d.Notify.SMS.BaseURL, c.Sim.SMS.Address, d.Sim.SMS.Address, "http://%s")
}
