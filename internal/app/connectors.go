package app

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	bankconnector "github.com/ordo-project/ordo/connectors/bank"
	einvoiceconnector "github.com/ordo-project/ordo/connectors/einvoice"
	kingdeeconnector "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/connectors/registry"
	restconnector "github.com/ordo-project/ordo/connectors/rest"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/validation"
	pluginhost "github.com/ordo-project/ordo/plugins/host"
)

// The built-in connectors. A new connector is one more line here with
// its constructor; the registry wraps it with the metrics decorator.
func init() {
	registry.Register(registry.Connector{ID: "erp/kingdee", Aliases: []string{"kingdee"}, New: newKingdeeERP})
	registry.Register(registry.Connector{ID: "erp/rest", New: newRESTERP, Validate: validateRESTERP})
	registry.Register(registry.Connector{ID: "erp/plugin", New: newPluginERP, Validate: validatePluginERP})
	registry.Register(registry.Connector{ID: "einvoice/platform", Aliases: []string{"einvoice"}, New: newEInvoice})
	registry.Register(registry.Connector{ID: "bank/statement", Aliases: []string{"bank"}, New: newBank})
}

// restSection is the configuration key of the erp/rest connector.
const restSection = "erp.rest"

func newKingdeeERP(env registry.Env) (any, error) {
	cfg := env.Config.ERP
	password, err := cfg.Password.Resolve()
	if err != nil {
		return nil, fmt.Errorf("erp.password: %w", err)
	}
	appSecret, err := cfg.AppSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("erp.app_secret: %w", err)
	}
	return kingdeeconnector.New(kingdeeconnector.Config{
		BaseURL: cfg.BaseURL, AccountID: cfg.AcctID, OrgNumber: cfg.OrgNumber, Username: cfg.User, Password: password,
		AppID: cfg.AppID, AppSecret: appSecret, Timeout: cfg.Timeout, MaxConns: maxConns(cfg.MaxConns, env), Logger: env.Logger,
	})
}

func validateRESTERP(env registry.Env) validation.Problems {
	_, problems := restconnector.DecodeSection(env.Config.ERP.Rest, restSection)
	return problems
}

func newRESTERP(env registry.Env) (any, error) {
	cfg, problems := restconnector.DecodeSection(env.Config.ERP.Rest, restSection)
	if err := problems.Err("configuration"); err != nil {
		return nil, err
	}
	creds, err := restconnector.ResolveCredentials(cfg.Auth, restSection)
	if err != nil {
		return nil, err
	}
	return restconnector.New(cfg, creds, restconnector.Options{MaxConns: env.Concurrency, Logger: env.Logger})
}

func validatePluginERP(env registry.Env) validation.Problems {
	var problems validation.Problems
	if _, found := env.Config.PluginByName(env.Argument); !found {
		problems.Add("erp.connector", "plugin %q is not configured under plugins: use plugin:NAME with a NAME from plugins", env.Argument)
	}
	return problems
}

func newPluginERP(env registry.Env) (any, error) {
	plugin, found := env.Config.PluginByName(env.Argument)
	if !found {
		return nil, fmt.Errorf("erp.connector: plugin %q is not configured under plugins", env.Argument)
	}
	// A changed or missing executable fails start-up here, not the first
	// contract that calls the ERP.
	if err := pluginhost.VerifyChecksum(plugin); err != nil {
		return nil, err
	}
	return pluginhost.NewERP(plugin, env.Logger), nil
}

func newEInvoice(env registry.Env) (any, error) {
	cfg := env.Config.EInvoice
	secret, err := cfg.AppSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("einvoice.app_secret: %w", err)
	}
	return einvoiceconnector.New(einvoiceconnector.Config{
		BaseURL: cfg.BaseURL, AppKey: cfg.AppKey, AppSecret: secret,
		Timeout: cfg.Timeout, MaxConns: maxConns(cfg.MaxConns, env), Logger: env.Logger,
	})
}

func newBank(env registry.Env) (any, error) {
	cfg := env.Config.Bank
	secret, err := cfg.ClientSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("bank.client_secret: %w", err)
	}
	return bankconnector.New(bankconnector.Config{
		BaseURL: cfg.BaseURL, ClientID: cfg.ClientID, ClientSecret: secret,
		AccountNo: cfg.AccountNo, Timeout: cfg.Timeout, MaxConns: maxConns(cfg.MaxConns, env), Logger: env.Logger,
	})
}

// maxConns is a connector's pool size: its own max_conns, or the worker's
// activity concurrency.
func maxConns(configured int, env registry.Env) int {
	if configured > 0 {
		return configured
	}
	return env.Concurrency
}

// connectorSet is the set of connectors the activities call.
type connectorSet struct {
	erp      erpConnector
	einvoice connectors.EInvoice
	bank     connectors.Bank
	notify   notifySet
	// tasks are the task activities; Run builds them so the outbox of
	// paced channels shares them.
	tasks *activities.TaskActivities
	// linkSecret signs the task-page links of notifications; empty keeps
	// the API links.
	linkSecret []byte
}

// erpConnector is the ERP of the contract-to-cash chain and price lists.
type erpConnector interface {
	connectors.ERP
	connectors.PriceLists
}

// buildConnectors builds the connector of each capability the
// configuration selects, each wrapped with the metrics decorator, and the
// notification channels.
func buildConnectors(cfg *config.Config, logger *logrus.Logger) (*connectorSet, error) {
	built, err := registry.Build(cfg, logger, registry.ERP)
	if err != nil {
		return nil, err
	}
	erp, ok := built.(erpConnector)
	if !ok {
		return nil, fmt.Errorf("erp.connector: %s does not implement the ERP capability", cfg.ERP.Connector)
	}
	built, err = registry.Build(cfg, logger, registry.EInvoice)
	if err != nil {
		return nil, err
	}
	invoice, ok := built.(connectors.EInvoice)
	if !ok {
		return nil, fmt.Errorf("einvoice.connector: %s does not implement the e-invoice capability", cfg.EInvoice.Connector)
	}
	built, err = registry.Build(cfg, logger, registry.Bank)
	if err != nil {
		return nil, err
	}
	bank, ok := built.(connectors.Bank)
	if !ok {
		return nil, fmt.Errorf("bank.connector: %s does not implement the bank capability", cfg.Bank.Connector)
	}
	notifications, err := buildNotify(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &connectorSet{erp: erp, einvoice: invoice, bank: bank, notify: notifications}, nil
}
