package main

import (
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
)

func newRenewalCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "renewal",
		Short: "Show contract renewals, move end dates and report actions and renewals",
	}
	flags.register(cmd)
	cmd.AddCommand(newRenewalShowCommand(flags), newRenewalSetEndCommand(flags),
		newRenewalRenewCommand(flags), newRenewalActCommand(flags))
	return cmd
}

func newRenewalShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show CONTRACT_NO",
		Short: "Show a contract's end date, renewal state, reminder and escalation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var view api.RenewalView
			if err := flags.client().Get(cmd.Context(), "/api/v1/contracts/"+url.PathEscape(args[0])+"/renewal", nil, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			printRenewal(cmd.OutOrStdout(), view, loc)
			return nil
		},
	}
}

func printRenewal(out io.Writer, view api.RenewalView, loc *time.Location) {
	endDate := "-"
	if view.EndDate != nil {
		endDate = view.EndDate.Format(time.DateOnly)
	}
	fmt.Fprintf(out, "Contract:   %s (%s)\n", view.ContractNo, view.Customer)
	fmt.Fprintf(out, "End date:   %s\n", endDate)
	fmt.Fprintf(out, "Renewal:    %s\n", view.State)
	fmt.Fprintf(out, "Reminder:   %s\n", formatTime(view.RemindAt, loc))

	for _, tag := range view.Tags {
		status := "open"
		if tag.ClearedAt != nil {
			status = "cleared " + formatTime(tag.ClearedAt, loc) + ": " + tag.ClearedReason
		}
		fmt.Fprintf(out, "Tag:        %s %s since %s (%s)\n", tag.Color, tag.Tag, formatTime(&tag.TaggedAt, loc), status)
	}
	if view.LiveError != "" {
		fmt.Fprintf(out, "Workflow:   %s did not respond to the status query: %s\n", view.WorkflowID, view.LiveError)
	}

	live := view.Live
	if live == nil {
		return
	}
	fmt.Fprintf(out, "Workflow:   %s, term %d, rules version %d\n", view.WorkflowID, live.Cycle, live.RulesVersion)
	if live.Owner != "" {
		fmt.Fprintf(out, "Owner:      %s\n", live.Owner)
	}
	if live.RemindedAt != nil {
		fmt.Fprintf(out, "Reminded:   %s, act by %s\n", formatTime(live.RemindedAt, loc), formatTime(live.ActBy, loc))
	}
	if live.ActedAt != nil {
		fmt.Fprintf(out, "Acted:      %s by %s\n", formatTime(live.ActedAt, loc), live.ActedBy)
	}
	if live.EscalatedAt != nil {
		fmt.Fprintf(out, "Escalated:  %s to %s\n", formatTime(live.EscalatedAt, loc), dash(live.EscalatedTo))
	}
	for _, note := range live.Notes {
		fmt.Fprintf(out, "Note:       %s %s\n", formatTime(&note.At, loc), note.Text)
	}
}

func newRenewalSetEndCommand(flags *clientFlags) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "set-end CONTRACT_NO DATE",
		Short: "Set a contract's end date (YYYY-MM-DD), which moves its renewal reminder",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var answer map[string]string
			if err := flags.client().Post(cmd.Context(), "/api/v1/contracts/"+url.PathEscape(args[0])+"/end-date",
				api.EndDateRequest{EndDate: args[1], By: by}, &answer); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "End date of %s set to %s; its renewal reminder moves with it.\n", args[0], answer["end_date"])
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who changes the end date, recorded with the change")
	return cmd
}

func newRenewalRenewCommand(flags *clientFlags) *cobra.Command {
	var by, until string
	cmd := &cobra.Command{
		Use:   "renew CONTRACT_NO",
		Short: "Report that a contract was renewed, which clears its red tag and ends the reminder",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			request := api.RenewalRequest{Action: api.RenewalActionRenewed, NewEndDate: until, By: by}
			if _, err := postRenewal(cmd, flags, args[0], request); err != nil || flags.json {
				return err
			}
			if until == "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Renewal of %s recorded; no further reminder.\n", args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "Renewal of %s until %s recorded; the next reminder follows that date.\n", args[0], until)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&until, "until", "", "end date of the renewed term, YYYY-MM-DD; without it no further reminder is sent")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who reports the renewal")
	return cmd
}

func newRenewalActCommand(flags *clientFlags) *cobra.Command {
	var by, note string
	cmd := &cobra.Command{
		Use:   "act CONTRACT_NO",
		Short: "Report that someone acted on a renewal reminder, which stops its escalation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			request := api.RenewalRequest{Action: api.RenewalActionActed, Note: note, By: by}
			if _, err := postRenewal(cmd, flags, args[0], request); err != nil || flags.json {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Action on the renewal of %s recorded; it does not escalate.\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "what was done, e.g. \"called the buyer\"")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who acted")
	return cmd
}

// postRenewal sends a renewal action and, under --json, prints the
// response.
func postRenewal(cmd *cobra.Command, flags *clientFlags, contractNo string, request api.RenewalRequest) (map[string]string, error) {
	var answer map[string]string
	if err := flags.client().Post(cmd.Context(), "/api/v1/contracts/"+url.PathEscape(contractNo)+"/renewal", request, &answer); err != nil {
		return nil, err
	}
	if flags.json {
		return answer, printJSON(cmd.OutOrStdout(), answer)
	}
	return answer, nil
}
