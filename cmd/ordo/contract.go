package main

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
)

func newContractCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "contract",
		Short: "Show, list, cancel and resume contract-to-cash chains",
	}
	flags.register(cmd)
	cmd.AddCommand(newContractShowCommand(flags), newContractListCommand(flags),
		newContractActionCommand(flags, "cancel", "Cancel a chain and reverse what it did in the ERP and e-invoice service"),
		newContractActionCommand(flags, "resume", "Resume a chain parked for a person after fixing the cause"),
		newContractVerifyCommand(flags))
	return cmd
}

func newContractShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show CONTRACT_NO",
		Short: "Show every step of a contract's chain with times, document numbers and amounts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var view api.ContractView
			if err := flags.client().Get(cmd.Context(), "/api/v1/contracts/"+url.PathEscape(args[0]), nil, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			return printContract(cmd.OutOrStdout(), view, loc)
		},
	}
}

func newContractListCommand(flags *clientFlags) *cobra.Command {
	var state string
	var limit int
	var after string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List contracts, optionally by state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{"limit": {strconv.Itoa(limit)}}
			if state != "" {
				query.Set("state", state)
			}
			if after != "" {
				query.Set("after", after)
			}
			var list api.ContractList
			if err := flags.client().Get(cmd.Context(), "/api/v1/contracts", query, &list); err != nil {
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
			fmt.Fprintln(table, "CONTRACT\tSTATE\tCUSTOMER\tAMOUNT\tPAID\tSIGNED\tCLOSED")
			for _, c := range list.Contracts {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", c.ContractNo, c.State, c.AccountName,
					c.Amount.StringFixed(2), c.Currency, c.PaidAmount.StringFixed(2),
					c.SignedOn.Format("2006-01-02"), formatTime(c.ClosedAt, loc))
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if list.Next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: ordo contract list --after %s\n", list.Next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only contracts in this state, e.g. needs_attention or closed")
	cmd.Flags().IntVar(&limit, "limit", 50, "number of contracts per page, 1 to 1000")
	cmd.Flags().StringVar(&after, "after", "", "start after this contract number (from the previous page)")
	return cmd
}

func newContractActionCommand(flags *clientFlags, action, short string) *cobra.Command {
	var reason, by string
	cmd := &cobra.Command{
		Use:   action + " CONTRACT_NO",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var answer map[string]string
			err := flags.client().Post(cmd.Context(), "/api/v1/contracts/"+url.PathEscape(args[0])+"/"+action,
				api.ActionRequest{Reason: reason, By: by}, &answer)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s requested for %s\n", action, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why; required for cancel")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who asks, recorded with the action")
	return cmd
}
