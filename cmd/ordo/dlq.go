package main

import (
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/store"
)

func newDLQCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List and retry ERP records the sync could not apply (dead letters)",
	}
	flags.register(cmd)
	cmd.AddCommand(newDLQListCommand(flags), newDLQRetryCommand(flags))
	return cmd
}

func newDLQListCommand(flags *clientFlags) *cobra.Command {
	var state, syncName string
	var limit int
	var after int64
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{}
			if state != "" {
				query.Set("state", state)
			}
			if syncName != "" {
				query.Set("sync", syncName)
			}
			query.Set("limit", strconv.Itoa(limit))
			if after > 0 {
				query.Set("after", strconv.FormatInt(after, 10))
			}
			var list api.DeadLetterList
			if err := flags.client().Get(cmd.Context(), "/api/v1/dead-letters", query, &list); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			if len(list.DeadLetters) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No dead letters.")
				return nil
			}
			table := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(table, "ID\tSYNC\tRECORD\tSTATE\tATTEMPTS\tERROR")
			for _, letter := range list.DeadLetters {
				fmt.Fprintf(table, "%d\t%s\t%s\t%s\t%d\t%s\n", letter.ID, letter.SyncName, letter.RecordKey, letter.State, letter.Attempts, letter.Error)
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if list.Next != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\nMore dead letters follow: run again with --after %s.\n", list.Next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "open", "open, requeued or resolved; empty lists all")
	cmd.Flags().StringVar(&syncName, "sync", "", "only this sync, e.g. customers or documents:SAL_SaleOrder")
	cmd.Flags().IntVar(&limit, "limit", 100, "maximum number of dead letters to list (1 to 1000)")
	cmd.Flags().Int64Var(&after, "after", 0, "list the dead letters older than this id, the last of the previous page")
	return cmd
}

func newDLQRetryCommand(flags *clientFlags) *cobra.Command {
	var request api.RetryRequest
	cmd := &cobra.Command{
		Use:   "retry ID --by NAME",
		Short: "Apply a dead letter's record again; success marks it resolved, and either outcome is audited",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return fmt.Errorf("dead letter id %q is invalid: use the numeric id from ordo dlq list", args[0])
			}
			var result erpsync.RetryResult
			if err := flags.client().Post(cmd.Context(), "/api/v1/dead-letters/"+args[0]+"/retry", request, &result); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), result)
			}
			letter := result.DeadLetter
			if result.Outcome == erpsync.OutcomeResolved {
				fmt.Fprintf(cmd.OutOrStdout(), "Dead letter %d (%s %s) applied and resolved.\n", letter.ID, letter.SyncName, letter.RecordKey)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Dead letter %d (%s %s) failed again and stays open after %d attempts: %s\n",
				letter.ID, letter.SyncName, letter.RecordKey, letter.Attempts, letter.Error)
			return nil
		},
	}
	cmd.Flags().StringVar(&request.By, "by", currentUser(), "operator name for the audit entry")
	return cmd
}

func newSyncCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Show the state of the scheduled ERP sync",
	}
	flags.register(cmd)
	status := &cobra.Command{
		Use:   "status",
		Short: "Show each sync's watermark, stored and dead-lettered counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var result struct {
				Syncs      []store.SyncCursor `json:"syncs"`
				Unresolved int                `json:"unresolved_dead_letters"`
			}
			if err := flags.client().Get(cmd.Context(), "/api/v1/sync/status", nil, &result); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), result)
			}
			table := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(table, "SYNC\tWATERMARK\tLAST ID\tSTORED\tDEAD\tLAST RUN")
			for _, cursor := range result.Syncs {
				lastRun := "-"
				if cursor.LastRunAt != nil {
					lastRun = cursor.LastRunAt.Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(table, "%s\t%s\t%d\t%d\t%d\t%s\n", cursor.Name, cursor.ModifiedAt, cursor.LastID, cursor.Stored, cursor.Dead, lastRun)
			}
			if err := table.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Unresolved dead letters: %d\n", result.Unresolved)
			return nil
		},
	}
	cmd.AddCommand(status)
	return cmd
}
