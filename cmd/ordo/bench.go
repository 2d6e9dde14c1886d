package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/app"
	"github.com/ordo-project/ordo/internal/bench"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ordo on this machine",
	}
	cmd.PersistentFlags().StringVar(&benchPprofAddress, "pprof-address", "", "serve Go profiles (net/http/pprof) of the benchmark process on this address, e.g. 127.0.0.1:6060")
	cmd.AddCommand(newBenchChainsCommand(), newBenchWebhooksCommand(), newBenchTimersCommand())
	return cmd
}

// benchPprofAddress is the --pprof-address flag of the bench commands.
var benchPprofAddress string

// startBenchStack starts an ordo dev stack for a benchmark in dataDir, or
// in a new temporary directory removed by stop when dataDir is empty.
func startBenchStack(ctx context.Context, cfg *config.Config, dataDir string) (app.Endpoints, func(), error) {
	var removeDir func()
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "ordo-bench-")
		if err != nil {
			return app.Endpoints{}, nil, err
		}
		dataDir = dir
		removeDir = func() { _ = os.RemoveAll(dir) }
	}
	tuneGarbageCollector()
	stackCtx, stopStack := context.WithCancel(ctx)
	if benchPprofAddress != "" {
		if err := servePprof(stackCtx, benchPprofAddress, logrus.StandardLogger()); err != nil {
			stopStack()
			return app.Endpoints{}, nil, err
		}
	}
	ready := make(chan app.Endpoints, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(stackCtx, app.Options{
			Config: cfg, DataDir: dataDir, Dev: true, RunWorker: true, RunAPI: true,
			Logger: logging.Discard(), Ready: func(e app.Endpoints) { ready <- e },
		})
	}()
	stop := func() {
		stopStack()
		<-done
		if removeDir != nil {
			removeDir()
		}
	}
	select {
	case endpoints := <-ready:
		return endpoints, stop, nil
	case err := <-done:
		stopStack()
		if removeDir != nil {
			removeDir()
		}
		return app.Endpoints{}, nil, fmt.Errorf("start ordo dev stack: %w", err)
	}
}

func newBenchChainsCommand() *cobra.Command {
	var dataDir string
	var timeout time.Duration
	var skipBare bool
	cmd := &cobra.Command{
		Use:   "chains CRM_EXPORT_DIR",
		Short: "Import a CRM export into a fresh ordo dev stack, time its chains to closed, and compare with bare Temporal workflows",
		Long: `Start a fresh ordo dev stack on free loopback ports and an empty data
directory, import the CRM export, and wait until every chain is closed. Then
run the same number of bare Temporal workflows on the same server, each with
as many no-op activities as one chain ran: in the chain's shape (local
activities in the same groups, a one-second timer for each outside event the
chain waited for), as one run of local activities, and as one run of regular
activities. Print the figures side by side.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := benchConfig()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "machine: %s\n", machineDescription())
			endpoints, stopStack, err := startBenchStack(ctx, cfg, dataDir)
			if err != nil {
				return err
			}
			defer stopStack()

			fmt.Fprintf(out, "importing %s ...\n", args[0])
			last := time.Now()
			chains, err := bench.RunImport(ctx, "http://"+endpoints.API, args[0], timeout, func(closed, total int) {
				if time.Since(last) >= 10*time.Second {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %d of %d chains closed\n", closed, total)
					last = time.Now()
				}
			})
			if err != nil {
				return err
			}

			c, err := client.Dial(client.Options{HostPort: endpoints.Temporal, Namespace: cfg.Temporal.Namespace, Logger: logging.NewSDKLogger(logging.Discard().WithField("component", "bench"))})
			if err != nil {
				return fmt.Errorf("connect to Temporal: %w", err)
			}
			defer c.Close()
			var first api.ContractList
			if err := apiclient.New("http://"+endpoints.API, "").Get(ctx, "/api/v1/contracts", url.Values{"limit": {"1"}}, &first); err != nil {
				return err
			}
			if len(first.Contracts) == 0 {
				return fmt.Errorf("the export created no contract to measure")
			}
			shape, err := bench.MeasureChain(ctx, c, first.Contracts[0].WorkflowID)
			if err != nil {
				return err
			}

			table := newTable(out)
			fmt.Fprintln(table, "RUN\tWORKFLOWS\tACTIVITIES EACH\tSECONDS\tPER SECOND\tCHAIN RATIO")
			fmt.Fprintf(table, "ordo chains (sample import)\t%d\t%d local + %d regular\t%.1f\t%.1f\t-\n",
				chains.Contracts, shape.LocalActivities, shape.RegularActivities, chains.Closed.Seconds(), chains.PerSecond())
			if !skipBare {
				opts := worker.Options{
					MaxConcurrentActivityExecutionSize:      cfg.Worker.MaxConcurrentActivities,
					MaxConcurrentWorkflowTaskExecutionSize:  cfg.Worker.MaxConcurrentWorkflowTasks,
					MaxConcurrentLocalActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
					MaxConcurrentActivityTaskPollers:        cfg.Worker.ActivityPollers,
					MaxConcurrentWorkflowTaskPollers:        cfg.Worker.WorkflowPollers,
					StickyScheduleToStartTimeout:            30 * time.Second,
				}
				runs := []struct {
					name string
					in   bench.BareInput
				}{
					{"bare Temporal, same shape", bench.BareInput{Activities: shape.Activities(), Local: true, Groups: shape.Groups}},
					{"bare Temporal, local activities", bench.BareInput{Activities: shape.Activities(), Local: true}},
					{"bare Temporal, regular activities", bench.BareInput{Activities: shape.Activities()}},
				}
				for _, run := range runs {
					fmt.Fprintf(cmd.ErrOrStderr(), "running %d workflows: %s ...\n", chains.Contracts, run.name)
					bare, err := bench.RunBare(ctx, c, chains.Contracts, run.in, 64, opts)
					if err != nil {
						return err
					}
					kind := "regular"
					if run.in.Local {
						kind = "local"
					}
					activities := fmt.Sprintf("%d %s", bare.Activities, kind)
					if len(run.in.Groups) > 0 {
						activities += fmt.Sprintf(" in %v", run.in.Groups)
					}
					fmt.Fprintf(table, "%s\t%d\t%s\t%.1f\t%.1f\t%.2f\n", run.name, bare.Workflows,
						activities, bare.Elapsed.Seconds(), bare.PerSecond(), chains.PerSecond()/bare.PerSecond())
				}
			}
			if err := table.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nimport call returned after %.1f s; the chain history has %d events\n", chains.Imported.Seconds(), shape.Events)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory for the stack (default: a new temporary directory, removed afterwards)")
	cmd.Flags().DurationVar(&timeout, "timeout", 20*time.Minute, "give up when the chains have not all closed after this long")
	cmd.Flags().BoolVar(&skipBare, "skip-bare", false, "measure only the chains")
	return cmd
}

// benchConfig is the dev configuration with every listener on a free
// loopback port, so a benchmark runs beside a running ordo dev.
func benchConfig() (*config.Config, error) {
	cfg := config.Default()
	ports, err := freeLoopbackPorts(8)
	if err != nil {
		return nil, err
	}
	cfg.Temporal.Address = ports[0]
	cfg.API.Address = ports[1]
	cfg.API.PublicURL = "http://" + ports[1]
	cfg.Sim.Kingdee.Address = ports[2]
	cfg.ERP.BaseURL = "http://" + ports[2] + "/k3cloud/"
	cfg.Sim.EInvoice.Address = ports[3]
	cfg.EInvoice.BaseURL = "http://" + ports[3]
	cfg.Sim.Bank.Address = ports[4]
	cfg.Bank.BaseURL = "http://" + ports[4]
	cfg.Sim.SMTP.Address = ports[5]
	cfg.Notify.SMTP.Address = ports[5]
	cfg.Sim.WeCom.Address = ports[6]
	cfg.Notify.WeCom.BaseURL = "http://" + ports[6]
	cfg.Sim.SMS.Address = ports[7]
	cfg.Notify.SMS.BaseURL = "http://" + ports[7]
	return cfg, cfg.Validate()
}

func freeLoopbackPorts(n int) ([]string, error) {
	addresses := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		addresses = append(addresses, l.Addr().String())
		defer l.Close()
	}
	return addresses, nil
}

// machineDescription names the CPU, core count and memory, read from
// /proc on Linux.
func machineDescription() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	memory := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kib); err == nil {
			memory = fmt.Sprintf(", %.1f GiB", float64(kib)/(1<<20))
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s/%s, %s", model, runtime.NumCPU(), memory, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
