package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/app"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
)

// processFlags are shared by dev and serve.
type processFlags struct {
	configPath string
	dataDir    string
	apiAddress string
	logLevel   string
	logFormat  string
}

func (f *processFlags) register(cmd *cobra.Command, defaultDataDir string) {
	cmd.Flags().StringVar(&f.configPath, "config", os.Getenv("ORDO_CONFIG"), "YAML configuration file (env ORDO_CONFIG); defaults apply without one")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", defaultDataDir, "directory for SQLite files and generated secrets")
	cmd.Flags().StringVar(&f.apiAddress, "api-address", "", "address of ordo's HTTP API (default from the configuration, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "", "trace, debug, info, warn or error (default from the configuration, info)")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "", "text or json (default from the configuration, text)")
}

func (f *processFlags) load() (*config.Config, error) {
	cfg, err := config.Load(f.configPath)
	if err != nil {
		return nil, err
	}
	if f.apiAddress != "" {
		cfg.API.Address = f.apiAddress
		cfg.API.PublicURL = "http://" + f.apiAddress
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if f.logFormat != "" {
		cfg.Log.Format = f.logFormat
	}
	return cfg, nil
}

func newDevCommand() *cobra.Command {
	flags := &processFlags{}
	var uiAddress string
	var faultRate float64
	var pprofAddress string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal server and Web UI, worker, API and simulators of the ERP, e-invoice service and bank",
		Long: `Run ordo's embedded default on this machine, listening on loopback only:
the Temporal server with its state in DATA_DIR/temporal.db, the Temporal Web
UI, ordo's worker and API with ordo's own data in DATA_DIR/ordo.db, and
simulators of a Kingdee ERP, an e-invoice service, a bank and a mail server
(an SMTP sink that keeps every message) with their state in
DATA_DIR/simulators.db. Stop it with Ctrl-C; starting it again on
the same data dir continues every workflow where it stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("fault-rate") {
				if faultRate < 0 || faultRate > 1 {
					return fmt.Errorf("--fault-rate %v is not a probability: use a number from 0 to 1", faultRate)
				}
				cfg.Sim.FaultRate = faultRate
			}
			logger, err := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format})
			if err != nil {
				return err
			}
			tuneGarbageCollector()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if pprofAddress != "" {
				if err := servePprof(ctx, pprofAddress, logger); err != nil {
					return err
				}
			}
			started := time.Now()
			return app.Run(ctx, app.Options{
				Config: cfg, DataDir: flags.dataDir, Dev: true, UIAddress: uiAddress,
				RunWorker: true, RunAPI: true, Logger: logger,
				Ready: func(e app.Endpoints) { printEndpoints(cmd, e, time.Since(started)) },
			})
		},
	}
	flags.register(cmd, ".ordo")
	cmd.Flags().StringVar(&uiAddress, "ui-address", "127.0.0.1:8233", "address of the Temporal Web UI; empty disables it")
	cmd.Flags().Float64Var(&faultRate, "fault-rate", 0, "probability, 0 to 1, that a simulator request fails with one of its faults (the SMTP sink answers 451)")
	cmd.Flags().StringVar(&pprofAddress, "pprof-address", "", "serve Go profiles (net/http/pprof) on this address, e.g. 127.0.0.1:6060")
	cmd.AddCommand(newDevLedgerCommand())
	return cmd
}

// tuneGarbageCollector trades memory for CPU in the all-in-one process,
// where the collector otherwise takes about a tenth of the CPU under load:
// the heap may grow to three times the live data (GOGC=200), but the
// collector works harder near 900 MiB so the process stays within 1 GB.
// GOGC and GOMEMLIMIT in the environment take precedence.
func tuneGarbageCollector() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(900 << 20)
	}
}

func printEndpoints(cmd *cobra.Command, e app.Endpoints, took time.Duration) {
	out := cmd.ErrOrStderr()
	fmt.Fprintf(out, "\nordo dev is ready (%s)\n", took.Round(time.Millisecond))
	fmt.Fprintf(out, "  API           http://%s\n", e.API)
	if e.TemporalUI != "" {
		fmt.Fprintf(out, "  Temporal UI   http://%s\n", e.TemporalUI)
	}
	fmt.Fprintf(out, "  Temporal      %s (namespace default)\n", e.Temporal)
	names := make([]string, 0, len(e.Simulators))
	for name := range e.Simulators {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		address := e.Simulators[name]
		if !strings.Contains(address, "://") {
			address = "http://" + address
		}
		fmt.Fprintf(out, "  %-13s %s (simulator)\n", name, address)
	}
	fmt.Fprintf(out, "  data          %s\n", e.DataDir)
	if e.SecretFile != "" {
		fmt.Fprintf(out, "  webhook key   %s\n", e.SecretFile)
	}
	fmt.Fprintf(out, "\nNext: ordo import crm DIR, then ordo contract list\n\n")
}

func newServeCommand() *cobra.Command {
	flags := &processFlags{}
	var worker, apiRole bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the worker and the API against an existing Temporal cluster and database",
		Long: `Run ordo in production: the worker, the API, or both (the default), connected to
the Temporal cluster in temporal.address and the database in database.dsn
(PostgreSQL in production). Run several processes for more capacity.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			logger, err := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format})
			if err != nil {
				return err
			}
			if !worker && !apiRole {
				return fmt.Errorf("nothing to run: --worker=false and --api=false")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return app.Run(ctx, app.Options{
				Config: cfg, DataDir: flags.dataDir, RunWorker: worker, RunAPI: apiRole, Logger: logger,
				Ready: func(e app.Endpoints) {
					logger.WithField(logging.KeyAddress, e.API).Info("ordo serve is ready")
				},
			})
		},
	}
	flags.register(cmd, "/var/lib/ordo")
	cmd.Flags().BoolVar(&worker, "worker", true, "run the Temporal worker")
	cmd.Flags().BoolVar(&apiRole, "api", true, "run the HTTP API")
	return cmd
}
