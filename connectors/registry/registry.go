// Package registry is ordo's table of built-in connectors. Each connector
// has a namespaced id, capability/name (erp/kingdee, erp/rest, erp/plugin,
// einvoice/platform, bank/statement), registers a constructor once, and
// the configuration selects one connector per capability. Validate checks
// the selection and the selected connector's own section at start-up, and
// Build wraps what a constructor returns with the metrics decorator, so
// every connector call is counted and timed without code in the connector.
package registry

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/validation"
)

// Capability is the part of the contract-to-cash chain a connector serves.
// It is the first part of a connector id.
type Capability string

// Capabilities with one connector per site. Notification channels are all
// built at once and carry the ids notify/<channel>.
const (
	ERP      Capability = "erp"
	EInvoice Capability = "einvoice"
	Bank     Capability = "bank"
	Notify   Capability = "notify"
)

// Env is the input of a connector constructor.
type Env struct {
	Config *config.Config
	Logger *logrus.Logger
	// ID is the connector's id and Argument the text after the colon of
	// the configured value, e.g. the plugin name of plugin:sap.
	ID       string
	Argument string
	// Concurrency is the worker's activity concurrency. Connectors size
	// their connection pools with it unless their section sets max_conns.
	Concurrency int
}

// Connector describes one built-in connector.
type Connector struct {
	// ID is capability/name in lower case, e.g. erp/rest.
	ID string
	// Aliases are older configuration values that select the connector,
	// e.g. kingdee for erp/kingdee.
	Aliases []string
	// New builds the connector: a connectors.ERP for erp/*, a
	// connectors.EInvoice for einvoice/* and a connectors.Bank for bank/*.
	New func(env Env) (any, error)
	// Validate checks the connector's section of the configuration and
	// returns problems with full key paths. It may be nil.
	Validate func(env Env) validation.Problems
}

var (
	mu       sync.RWMutex
	builtins = map[string]Connector{}
	aliases  = map[string]string{}
	idSyntax = regexp.MustCompile(`^(erp|einvoice|bank|notify)/[a-z][a-z0-9_-]*$`)
)

// Register adds a connector. It panics on a malformed or repeated id or
// alias, because both are programming errors found by the first test run.
func Register(c Connector) {
	mu.Lock()
	defer mu.Unlock()
	if !idSyntax.MatchString(c.ID) {
		panic(fmt.Sprintf("registry: connector id %q is not capability/name", c.ID))
	}
	if c.New == nil {
		panic(fmt.Sprintf("registry: connector %s has no constructor", c.ID))
	}
	if _, dup := builtins[c.ID]; dup {
		panic(fmt.Sprintf("registry: connector %s is registered twice", c.ID))
	}
	capability := capabilityOf(c.ID)
	for _, alias := range c.Aliases {
		key := string(capability) + "/" + alias
		if _, dup := aliases[key]; dup {
			panic(fmt.Sprintf("registry: alias %s of %s is registered twice", alias, c.ID))
		}
		aliases[key] = c.ID
	}
	builtins[c.ID] = c
}

// IDs returns the registered ids of a capability, sorted.
func IDs(capability Capability) []string {
	mu.RLock()
	defer mu.RUnlock()
	var ids []string
	for id := range builtins {
		if capabilityOf(id) == capability {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Resolve maps a configured value to a registered connector: the full id
// (erp/rest), a short name or alias (rest, kingdee), either of them
// followed by :ARGUMENT (plugin:sap, erp/plugin:sap). It returns the
// connector and the argument.
func Resolve(capability Capability, value string) (Connector, string, error) {
	name, argument, _ := strings.Cut(strings.TrimSpace(value), ":")
	name = strings.TrimPrefix(name, string(capability)+"/")
	mu.RLock()
	defer mu.RUnlock()
	id := string(capability) + "/" + name
	if target, ok := aliases[id]; ok {
		id = target
	}
	c, ok := builtins[id]
	if !ok || name == "" {
		return Connector{}, "", fmt.Errorf("%q is not a known connector: use one of %s", value, strings.Join(idsLocked(capability), ", "))
	}
	return c, argument, nil
}

func idsLocked(capability Capability) []string {
	var ids []string
	for id := range builtins {
		if capabilityOf(id) == capability {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func capabilityOf(id string) Capability {
	capability, _, _ := strings.Cut(id, "/")
	return Capability(capability)
}

// selection is one capability's configured connector.
type selection struct {
	capability Capability
	key        string
	value      string
}

func selections(cfg *config.Config) []selection {
	return []selection{
		{ERP, "erp.connector", cfg.ERP.Connector},
		{EInvoice, "einvoice.connector", cfg.EInvoice.Connector},
		{Bank, "bank.connector", cfg.Bank.Connector},
	}
}

// Validate checks that every capability names a registered connector and
// that each selected connector's section is valid. Call it at start-up,
// before anything starts; the error names every bad key.
func Validate(cfg *config.Config, logger *logrus.Logger) error {
	var problems validation.Problems
	for _, s := range selections(cfg) {
		c, argument, err := Resolve(s.capability, s.value)
		if err != nil {
			problems.Add(s.key, "%s", err.Error())
			continue
		}
		if c.Validate != nil {
			problems = append(problems, c.Validate(envFor(cfg, logger, c, argument))...)
		}
	}
	return problems.Err("configuration")
}

func envFor(cfg *config.Config, logger *logrus.Logger, c Connector, argument string) Env {
	concurrency := cfg.Worker.MaxConcurrentActivities
	if concurrency <= 0 {
		concurrency = 16
	}
	return Env{Config: cfg, Logger: logger, ID: c.ID, Argument: argument, Concurrency: concurrency}
}

// Build builds the connector the configuration selects for capability and
// wraps it with the metrics decorator. The result implements the same
// capability interfaces as the connector, plus those of Instrument.
func Build(cfg *config.Config, logger *logrus.Logger, capability Capability) (any, error) {
	key := string(capability) + ".connector"
	var value string
	for _, s := range selections(cfg) {
		if s.capability == capability {
			value = s.value
		}
	}
	c, argument, err := Resolve(capability, value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	built, err := c.New(envFor(cfg, logger, c, argument))
	if err != nil {
		return nil, fmt.Errorf("%s connector: %w", c.ID, err)
	}
	return Instrument(c.ID, built), nil
}

// Reset removes every registration, for tests that register their own.
func Reset() func() {
	mu.Lock()
	savedBuiltins, savedAliases := builtins, aliases
	builtins, aliases = map[string]Connector{}, map[string]string{}
	mu.Unlock()
	return func() {
		mu.Lock()
		builtins, aliases = savedBuiltins, savedAliases
		mu.Unlock()
	}
}
