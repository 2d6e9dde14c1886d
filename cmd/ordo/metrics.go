package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/processhealth"
)

func newMetricsCommand() *cobra.Command {
	var flags clientFlags
	var month, from, to, by string
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Print the process-health measures with their numerators and denominators",
		Long: `Print the three process-health measures computed from the timestamps
ordo recorded: lead response within 48 h, cross-department blocking rate
and high-risk intervention within 72 h, each with its numerator,
denominator, pending count and target. Without a period the report covers
every record; --month or --from/--to narrow it, and --by team or
--by region adds a line per sales team or region.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{}
			for key, value := range map[string]string{"month": month, "from": from, "to": to, "by": by} {
				if value != "" {
					query.Set(key, value)
				}
			}
			var report processhealth.Report
			if err := flags.client().Get(cmd.Context(), "/api/v1/metrics/process-health", query, &report); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, report)
			}
			fmt.Fprintf(out, "period %s to %s (computed %s)\n\n", report.From.Format(time.DateOnly),
				report.To.Format(time.DateOnly), report.Computed.Format(time.RFC3339))
			table := newTable(out)
			fmt.Fprintln(table, "MEASURE\tGROUP\tNUMERATOR\tDENOMINATOR\tPENDING\tRATE\tTARGET\tMET")
			for _, m := range report.Measures {
				target := fmt.Sprintf(">= %.0f%%", m.Target*100)
				if !m.HigherIsBetter {
					target = fmt.Sprintf("<= %.0f%%", m.Target*100)
				}
				met := "-"
				if m.MeetsTarget != nil {
					met = map[bool]string{true: "yes", false: "no"}[*m.MeetsTarget]
				}
				fmt.Fprintf(table, "%s\tall\t%d\t%d\t%d\t%s\t%s\t%s\n", m.Name, m.Total.Numerator, m.Total.Denominator,
					m.Total.Pending, formatRate(m.Total.Rate), target, met)
				for _, g := range m.Groups {
					fmt.Fprintf(table, "\t%s\t%d\t%d\t%d\t%s\t\t\n", g.Group, g.Numerator, g.Denominator, g.Pending, formatRate(g.Rate))
				}
			}
			if err := table.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out)
			for _, m := range report.Measures {
				fmt.Fprintf(out, "%s: %s ÷ %s\n", m.Name, m.Numerator, m.Denominator)
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&month, "month", "", "report one month, YYYY-MM")
	cmd.Flags().StringVar(&from, "from", "", "start of the period, YYYY-MM-DD or RFC 3339")
	cmd.Flags().StringVar(&to, "to", "", "end of the period (exclusive), YYYY-MM-DD or RFC 3339")
	cmd.Flags().StringVar(&by, "by", "", "add figures per group: team or region")
	return cmd
}

func formatRate(rate *float64) string {
	if rate == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *rate*100)
}

func newCustomerCommand() *cobra.Command {
	var flags clientFlags
	cmd := &cobra.Command{
		Use:   "customer",
		Short: "Record contacts with customers",
	}
	flags.register(cmd)

	var channel, by, at, note string
	interact := &cobra.Command{
		Use:   "interact CUSTOMER",
		Short: "Record a meeting, call, visit, email or message with a customer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.InteractionRequest{Channel: channel, By: by, Note: note}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("invalid --at %q: use an RFC 3339 time such as 2026-12-05T10:30:00+08:00", at)
				}
				req.At = &t
			}

			var recorded map[string]any
			if err := flags.client().Post(cmd.Context(), "/api/v1/customers/"+url.PathEscape(args[0])+"/interactions", req, &recorded); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), recorded)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded %s with %s by %s\n", channel, args[0], by)
			return nil
		},
	}
	interact.Flags().StringVar(&channel, "channel", "call", "call, meeting, visit, email or message")
	interact.Flags().StringVar(&by, "by", "", "the person who contacted the customer (required)")
	interact.Flags().StringVar(&at, "at", "", "when, RFC 3339 (default: now)")
	interact.Flags().StringVar(&note, "note", "", "what was discussed")
	_ = interact.MarkFlagRequired("by")

	cmd.AddCommand(interact)
	return cmd
}
