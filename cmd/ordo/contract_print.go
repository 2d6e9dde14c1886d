package main

import (
	"fmt"
	"io"
	"os/user"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/api"
)

// describeVATRate returns the VAT rate of a contract and where the
// rate comes from, as one line of text.
func describeVATRate(rate api.VATRate) string {
	percent := func(r decimal.Decimal) string { return r.Shift(2).String() + "%" }
	var text string
	if rate.Source == api.VATRateInvoice {
		text = percent(rate.Rate) + " as invoiced"
		if rate.InvoiceNo != "" {
			text += " on " + rate.InvoiceNo
		}
	} else {
		text = percent(rate.Rate) + " expected, the rate in force today, because no invoice is requested yet"
	}
	if rate.SigningRate != nil {
		text += fmt.Sprintf(" (%s on the signing date)", percent(*rate.SigningRate))
	}
	return text
}

func printContract(out io.Writer, view api.ContractView, loc *time.Location) error {
	c := view.Contract
	fmt.Fprintf(out, "Contract %s  %s  %s\n", c.ContractNo, c.AccountName, c.ProductName)
	fmt.Fprintf(out, "State:    %s", c.State)
	if c.StateReason != "" {
		fmt.Fprintf(out, " (%s)", c.StateReason)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "Amount:   %s %s incl. VAT, paid %s\n", c.Amount.StringFixed(2), c.Currency, c.PaidAmount.StringFixed(2))
	fmt.Fprintf(out, "VAT rate: %s\n", describeVATRate(view.VATRate))
	fmt.Fprintf(out, "Signed:   %s by %s\n", c.SignedOn.Format("2006-01-02"), dash(c.SalesAgent))
	fmt.Fprintf(out, "Workflow: %s (started %s)\n", c.WorkflowID, formatTime(c.WorkflowStartedAt, loc))
	if c.ClosedAt != nil {
		fmt.Fprintf(out, "Ended:    %s\n", formatTime(c.ClosedAt, loc))
	}

	fmt.Fprintln(out)
	table := newTable(out)
	fmt.Fprintln(table, "STEP\tSTATE\tDOCUMENT\tAMOUNT\tSTARTED\tFINISHED\tTRIES\tDETAIL")
	for _, s := range view.Steps {
		amount := "-"
		if s.Amount.Valid {
			amount = s.Amount.Decimal.StringFixed(2)
		}
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Step, s.State, dash(s.ExternalNo), amount,
			formatTime(s.StartedAt, loc), formatTime(s.FinishedAt, loc), s.Attempts, s.Detail)
	}
	if err := table.Flush(); err != nil {
		return err
	}

	if len(view.Instalments) > 0 {
		fmt.Fprintln(out)
		table = newTable(out)
		fmt.Fprintln(table, "INSTALMENT\tDUE ON\tAMOUNT\tPAID\tPAID AT")
		for _, p := range view.Instalments {
			fmt.Fprintf(table, "%d %s\t%s\t%s\t%s\t%s\n", p.Seq, p.Label, p.TriggerOn, p.Amount.StringFixed(2),
				p.PaidAmount.StringFixed(2), formatTime(p.PaidAt, loc))
		}
		if err := table.Flush(); err != nil {
			return err
		}
	}
	if len(view.Allocations) > 0 {
		fmt.Fprintln(out)
		table = newTable(out)
		fmt.Fprintln(table, "RECEIPT\tAMOUNT\tMATCHED BY\tDELIVERED")
		for _, a := range view.Allocations {
			fmt.Fprintf(table, "%s\t%s\t%s\t%s\n", a.LineID, a.Amount.StringFixed(2), a.Method, formatTime(a.DeliveredAt, loc))
		}
		if err := table.Flush(); err != nil {
			return err
		}
	}
	if len(view.Attention) > 0 {
		fmt.Fprintln(out)
		for _, item := range view.Attention {
			status := "open"
			if item.ResolvedAt != nil {
				status = "resolved by " + item.ResolvedBy
			}
			fmt.Fprintf(out, "! %s (%s): %s\n", item.Kind, status, item.Message)
		}
	}
	if view.LiveError != "" {
		fmt.Fprintf(out, "\n(live workflow status unavailable: %s)\n", view.LiveError)
	}
	return nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}
