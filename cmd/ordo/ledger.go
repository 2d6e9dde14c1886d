package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/simulators"
	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	feishusim "github.com/ordo-project/ordo/internal/simulators/feishu"
	smssim "github.com/ordo-project/ordo/internal/simulators/sms"
	smtpsim "github.com/ordo-project/ordo/internal/simulators/smtp"
	wecomsim "github.com/ordo-project/ordo/internal/simulators/wecom"
)

func newDevLedgerCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Count the documents the simulators created, per kind, with contracts that got more than one, the mail the SMTP sink received and the messages the WeCom, DingTalk, Feishu and SMS simulators received",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var answer struct {
				Kinds    []simulators.KindCount `json:"kinds"`
				Mail     *smtpsim.MailSummary   `json:"mail,omitempty"`
				WeCom    *wecomsim.Summary      `json:"wecom,omitempty"`
				DingTalk *dingtalksim.Summary   `json:"dingtalk,omitempty"`
				Feishu   *feishusim.Summary     `json:"feishu,omitempty"`
				SMS      *smssim.Summary        `json:"sms,omitempty"`
			}
			if err := flags.client().Get(cmd.Context(), "/api/v1/dev/ledger", nil, &answer); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "SYSTEM\tKIND\tDOCUMENTS\tCONTRACTS\tCONTRACTS WITH DUPLICATES")
			for _, k := range answer.Kinds {
				fmt.Fprintf(table, "%s\t%s\t%d\t%d\t%d\n", k.System, k.Kind, k.Documents, k.Contracts, k.Duplicated)
			}
			if err := table.Flush(); err != nil {
				return err
			}
			if m := answer.Mail; m != nil {
				fmt.Fprintln(cmd.OutOrStdout())
				mail := newTable(cmd.OutOrStdout())
				fmt.Fprintln(mail, "MAIL\tMESSAGES\tMESSAGE-IDS\tDUPLICATED MESSAGE-IDS\tDUPLICATE COPIES\tWITHOUT MESSAGE-ID")
				fmt.Fprintf(mail, "smtp sink\t%d\t%d\t%d\t%d\t%d\n", m.Messages, m.MessageIDs, m.Duplicated, m.DuplicateCopies, m.WithoutID)
				if err := mail.Flush(); err != nil {
					return err
				}
			}
			if w := answer.WeCom; w != nil {
				fmt.Fprintln(cmd.OutOrStdout())
				messages := newTable(cmd.OutOrStdout())
				fmt.Fprintln(messages, "WECOM\tDELIVERED\tDISTINCT\tDUPLICATE COPIES\tDUPLICATES SUPPRESSED\tDROPPED OVER LIMIT\tREJECTED 45009\tINVALID USER")
				fmt.Fprintf(messages, "wecom simulator\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", w.Delivered, w.DistinctDelivered, w.DuplicateCopies,
					w.DuplicateSuppressed, w.Dropped, w.RateLimited, w.InvalidUser)
				if err := messages.Flush(); err != nil {
					return err
				}
			}
			if m := answer.SMS; m != nil {
				fmt.Fprintln(cmd.OutOrStdout())
				texts := newTable(cmd.OutOrStdout())
				fmt.Fprintln(texts, "SMS\tDELIVERED\tDISTINCT\tDUPLICATE COPIES\tREJECTED")
				fmt.Fprintf(texts, "sms simulator\t%d\t%d\t%d\t%d\n", m.Delivered, m.DistinctDelivered, m.DuplicateCopies, m.Rejected)
				if err := texts.Flush(); err != nil {
					return err
				}
			}
			return printChatLedger(cmd.OutOrStdout(), answer.DingTalk, answer.Feishu)
		},
	}
	flags.register(cmd)
	return cmd
}
