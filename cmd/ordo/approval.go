package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

func newApprovalCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "Request, list, show and decide discount, price-change and renewal approvals",
	}
	flags.register(cmd)
	cmd.AddCommand(newApprovalRequestCommand(flags), newApprovalListCommand(flags), newApprovalShowCommand(flags),
		newApprovalDecideCommand(flags, store.DecisionApprove, "Approve the level of an approval that waits for you"),
		newApprovalDecideCommand(flags, store.DecisionReject, "Reject an approval at the level that waits for you"),
		newApprovalRetryERPCommand(flags))
	return cmd
}

func newApprovalRequestCommand(flags *clientFlags) *cobra.Command {
	var req api.ApprovalRequest
	var amount, newPrice string
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Request an approval; the amount picks the route from the rules",
		Example: `  ordo approval request --kind discount --customer Cancity --requested-by "Moses Frase" \
    --amount 45000 --currency CNY --reason "competitor offered 8% less"
  ordo approval request --kind price_change --customer Cancity --product "GTX Basic" \
    --requested-by "Moses Frase" --amount 12000 --currency CNY --new-unit-price 480.50 --reason "volume deal"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if req.Amount, err = decimal.NewFromString(amount); err != nil {
				return fmt.Errorf("invalid --amount %q: write a number such as 45000 or 1054.10", amount)
			}
			if newPrice != "" {
				price, err := decimal.NewFromString(newPrice)
				if err != nil {
					return fmt.Errorf("invalid --new-unit-price %q: write a number such as 480.50", newPrice)
				}
				req.NewUnitPrice = &price
			}

			var answer api.ApprovalAnswer
			if err := flags.client().Post(cmd.Context(), "/api/v1/approvals", req, &answer); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "approval %s %s; follow it with: ordo approval show %s\n", answer.ID, answer.Status, answer.ID)
			return nil
		},
	}

	f := cmd.Flags()
	f.StringVar(&req.ID, "id", "", "request id; empty lets ordo choose one, and the same id with the same terms is safe to send again")
	f.StringVar(&req.Kind, "kind", "", "discount, price_change or renewal")
	f.StringVar(&req.Customer, "customer", "", "account name of the customer")
	f.StringVar(&req.ContractNo, "contract", "", "contract number the request is about, if any")
	f.StringVar(&req.Product, "product", "", "catalogue product name; required for a price change")
	f.StringVar(&req.RequestedBy, "requested-by", "", "sales rep who asks; their manager approves the supervisor level")
	f.StringVar(&amount, "amount", "", "what the request is worth, compared with the rules' thresholds")
	f.StringVar(&req.Currency, "currency", "", "ISO 4217 currency of --amount and --new-unit-price; default the configured currency")
	f.StringVar(&newPrice, "new-unit-price", "", "new tax-inclusive unit price of a price change")
	f.StringVar(&req.Reason, "reason", "", "why the request is needed")
	f.IntVar(&req.RulesVersion, "rules-version", 0, "rules version to route by; 0 takes the newest")
	for _, name := range []string{"kind", "customer", "requested-by", "amount", "reason"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newApprovalListCommand(flags *clientFlags) *cobra.Command {
	var state, after string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List approvals, optionally by state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{"limit": {strconv.Itoa(limit)}}
			if state != "" {
				query.Set("state", state)
			}
			if after != "" {
				query.Set("after", after)
			}
			var list api.ApprovalList
			if err := flags.client().Get(cmd.Context(), "/api/v1/approvals", query, &list); err != nil {
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
			fmt.Fprintln(table, "ID\tKIND\tSTATE\tCUSTOMER\tAMOUNT\tLEVEL\tAPPROVER\tDUE\tREQUESTED BY")
			for _, a := range list.Approvals {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", a.ID, a.Kind, a.State, a.Customer,
					a.Amount.StringFixed(2), a.Currency, levelText(a), dash(approverText(a)), formatTime(a.DueAt, loc), a.RequestedBy)
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if list.Next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: ordo approval list --after %s\n", list.Next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only approvals in this state: pending, approved, rejected, timed_out or failed")
	cmd.Flags().IntVar(&limit, "limit", 50, "number of approvals per page, 1 to 1000")
	cmd.Flags().StringVar(&after, "after", "", "start after this approval id (from the previous page)")
	return cmd
}

func newApprovalShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an approval's route, the level that waits and every decision",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var view api.ApprovalView
			if err := flags.client().Get(cmd.Context(), "/api/v1/approvals/"+url.PathEscape(args[0]), nil, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			return printApproval(cmd.OutOrStdout(), view, loc)
		},
	}
}

func newApprovalDecideCommand(flags *clientFlags, decision, short string) *cobra.Command {
	var by, comment string
	cmd := &cobra.Command{
		Use:   decision + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var result workflows.DecideResult
			err := flags.client().Post(cmd.Context(), "/api/v1/approvals/"+url.PathEscape(args[0])+"/decide",
				api.DecideRequest{Decision: decision, By: by, Comment: comment}, &result)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), result)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "level %d of approval %s: %s by %s; the approval is now %s\n",
				result.Level, result.ApprovalID, result.Decision, result.By, result.State)
			if result.NextApprover != "" {
				fmt.Fprintf(out, "level %d waits for %s\n", result.NextLevel, result.NextApprover)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "your name as the rules or the sales-team data write it")
	cmd.Flags().StringVar(&comment, "comment", "", "why, recorded with the decision")
	_ = cmd.MarkFlagRequired("by")
	return cmd
}

func newApprovalRetryERPCommand(flags *clientFlags) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "retry-erp ID",
		Short: "Retry the ERP write of an approved price change after fixing why it failed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var answer map[string]string
			if err := flags.client().Post(cmd.Context(), "/api/v1/approvals/"+url.PathEscape(args[0])+"/retry-erp",
				api.RetryERPRequest{By: by}, &answer); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ERP write of approval %s requested again\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who asks, recorded in the workflow's log")
	return cmd
}

func printApproval(out io.Writer, view api.ApprovalView, loc *time.Location) error {
	a := view.Approval
	fmt.Fprintf(out, "Approval %s  %s  %s\n", a.ID, a.Kind, a.Customer)
	fmt.Fprintf(out, "State:     %s\n", a.State)
	amount := a.Amount.StringFixed(2) + " " + a.Currency
	if a.AmountInRuleCurrency.Valid && a.RuleCurrency != a.Currency {
		amount += fmt.Sprintf(" (%s %s at %s)", a.AmountInRuleCurrency.Decimal.StringFixed(2), a.RuleCurrency, a.ExchangeRate.Decimal)
	}
	fmt.Fprintf(out, "Amount:    %s\n", amount)

	if a.NewUnitPrice.Valid {
		fmt.Fprintf(out, "New price: %s %s for %s\n", a.NewUnitPrice.Decimal.String(), a.Currency, a.Product)
	}
	if a.ContractNo != "" {
		fmt.Fprintf(out, "Contract:  %s\n", a.ContractNo)
	}
	fmt.Fprintf(out, "Requested: by %s at %s: %s\n", a.RequestedBy, formatTime(&a.CreatedAt, loc), a.Reason)

	fmt.Fprintf(out, "Route:     %s (rules version %d)\n", dash(a.Route), a.RulesVersion)
	if a.State == store.ApprovalPending && a.CurrentLevel > 0 {
		fmt.Fprintf(out, "Waiting:   level %s for %s, due %s\n", levelText(*a), approverText(*a), formatTime(a.DueAt, loc))
	}

	if a.ERPDocumentNo != "" {
		fmt.Fprintf(out, "ERP:       price list %s\n", a.ERPDocumentNo)
	}
	if a.ERPError != "" {
		fmt.Fprintf(out, "ERP error: %s\n", a.ERPError)
	}
	if a.Failure != "" {
		fmt.Fprintf(out, "Failure:   %s\n", a.Failure)
	}
	if len(a.Decisions) > 0 {
		fmt.Fprintln(out)
		table := newTable(out)
		fmt.Fprintln(table, "LEVEL\tDECISION\tBY\tAT\tCOMMENT")
		for _, d := range a.Decisions {
			at := d.DecidedAt
			fmt.Fprintf(table, "%d\t%s\t%s\t%s\t%s\n", d.Level, d.Decision, d.By, formatTime(&at, loc), d.Comment)
		}
		if err := table.Flush(); err != nil {
			return err
		}
	}
	if view.LiveError != "" {
		fmt.Fprintf(out, "\n(live workflow status unavailable: %s)\n", view.LiveError)
	}
	return nil
}

func levelText(a store.Approval) string {
	if a.CurrentLevel == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", a.CurrentLevel, a.LevelCount)
}

// approverText names who may decide the current level.
func approverText(a store.Approval) string {
	names := []string{}
	if a.Approver != "" {
		names = append(names, a.Approver)
	}
	if a.EscalatedTo != "" && a.EscalatedTo != a.Approver {
		names = append(names, a.EscalatedTo+" (escalated)")
	}
	return strings.Join(names, " or ")
}
