package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/store"
)

func newAttentionCommand() *cobra.Command {
	flags := &clientFlags{}
	var all bool
	var kind string
	var limit int
	var after string
	cmd := &cobra.Command{
		Use:   "attention",
		Short: "List what needs a person: parked chains, unmatched receipts, over-payments and refunds",
		Long: "List attention items, newest first. Without --limit it fetches every page and prints all items; " +
			"with --limit it prints one page and the command for the next.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{}
			if all {
				query.Set("all", "true")
			}
			if kind != "" {
				query.Set("kind", kind)
			}
			onePage := cmd.Flags().Changed("limit")
			if onePage {
				query.Set("limit", strconv.Itoa(limit))
			}
			answer, err := fetchAttention(cmd.Context(), flags.client(), query, after, onePage)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			if len(answer.Items) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "Nothing needs attention.")
				return nil
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "ID\tKIND\tCONTRACT\tSINCE\tSTATUS\tMESSAGE")
			for _, item := range answer.Items {
				status := "open"
				if item.ResolvedAt != nil {
					status = "resolved"
				}
				fmt.Fprintf(table, "%d\t%s\t%s\t%s\t%s\t%s\n", item.ID, item.Kind, dash(item.ContractNo),
					formatTime(&item.CreatedAt, loc), status, item.Message)
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if answer.Next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d more: ordo attention --limit %d --after %s\n", answer.Remaining, limit, answer.Next)
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "print one page of this many items, 1 to 1000, instead of every item")
	cmd.Flags().StringVar(&after, "after", "", "start after this item id (from the previous page)")
	cmd.Flags().BoolVar(&all, "all", false, "include resolved items")
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind: chain_parked, unmatched_receipt, overpayment, refund_due, allocation_undeliverable, signing_verification or verification_unchecked")
	return cmd
}

// fetchAttention returns the attention items that query selects after the
// item id after. Unless onePage is set it follows "next" to the last page
// and returns every item in one list.
func fetchAttention(ctx context.Context, client *apiclient.Client, query url.Values, after string, onePage bool) (api.AttentionList, error) {
	all := api.AttentionList{Items: []store.AttentionItem{}}
	for {
		if after != "" {
			query.Set("after", after)
		}
		var page api.AttentionList
		if err := client.Get(ctx, "/api/v1/attention", query, &page); err != nil {
			return api.AttentionList{}, err
		}
		all.Items = append(all.Items, page.Items...)
		all.Next, all.Remaining = page.Next, page.Remaining
		if onePage || page.Next == "" {
			return all, nil
		}
		after = page.Next
	}
}

func newReceiptCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "receipt",
		Short: "List bank receipts and assign unmatched ones to contracts",
	}
	flags.register(cmd)
	var status string
	list := &cobra.Command{
		Use:   "list",
		Short: "List bank statement lines, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{}
			if status != "" {
				query.Set("status", status)
			}
			var answer struct {
				Lines []store.BankLine `json:"lines"`
			}
			if err := flags.client().Get(cmd.Context(), "/api/v1/bank-lines", query, &answer); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "LINE\tDATE\tAMOUNT\tPAYER\tREMARK\tSTATUS\tNOTE")
			for _, l := range answer.Lines {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.LineID, l.BusinessDate, l.AmountText, l.PayerName,
					dash(l.Remark), l.Status, l.Note)
			}
			return table.Flush()
		},
	}
	list.Flags().StringVar(&status, "status", "", "only lines with this status: matched, unmatched or ignored")
	var by string
	assign := &cobra.Command{
		Use:   "assign LINE_ID CONTRACT_NO",
		Short: "Allocate an unmatched bank line to a contract",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var allocation store.Allocation
			if err := flags.client().Post(cmd.Context(), "/api/v1/bank-lines/"+url.PathEscape(args[0])+"/assign",
				api.AssignRequest{ContractNo: args[1], By: by}, &allocation); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), allocation)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Allocated %s of line %s to %s; the chain receives it within seconds.\n",
				allocation.Amount.StringFixed(2), allocation.LineID, allocation.ContractNo)
			return nil
		},
	}
	assign.Flags().StringVar(&by, "by", currentUser(), "who decides, recorded with the allocation")
	cmd.AddCommand(list, assign, newReceiptUnassignCommand(flags))
	return cmd
}

func newReceiptUnassignCommand(flags *clientFlags) *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "unassign LINE_ID --reason TEXT",
		Short: "Take back the assignment of a bank line before its contract's chain counts it as paid",
		Long: "Delete the allocations of a matched bank line, return the line to unmatched and reopen its attention item. " +
			"The person and reason are kept in the allocation audit. A line whose payment the chain has received already is rejected.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var result api.UnassignResponse
			if err := flags.client().Post(cmd.Context(), "/api/v1/bank-lines/"+url.PathEscape(args[0])+"/unassign",
				api.UnassignRequest{By: by, Reason: reason}, &result); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), result)
			}
			for _, allocation := range result.Allocations {
				fmt.Fprintf(cmd.OutOrStdout(), "Took back %s of line %s from %s.\n",
					allocation.Amount.StringFixed(2), allocation.LineID, allocation.ContractNo)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Line %s is unmatched again; assign it with: ordo receipt assign %s CONTRACT_NO\n",
				args[0], args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who decides, recorded in the allocation audit")
	cmd.Flags().StringVar(&reason, "reason", "", "why the assignment is wrong, recorded in the allocation audit (required)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func newStatusCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count contracts by state and open attention items",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var summary api.Summary
			if err := flags.client().Get(cmd.Context(), "/api/v1/summary", nil, &summary); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), summary)
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "STATE\tCONTRACTS")
			for _, c := range summary.Contracts {
				fmt.Fprintf(table, "%s\t%d\n", c.State, c.Count)
			}
			fmt.Fprintf(table, "total\t%d\n", summary.Total)
			if err := table.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nOpen attention items: %d\n", summary.OpenAttention)
			return nil
		},
	}
	flags.register(cmd)
	return cmd
}
