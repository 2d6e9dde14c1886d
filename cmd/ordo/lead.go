package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/store"
)

func newLeadCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "lead",
		Short: "List leads, show their response SLA, record contacts and reassign them",
		Long: `Every lead assigned to a rep runs a response SLA: the rep is reminded
before the deadline and the rep's supervisor alerted when it passes, until
the first contact. After it, each contact starts the next follow-up
deadline, until the deal is won or lost.`,
	}
	flags.register(cmd)
	cmd.AddCommand(newLeadListCommand(flags), newLeadShowCommand(flags), newLeadCreateCommand(flags),
		newLeadContactCommand(flags), newLeadReassignCommand(flags))
	return cmd
}

func newLeadListCommand(flags *clientFlags) *cobra.Command {
	var state, sla, rep, after string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List leads, optionally by state, SLA state or rep",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{"limit": {strconv.Itoa(limit)}}
			for key, value := range map[string]string{"state": state, "sla": sla, "rep": rep, "after": after} {
				if value != "" {
					query.Set(key, value)
				}
			}
			var list api.LeadList
			if err := flags.client().Get(cmd.Context(), "/api/v1/leads", query, &list); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "LEAD\tSTATE\tSLA\tREP\tACCOUNT\tDEADLINE\tREMINDED\tALERTED")
			for _, l := range list.Leads {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.OpportunityID, l.State, slaLabel(&l), dash(l.SalesAgent),
					dash(l.AccountName), formatTime(l.SLADeadline, loc), formatTime(l.RemindedAt, loc), formatTime(l.AlertedAt, loc))
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if list.Next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: ordo lead list --after %s\n", list.Next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only leads in this state: open, contacted or closed")
	cmd.Flags().StringVar(&sla, "sla", "", "only leads whose SLA is in this state, e.g. reminded or overdue")
	cmd.Flags().StringVar(&rep, "rep", "", "only leads of this rep")
	cmd.Flags().IntVar(&limit, "limit", 50, "number of leads per page, 1 to 1000")
	cmd.Flags().StringVar(&after, "after", "", "start after this lead id (from the previous page)")
	return cmd
}

// slaLabel names the SLA clock of a lead, e.g. "first_contact/overdue".
func slaLabel(l *store.Lead) string {
	if l.SLAState == "" {
		return "-"
	}
	return l.SLAKind + "/" + l.SLAState
}

func newLeadShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show LEAD_ID",
		Short: "Show a lead with its SLA deadline, reminder and alert times and workflow",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var view api.LeadView
			if err := flags.client().Get(cmd.Context(), "/api/v1/leads/"+url.PathEscape(args[0]), nil, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			printLead(cmd.OutOrStdout(), view, loc)
			return nil
		},
	}
}

func printLead(out io.Writer, view api.LeadView, loc *time.Location) {
	l := view.Lead
	table := newTable(out)
	row := func(name, value string) { fmt.Fprintf(table, "%s\t%s\n", name, value) }
	row("Lead", l.OpportunityID)
	row("State", l.State)
	row("Rep", dash(l.SalesAgent))
	row("Supervisor", dash(l.Supervisor))
	row("Account", dash(l.AccountName))
	row("Product", dash(l.ProductName))
	row("Assigned", formatTime(&l.AssignedAt, loc))
	row("First contact", formatTime(l.FirstContactAt, loc))
	row("Last contact", formatTime(l.LastContactAt, loc))
	row("SLA", slaLabel(l))
	row("Clock started", formatTime(l.SLAStartedAt, loc))
	row("Reminder due", formatTime(l.SLARemindAt, loc))
	row("Deadline", formatTime(l.SLADeadline, loc))
	row("Reminded", formatTime(l.RemindedAt, loc))
	row("Alerted", formatTime(l.AlertedAt, loc))
	if l.SLARulesVersion > 0 {
		row("Rules version", strconv.Itoa(l.SLARulesVersion))
	}
	row("Workflow", dash(l.WorkflowID))
	if view.Live != nil && view.Live.LastError != "" {
		row("Last error", view.Live.LastError)
	}
	if view.LiveError != "" {
		row("Workflow status", "unavailable: "+view.LiveError)
	}
	_ = table.Flush()
}

func newLeadCreateCommand(flags *clientFlags) *cobra.Command {
	var request api.CreateLeadRequest
	cmd := &cobra.Command{
		Use:   "create LEAD_ID --rep REP",
		Short: "Create a lead assigned to a rep and start its response SLA",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			request.ID = args[0]
			var view api.LeadView
			if err := flags.client().Post(cmd.Context(), "/api/v1/leads", request, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lead %s created for %s; its workflow is %s\n", view.Lead.OpportunityID, view.Lead.SalesAgent, dash(view.Lead.WorkflowID))
			return nil
		},
	}
	cmd.Flags().StringVar(&request.Rep, "rep", "", "the rep who must contact the customer, as named in the sales-team data")
	cmd.Flags().StringVar(&request.Account, "account", "", "the customer account")
	cmd.Flags().StringVar(&request.Product, "product", "", "the product of interest")
	return cmd
}

func newLeadContactCommand(flags *clientFlags) *cobra.Command {
	var by, at, channel string
	cmd := &cobra.Command{
		Use:   "contact LEAD_ID",
		Short: "Record a contact with a lead's customer, which ends the current SLA deadline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			request := api.LeadContactRequest{By: by, Channel: channel}
			if at != "" {
				parsed, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("invalid --at %q: write it like 2026-12-05T10:30:00+08:00", at)
				}
				request.At = parsed
			}
			var view api.LeadView
			if err := flags.client().Post(cmd.Context(), "/api/v1/leads/"+url.PathEscape(args[0])+"/contact", request, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "contact with lead %s recorded%s\n", args[0], signalNote(view))
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who made the contact")
	cmd.Flags().StringVar(&at, "at", "", "when the contact happened, RFC 3339 (default now)")
	cmd.Flags().StringVar(&channel, "channel", "", "how, e.g. phone, visit, email or wecom")
	return cmd
}

func newLeadReassignCommand(flags *clientFlags) *cobra.Command {
	var to, by string
	cmd := &cobra.Command{
		Use:   "reassign LEAD_ID --to REP",
		Short: "Give a lead to another rep, which restarts its SLA deadline for them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var view api.LeadView
			err := flags.client().Post(cmd.Context(), "/api/v1/leads/"+url.PathEscape(args[0])+"/reassign",
				api.LeadReassignRequest{To: to, By: by}, &view)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lead %s assigned to %s%s\n", args[0], view.Lead.SalesAgent, signalNote(view))
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the new rep, as named in the sales-team data")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who reassigns, recorded with the reassignment")
	return cmd
}

// signalNote explains a change that the lead's workflow did not receive.
func signalNote(view api.LeadView) string {
	if view.WorkflowSignalled != nil && !*view.WorkflowSignalled {
		return " (its SLA workflow did not receive it now: the workflow has ended or not started yet, or ordo sends it on the next pass)"
	}
	return ""
}
