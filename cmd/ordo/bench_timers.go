package main

import (
	"context"
	"fmt"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordo-project/ordo/internal/bench"
	"github.com/ordo-project/ordo/internal/logging"
)

func newBenchTimersCommand() *cobra.Command {
	var dataDir string
	var count, single, cachedWorkflows int
	var lead time.Duration
	var bare bool
	cmd := &cobra.Command{
		Use:   "timers",
		Short: "Measure how late timers fire on ordo dev: many due at one instant, and single ones under no load",
		Long: `Start a fresh ordo dev stack on free loopback ports and apply a rules
version whose lead reminder is due --lead after assignment. Store --count
leads all assigned at the same instant and let ordo start their lead SLA
workflows, then report how long after the shared due time the last
reminder task was recorded and the last reminder email sent, with the p50
and p99 lateness. Then store --single leads whose reminders fall due two
seconds apart, one at a time, and report their lateness. With --bare the
same is measured for bare Temporal workflows that only sleep and record
the moment they woke.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := benchConfig()
			if err != nil {
				return err
			}
			// Email and the log are the channels a reminder needs. WeCom
			// paces each person to 30 messages a minute, so thousands of
			// reminders for a few benchmark reps would measure its pacing,
			// not the timers.
			cfg.Notify.Channels = []string{"email", "log"}
			if cachedWorkflows > 0 {
				cfg.Worker.MaxCachedWorkflows = cachedWorkflows
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "machine: %s\n", machineDescription())
			endpoints, stopStack, err := startBenchStack(ctx, cfg, dataDir)
			if err != nil {
				return err
			}
			defer stopStack()
			c, err := client.Dial(client.Options{HostPort: endpoints.Temporal, Namespace: cfg.Temporal.Namespace,
				Logger: logging.NewSDKLogger(logging.Discard().WithField("component", "bench"))})
			if err != nil {
				return fmt.Errorf("connect to Temporal: %w", err)
			}
			defer c.Close()
			tw, err := bench.StartTimerWorker(c, worker.Options{
				MaxConcurrentWorkflowTaskExecutionSize:  cfg.Worker.MaxConcurrentWorkflowTasks,
				MaxConcurrentLocalActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
				MaxConcurrentWorkflowTaskPollers:        cfg.Worker.WorkflowPollers,
				StickyScheduleToStartTimeout:            30 * time.Second,
			})
			if err != nil {
				return err
			}
			defer tw.Stop()

			table := newTable(out)
			fmt.Fprintln(table, "RUN\tTIMERS\tALL FIRED AFTER S\tP50 LATE MS\tP99 LATE MS")
			if err := runLeadTimers(ctx, cmd, table, cfg, endpoints, count, single, lead); err != nil {
				return err
			}
			stamp := time.Now().Unix()
			if bare && count > 0 {
				// The shared due time must lie after the last start returns,
				// so --lead has to cover the time starting takes.
				due := time.Now().Add(lead)
				fmt.Fprintf(cmd.ErrOrStderr(), "starting %d bare timer workflows due at %s ...\n", count, due.Format(time.TimeOnly))
				started := time.Now()
				if err := bench.StartTimers(ctx, count, 64, due, tw.StartBareTimer(c, fmt.Sprintf("bench-timer-%d", stamp))); err != nil {
					return err
				}
				starting := time.Since(started)
				if time.Now().After(due) {
					return fmt.Errorf("starting %d timers took %s, longer than --lead %s: raise --lead", count, starting.Round(time.Second), lead)
				}
				late, err := bench.WaitFired(ctx, count, due, 10*time.Minute, tw.BareFiredAll)
				if err != nil {
					return err
				}
				fmt.Fprintf(table, "bare Temporal timers, one instant\t%d\t%.1f\t%.0f\t%.0f\n", count,
					late.Max().Seconds(), ms(late.Percentile(50)), ms(late.Percentile(99)))
			}
			if bare && single > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "firing %d single timers one at a time ...\n", single)
				late, err := singleTimers(ctx, c, tw, single, fmt.Sprintf("bench-single-%d", stamp), count)
				if err != nil {
					return err
				}
				fmt.Fprintf(table, "bare Temporal single timers, no load\t%d\t%.2f\t%.0f\t%.0f\n", single,
					late.Max().Seconds(), ms(late.Percentile(50)), ms(late.Percentile(99)))
			}
			return table.Flush()
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory for the stack (default: a new temporary directory, removed afterwards)")
	cmd.Flags().IntVar(&count, "count", 10000, "timers due at the same instant")
	cmd.Flags().IntVar(&single, "single", 100, "timers fired one at a time under no load")
	cmd.Flags().DurationVar(&lead, "lead", 3*time.Minute, "how far ahead of the start the shared due time lies; starting --count workflows must fit in it")
	cmd.Flags().IntVar(&cachedWorkflows, "cached-workflows", 0, "worker.max_cached_workflows for the run (default: the configuration default)")
	cmd.Flags().BoolVar(&bare, "bare", false, "also measure bare Temporal timer workflows on the same server")
	return cmd
}

// singleTimers starts n timers one after the other, each due one second
// after its start and waited for before the next, and returns their
// lateness. Indexes start at offset so they do not collide with a previous
// run on the same worker.
func singleTimers(ctx context.Context, c client.Client, tw *bench.TimerWorker, n int, prefix string, offset int) (bench.Lateness, error) {
	start := tw.StartBareTimer(c, prefix)
	var all bench.Lateness
	for i := 0; i < n; i++ {
		index := offset + i
		due := time.Now().Add(time.Second)
		if err := start(ctx, index, due); err != nil {
			return all, err
		}
		fired := func(ctx context.Context) (map[int]time.Time, error) {
			got, err := tw.BareFiredAll(ctx)
			if err != nil {
				return nil, err
			}
			if at, ok := got[index]; ok {
				return map[int]time.Time{index: at}, nil
			}
			return nil, nil
		}
		late, err := bench.WaitFired(ctx, 1, due, time.Minute, fired)
		if err != nil {
			return all, err
		}
		all.Late = append(all.Late, late.Late...)
	}
	all.Timers = n
	slices.Sort(all.Late)
	return all, nil
}
