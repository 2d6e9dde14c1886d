package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/app"
	"github.com/ordo-project/ordo/internal/bench"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// benchRemindBefore is how long before the lead deadline the reminder is
// due; long enough that the alerts never fall inside a measurement.
const benchRemindBefore = 30 * time.Minute

// singleLead is the time from assignment to reminder of the single
// timers: enough for the lead starter's pass to start their workflows.
const singleLead = 20 * time.Second

// singleSpacing separates the due times of the single timers, so each
// fires alone.
const singleSpacing = 2 * time.Second

// runLeadTimers measures ordo's own timers: lead SLA workflows whose
// reminders fall due together, then one at a time.
func runLeadTimers(ctx context.Context, cmd *cobra.Command, table *tabwriter.Writer, cfg *config.Config,
	endpoints app.Endpoints, count, single int, lead time.Duration) error {
	api := apiclient.New("http://"+endpoints.API, cfg.API.Token)
	if err := applyReminderRules(ctx, api, lead); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(endpoints.DataDir, "ordo.db"), MaxConns: 1})
	if err != nil {
		return err
	}
	defer st.Close()
	reminders := func(ctx context.Context) (map[int]time.Time, error) {
		recorded, _, err := bench.LeadReminders(ctx, st)
		return recorded, err
	}
	emails := func(ctx context.Context) (map[int]time.Time, error) {
		_, sent, err := bench.LeadReminders(ctx, st)
		return sent, err
	}

	if count > 0 {
		assigned := time.Now()
		due := assigned.Add(lead)
		fmt.Fprintf(cmd.ErrOrStderr(), "storing %d leads assigned at %s, reminders due at %s ...\n", count,
			assigned.Format(time.TimeOnly), due.Format(time.TimeOnly))
		if err := bench.SeedLeads(ctx, st, count, assigned); err != nil {
			return err
		}
		if err := waitLeadWorkflows(ctx, st, count, due); err != nil {
			return err
		}
		recorded, err := bench.WaitFired(ctx, count, due, 10*time.Minute, reminders)
		if err != nil {
			return err
		}
		sent, err := bench.WaitFired(ctx, count, due, 10*time.Minute, emails)
		if err != nil {
			return err
		}
		fmt.Fprintf(table, "ordo lead reminders, one instant: task recorded\t%d\t%.1f\t%.0f\t%.0f\n", count,
			recorded.Max().Seconds(), ms(recorded.Percentile(50)), ms(recorded.Percentile(99)))
		fmt.Fprintf(table, "ordo lead reminders, one instant: email sent\t%d\t%.1f\t%.0f\t%.0f\n", count,
			sent.Max().Seconds(), ms(sent.Percentile(50)), ms(sent.Percentile(99)))
		if err := table.Flush(); err != nil {
			return err
		}
	}
	if single > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "firing %d single lead reminders %s apart ...\n", single, singleSpacing)
		if err := applyReminderRules(ctx, api, singleLead); err != nil {
			return err
		}
		late, err := singleLeadTimers(ctx, st, count, single, reminders)
		if err != nil {
			return err
		}
		fmt.Fprintf(table, "ordo single lead reminders, no load\t%d\t%.2f\t%.0f\t%.0f\n", single,
			late.Max().Seconds(), ms(late.Percentile(50)), ms(late.Percentile(99)))
		if err := table.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// applyReminderRules applies a rules version whose lead reminder is due
// lead after assignment, in calendar hours. Workflows started afterwards
// run under it.
func applyReminderRules(ctx context.Context, api *apiclient.Client, lead time.Duration) error {
	doc := rules.Default()
	doc.Leads.FirstContact.Within = rules.Duration(lead + benchRemindBefore)
	doc.Leads.FirstContact.Hours = rules.CalendarHours
	doc.Leads.FirstContact.RemindBefore = rules.Duration(benchRemindBefore)
	body, err := doc.YAML()
	if err != nil {
		return err
	}
	var applied map[string]any
	if err := api.PostBody(ctx, "/api/v1/rules", "application/yaml", url.Values{"by": {"ordo bench timers"}}, body, &applied); err != nil {
		return fmt.Errorf("apply the benchmark's rules: %w", err)
	}
	return nil
}

// waitLeadWorkflows waits until ordo started the workflows of n leads, and
// fails when that takes until due, which would make the reminders late
// for a reason other than their timers.
func waitLeadWorkflows(ctx context.Context, st *store.Store, n int, due time.Time) error {
	for {
		started, err := st.DB.NewSelect().Model((*store.Lead)(nil)).Where("workflow_started_at IS NOT NULL").Count(ctx)
		if err != nil {
			return err
		}
		if int(started) >= n {
			return nil
		}
		if time.Now().After(due) {
			return fmt.Errorf("only %d of %d lead workflows started before their reminders were due: raise --lead", started, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// singleLeadTimers stores n leads whose reminders fall due singleSpacing
// apart, after every workflow has started, and returns their lateness.
func singleLeadTimers(ctx context.Context, st *store.Store, offset, n int,
	reminders func(context.Context) (map[int]time.Time, error)) (bench.Lateness, error) {
	// The leads are indexed after the burst's, with assignment times
	// spaced so that each reminder is due alone.
	first := time.Now()
	for i := 0; i < n; i++ {
		if err := bench.SeedLeadAt(ctx, st, offset+i, first.Add(time.Duration(i)*singleSpacing)); err != nil {
			return bench.Lateness{}, err
		}
	}
	var all bench.Lateness
	deadline := first.Add(time.Duration(n)*singleSpacing + 2*time.Minute)
	for {
		got, err := reminders(ctx)
		if err != nil {
			return all, err
		}
		done := 0
		all.Late = all.Late[:0]
		for i := 0; i < n; i++ {
			at, ok := got[offset+i]
			if !ok {
				continue
			}
			done++
			due := first.Add(time.Duration(i)*singleSpacing + singleLead)
			all.Late = append(all.Late, max(at.Sub(due), 0))
		}
		if done == n {
			all.Timers = n
			slices.Sort(all.Late)
			return all, nil
		}
		if time.Now().After(deadline) {
			return all, fmt.Errorf("%d of %d single reminders fired", done, n)
		}
		select {
		case <-ctx.Done():
			return all, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
