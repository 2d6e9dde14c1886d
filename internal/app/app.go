// Package app assembles ordo's processes from their parts: `ordo dev`
// (embedded Temporal server, simulators, worker and API in one process)
// and `ordo serve` (worker and API against an existing Temporal cluster).
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors/registry"
	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/chains"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/devserver"
	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/leads"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/renewals"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/tickets"
	"github.com/ordo-project/ordo/workflows"
)

// Options selects what one ordo process runs.
type Options struct {
	Config *config.Config
	// DataDir holds SQLite files and generated secrets.
	DataDir string
	// Dev starts the embedded Temporal server and the simulators.
	Dev bool
	// UIAddress is the Temporal Web UI address under Dev; empty disables it.
	UIAddress string
	// RunWorker and RunAPI select the roles; ordo dev runs both.
	RunWorker bool
	RunAPI    bool
	Logger    *logrus.Logger
	// Ready, when set, is called once every component has started.
	Ready func(Endpoints)
}

// Endpoints are the addresses a started process serves.
type Endpoints struct {
	API        string
	Temporal   string
	TemporalUI string
	Simulators map[string]string
	DataDir    string
	SecretFile string
}

// Run starts the selected components and blocks until ctx ends, then
// stops them in reverse order.
func Run(ctx context.Context, opts Options) (err error) {
	cfg := opts.Config
	logger := opts.Logger
	var stack cleanup
	defer func() {
		if cerr := stack.run(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	if opts.RunWorker || opts.Dev {
		if err := registry.Validate(cfg, logger); err != nil {
			return err
		}
	}

	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return fmt.Errorf("create data dir %s: %w", opts.DataDir, err)
		}
	}
	endpoints := Endpoints{DataDir: opts.DataDir, Simulators: map[string]string{}}

	// Bind the API first: a taken port then fails in a second, before
	// Temporal and the workers start.
	var listener net.Listener
	if opts.RunAPI {
		listener, err = listen(cfg.API.Address)
		if err != nil {
			return err
		}
		stack.push("API listener", func() error {
			if err := listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		})
	}

	// The SDK sizes its workflow cache once, for the first worker in the
	// process. With the embedded server that is one of Temporal's own
	// system workers, so the size is set before the server starts.
	worker.SetStickyWorkflowCacheSize(cfg.Worker.MaxCachedWorkflows)

	if opts.Dev {
		srv, err := devserver.Start(ctx, devserver.Config{
			DataDir: opts.DataDir, FrontendAddress: cfg.Temporal.Address, UIAddress: opts.UIAddress,
			Namespace: cfg.Temporal.Namespace, Logger: logger,
		})
		if err != nil {
			return err
		}
		stack.push("Temporal server", srv.Stop)
		endpoints.Temporal = srv.FrontendAddress()
		endpoints.TemporalUI = srv.UIAddress()
	}

	st, err := openStore(ctx, cfg, opts.DataDir)
	if err != nil {
		return err
	}
	stack.push("database", st.Close)
	if err := st.EnsureDefaultRules(ctx); err != nil {
		return err
	}

	secret, secretFile, err := webhookSecret(cfg, opts.DataDir, opts.Dev)
	if err != nil {
		return err
	}
	endpoints.SecretFile = secretFile
	links, err := linkSecret(cfg, opts.DataDir, opts.Dev, logger)
	if err != nil {
		return err
	}

	var sims *simulatorSet
	if opts.Dev {
		sims, err = startSimulators(ctx, cfg, opts.DataDir, strings.TrimRight(cfg.API.PublicURL, "/"), secret, logger)
		if err != nil {
			return fmt.Errorf("start simulators: %w", err)
		}
		stack.push("simulators", sims.Close)
		endpoints.Simulators["kingdee"] = cfg.Sim.Kingdee.Address
		endpoints.Simulators["einvoice"] = cfg.Sim.EInvoice.Address
		endpoints.Simulators["bank"] = cfg.Sim.Bank.Address
		if cfg.Sim.SMTP.Enabled {
			endpoints.Simulators["smtp"] = "smtp://" + cfg.Sim.SMTP.Address
		}
		if sims.resterp != nil {
			endpoints.Simulators["resterp"] = "http://" + cfg.Sim.RestERP.Address + "/api"
		}
		if cfg.Sim.WeCom.Enabled && cfg.Notify.WeCom.Configured() {
			endpoints.Simulators["wecom"] = "http://" + cfg.Sim.WeCom.Address
		}
		if cfg.Sim.SAPB1.Enabled {
			endpoints.Simulators["sapb1"] = "http://" + cfg.Sim.SAPB1.Address + "/b1s/v1/"
		}
	}

	temporalClient, err := client.Dial(client.Options{
		HostPort:  cfg.Temporal.Address,
		Namespace: cfg.Temporal.Namespace,
		Logger:    logging.NewSDKLogger(logger.WithField(logging.KeyComponent, "temporal-client")),
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	stack.push("Temporal client", func() error { temporalClient.Close(); return nil })

	starter := &chains.Starter{Store: st, Client: temporalClient, Config: cfg, Logger: logger}
	// The renewal planner computes reminder moments with the rules the
	// workflows use.
	renewalStarter := &renewals.Starter{Store: st, Client: temporalClient, Rules: &activities.RulesActivities{Store: st}, TaskQueue: cfg.TaskQueue, Logger: logger}
	ticketStarter := &tickets.Starter{Store: st, Client: temporalClient, TaskQueue: cfg.TaskQueue, Logger: logger}
	leadStarter := &leads.Starter{Store: st, Client: temporalClient, Config: cfg, Logger: logger}

	if opts.RunWorker {
		deps, err := buildConnectors(cfg, logger)
		if err != nil {
			return err
		}
		deps.linkSecret = links
		if err := deps.notify.useStore(st); err != nil {
			return err
		}
		stack.push("ERP connector", func() error { registry.Close(deps.erp); return nil })
		deps.tasks = newTaskActivities(cfg, deps, st, logger)
		outbox := &activities.Outbox{Tasks: deps.tasks}
		deps.tasks.Outbox = outbox
		for _, w := range newWorkers(temporalClient, cfg, deps, st, logger) {
			if err := w.Start(); err != nil {
				return fmt.Errorf("start worker: %w", err)
			}
			stack.push("worker", func() error { w.Stop(); return nil })
		}
		if err := chains.StartBankReconciliation(ctx, temporalClient, cfg); err != nil {
			return err
		}
		if _, ok := deps.erp.(erpsync.Source); ok {
			scheduleCtx, stopSchedule := context.WithCancel(ctx)
			scheduleDone := make(chan struct{})
			go func() { defer close(scheduleDone); keepSyncSchedule(scheduleCtx, temporalClient, cfg, logger) }()
			stack.push("sync schedule", func() error { stopSchedule(); <-scheduleDone; return nil })
		} else {
			logger.WithField("connector", cfg.ERP.Connector).Info("the ERP connector lists no changes, so no ERP sync is scheduled")
		}
		outboxCtx, stopOutbox := context.WithCancel(ctx)
		outboxDone := make(chan struct{})
		go func() { defer close(outboxDone); outbox.Run(outboxCtx, 2*time.Second) }()
		stack.push("notification outbox", func() error { stopOutbox(); <-outboxDone; return nil })
		starterCtx, stopStarter := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); starter.Run(starterCtx, 5*time.Second) }()
		stack.push("chain starter", func() error { stopStarter(); <-done; return nil })
		for name, run := range map[string]func(context.Context, time.Duration){"renewal planner": renewalStarter.Run, "ticket starter": ticketStarter.Run} {
			loopCtx, stopLoop := context.WithCancel(ctx)
			loopDone := make(chan struct{})
			go func() { defer close(loopDone); run(loopCtx, 5*time.Second) }()
			stack.push(name, func() error { stopLoop(); <-loopDone; return nil })
		}
		leadsDone := make(chan struct{})
		go func() { defer close(leadsDone); leadStarter.Run(starterCtx, 5*time.Second) }()
		stack.push("lead starter", func() error { stopStarter(); <-leadsDone; return nil })
	}

	if !opts.RunAPI {
		if opts.Ready != nil {
			opts.Ready(endpoints)
		}
		<-ctx.Done()
		return nil
	}
	token, err := config.Credential{Value: cfg.API.Token, File: cfg.API.TokenFile}.Resolve()
	if err != nil {
		return fmt.Errorf("api.token_file: %w", err)
	}
	adminToken, err := config.Credential{Value: cfg.API.AdminToken, File: cfg.API.AdminTokenFile}.Resolve()
	if err != nil {
		return fmt.Errorf("api.admin_token_file: %w", err)
	}
	server := &api.Server{
		Store: st, Temporal: temporalClient, Config: cfg, Logger: logger,
		Token: token, WebhookSecret: []byte(secret), Contracts: starter,
		Renewals: renewalStarter, Tickets: ticketStarter,
		LeadStarter: leadStarter, Leads: &leads.Service{Store: st, Client: temporalClient, Starter: leadStarter, Logger: logger},
		Extra: map[string]http.Handler{},
	}
	server.AdminToken = adminToken
	server.LinkSecret = links
	if sims != nil {
		server.Extra["GET /api/v1/dev/ledger"] = sims.ledgerHandler()
	}
	if cfg.Metrics.Enabled {
		server.Metrics, server.MetricsAuth = registry.Handler(), cfg.Metrics.RequireToken
	}
	listenErr := make(chan error, 1)
	apiCtx, stopAPI := context.WithCancel(ctx)
	defer stopAPI()
	endpoints.API = listener.Addr().String()
	go func() { listenErr <- server.Serve(apiCtx, listener) }()
	if opts.Ready != nil {
		opts.Ready(endpoints)
	}
	select {
	case err := <-listenErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("API server: %w", err)
		}
		return nil
	case <-ctx.Done():
		stopAPI()
		<-listenErr
		return nil
	}
}

func openStore(ctx context.Context, cfg *config.Config, dataDir string) (*store.Store, error) {
	dsn := cfg.Database.DSN
	if cfg.Database.Driver == "sqlite" && dsn == "" {
		dsn = filepath.Join(dataDir, "ordo.db")
	}
	st, err := store.Open(ctx, store.Options{Driver: cfg.Database.Driver, DSN: dsn, MaxConns: cfg.Database.MaxConns})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// webhookSecret returns the secret that verifies inbound events and
// callbacks. Under ordo dev without a configured secret it generates one
// and keeps it in the data dir, so restarts and simulators agree on it.
func webhookSecret(cfg *config.Config, dataDir string, dev bool) (secret, file string, err error) {
	if cfg.API.WebhookSecret != "" {
		return cfg.API.WebhookSecret, "", nil
	}
	if cfg.API.WebhookSecretFile != "" {
		data, err := os.ReadFile(cfg.API.WebhookSecretFile)
		if err != nil {
			return "", "", fmt.Errorf("read webhook secret file %s: %w", cfg.API.WebhookSecretFile, err)
		}
		return strings.TrimSpace(string(data)), cfg.API.WebhookSecretFile, nil
	}
	if !dev {
		return "", "", nil
	}
	file = filepath.Join(dataDir, "webhook-secret")
	if data, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(data)), file, nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("generate webhook secret: %w", err)
	}
	secret = hex.EncodeToString(raw)
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write webhook secret %s: %w", file, err)
	}
	return secret, file, nil
}

// newWorkers returns the worker of the contract chains and the worker of
// the bank reconciliation, each on its own task queue.
func newWorkers(c client.Client, cfg *config.Config, deps *connectorSet, st *store.Store, logger *logrus.Logger) []worker.Worker {
	chains := worker.New(c, cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:      cfg.Worker.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.Worker.MaxConcurrentWorkflowTasks,
		MaxConcurrentLocalActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
		MaxConcurrentActivityTaskPollers:        cfg.Worker.ActivityPollers,
		MaxConcurrentWorkflowTaskPollers:        cfg.Worker.WorkflowPollers,
		// A workflow task that waits longer than this for the worker that
		// holds the workflow in its cache moves to the shared queue and is
		// replayed from history elsewhere, which costs far more than waiting.
		StickyScheduleToStartTimeout: 30 * time.Second,
	})
	chains.RegisterWorkflowWithOptions(workflows.ContractToCash, workflow.RegisterOptions{Name: workflows.ContractToCashName})
	chains.RegisterWorkflowWithOptions(workflows.Renewal, workflow.RegisterOptions{Name: workflows.RenewalName})
	chains.RegisterWorkflowWithOptions(workflows.Ticket, workflow.RegisterOptions{Name: workflows.TicketName})
	chains.RegisterActivity(&activities.CustomerActivities{Store: st, Logger: logger})
	chains.RegisterActivity(&activities.ContractActivities{
		ERP: deps.erp, EInvoice: deps.einvoice, Store: st, Logger: logger,
		Invoicing: activities.InvoiceRules{Tax: cfg.Tax, Invoice: cfg.Invoice},
	})
	rulesActivities := &activities.RulesActivities{Store: st}
	chains.RegisterActivity(rulesActivities)
	tasks := deps.tasks
	if tasks == nil {
		tasks = newTaskActivities(cfg, deps, st, logger)
	}
	chains.RegisterActivity(tasks)
	chains.RegisterActivity(&activities.VerificationActivities{Store: st, Rules: rulesActivities})
	chains.RegisterWorkflowWithOptions(workflows.Approval, workflow.RegisterOptions{Name: workflows.ApprovalName})
	chains.RegisterActivity(&activities.ApprovalActivities{
		Store: st, ERP: deps.erp, PriceLists: deps.erp, CNYRate: cfg.Invoice.RateFor, Logger: logger,
		RenewalFrozen: store.IsRenewalApprovalFrozen,
	})
	chains.RegisterWorkflowWithOptions(workflows.LeadSLA, workflow.RegisterOptions{Name: workflows.LeadSLAName})
	chains.RegisterActivity(&activities.LeadActivities{Store: st})
	chains.RegisterWorkflowWithOptions(workflows.SyncERP, workflow.RegisterOptions{Name: workflows.SyncERPName})
	// Only a connector that can list changes since a watermark feeds the
	// sync; with another one the sync workflow is registered but never
	// scheduled.
	if source, ok := deps.erp.(erpsync.Source); ok {
		chains.RegisterActivity(&activities.SyncERPActivities{Syncer: &erpsync.Syncer{Store: st, Source: source}})
	}

	reconciliation := worker.New(c, cfg.ReconciliationTaskQueue(), worker.Options{
		MaxConcurrentActivityExecutionSize:     4,
		MaxConcurrentWorkflowTaskExecutionSize: 2,
	})
	reconciliation.RegisterWorkflowWithOptions(workflows.BankReconciliation, workflow.RegisterOptions{Name: workflows.BankReconciliationName})
	reconciliation.RegisterActivity(&activities.BankActivities{
		Bank: deps.bank, Store: st, Temporal: c, AccountNo: cfg.Bank.AccountNo, PageSize: cfg.Payment.PageSize, Logger: logger,
	})
	return []worker.Worker{chains, reconciliation}
}

// cleanup runs stop functions in reverse order.
type cleanup struct {
	names []string
	funcs []func() error
}

func (c *cleanup) push(name string, fn func() error) {
	c.names = append(c.names, name)
	c.funcs = append(c.funcs, fn)
}

func (c *cleanup) run() error {
	var first error
	for i := len(c.funcs) - 1; i >= 0; i-- {
		if err := c.funcs[i](); err != nil && first == nil {
			first = fmt.Errorf("stop %s: %w", c.names[i], err)
		}
	}
	return first
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func listen(address string) (net.Listener, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the API (is another ordo running?): %w", address, err)
	}
	return l, nil
}
