package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/bench"
	"github.com/ordo-project/ordo/internal/store"
)

func newBenchWebhooksCommand() *cobra.Command {
	var dataDir string
	var duration time.Duration
	var clients []int
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Measure signed contract-signed webhooks through the durable record to the ERP call",
		Long: `Start a fresh ordo dev stack on free loopback ports and send signed
contract-signed events, each a new contract, from 1, 16 and 64 concurrent
clients in turn. For each level print the accepted requests per second and
the p50 and p99 latency until ordo answered that the event is durably
recorded, then the time until the ERP simulator holds an audited sales
order for every accepted contract. The simulated production never
completes during the run, so the flow measured is the one an integration
platform would run for the same webhook: verify, record, call the ERP.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := benchConfig()
			if err != nil {
				return err
			}
			cfg.Sim.Kingdee.ProductionDelay = 24 * time.Hour
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "machine: %s\n", machineDescription())
			endpoints, stopStack, err := startBenchStack(ctx, cfg, dataDir)
			if err != nil {
				return err
			}
			defer stopStack()
			secret, err := os.ReadFile(endpoints.SecretFile)
			if err != nil {
				return fmt.Errorf("read the stack's webhook secret: %w", err)
			}
			secret = []byte(strings.TrimSpace(string(secret)))
			baseURL := "http://" + endpoints.API

			table := newTable(out)
			fmt.Fprintln(table, "CLIENTS\tACCEPTED\tFAILED\tPER SECOND\tP50 MS\tP99 MS\tALL IN ERP AFTER S\tEND TO END PER SECOND")
			for i, n := range clients {
				fmt.Fprintf(cmd.ErrOrStderr(), "sending events from %d clients for %s ...\n", n, duration)
				started := time.Now()
				result := bench.RunWebhooks(ctx, baseURL, secret, fmt.Sprintf("WH%d", i+1), n, duration)
				if result.FirstError != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "  first failure: %v\n", result.FirstError)
				}
				inERP, err := waitNoneSigned(ctx, baseURL, 15*time.Minute)
				if err != nil {
					return err
				}
				allIn := inERP.Sub(started)
				fmt.Fprintf(table, "%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", n, result.Requests-result.Failures, result.Failures,
					result.PerSecond(), ms(result.Percentile(50)), ms(result.Percentile(99)), allIn.Seconds(),
					float64(len(result.ContractNos))/allIn.Seconds())
				// Print each level as it finishes, so a long run shows its
				// figures before it ends.
				if err := table.Flush(); err != nil {
					return err
				}
			}
			return table.Flush()
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory for the stack (default: a new temporary directory, removed afterwards)")
	cmd.Flags().DurationVar(&duration, "duration", 20*time.Second, "how long each load level sends events")
	cmd.Flags().IntSliceVar(&clients, "clients", []int{1, 16, 64}, "concurrent clients of each load level")
	return cmd
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitNoneSigned polls the contract summary until no contract is left in
// the signed state, that is every accepted contract has its sales order
// audited in the ERP, and returns when that was seen.
func waitNoneSigned(ctx context.Context, baseURL string, timeout time.Duration) (time.Time, error) {
	c := apiclient.New(baseURL, "")
	deadline := time.Now().Add(timeout)
	for {
		var s api.Summary
		if err := c.Get(ctx, "/api/v1/summary", nil, &s); err != nil {
			return time.Time{}, err
		}
		signed := 0
		for _, count := range s.Contracts {
			if count.State == store.ContractSigned {
				signed = count.Count
			}
		}
		if signed == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d contracts still wait for their sales order after %s", signed, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
