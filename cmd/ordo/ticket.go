package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
)

func newTicketCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "ticket",
		Short: "Open, list, show, answer and return customers' feature requests to other departments",
	}
	flags.register(cmd)
	cmd.AddCommand(newTicketOpenCommand(flags), newTicketListCommand(flags), newTicketShowCommand(flags),
		newTicketAnswerCommand(flags), newTicketReturnCommand(flags))
	return cmd
}

func newTicketOpenCommand(flags *clientFlags) *cobra.Command {
	var request api.TicketRequest
	cmd := &cobra.Command{
		Use:   "open --customer NAME --title TEXT [--body TEXT]",
		Short: "Open a ticket for a customer's request, routed to the role in the rules' tickets.route_to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var view api.TicketView
			if err := flags.client().Post(cmd.Context(), "/api/v1/tickets", request, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Opened ticket %s for %s (workflow %s, %s).\n",
				view.Ticket.ID, view.Ticket.Customer, view.WorkflowID, view.Status)
			return nil
		},
	}
	cmd.Flags().StringVar(&request.Customer, "customer", "", "account name of the customer (required)")
	cmd.Flags().StringVar(&request.Title, "title", "", "what the customer asks for, in one line (required)")
	cmd.Flags().StringVar(&request.Body, "body", "", "details of the request")
	cmd.Flags().StringVar(&request.From, "from", currentUser(), "who raises the ticket")
	return cmd
}

func newTicketListCommand(flags *clientFlags) *cobra.Command {
	var state, customer string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tickets, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			query := url.Values{}
			if state != "" {
				query.Set("state", state)
			}
			if customer != "" {
				query.Set("customer", customer)
			}
			var list api.TicketList
			if err := flags.client().Get(cmd.Context(), "/api/v1/tickets", query, &list); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			if len(list.Tickets) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No tickets.")
				return nil
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "ID\tSTATE\tCUSTOMER\tTITLE\tROUTED TO\tCREATED\tRESPOND BY")
			for _, t := range list.Tickets {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.State, t.Customer, t.Title,
					dash(t.RoutedTo), formatTime(&t.CreatedAt, loc), formatTime(t.RespondBy, loc))
			}
			return table.Flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only tickets in this state: open, escalated, answered or returned")
	cmd.Flags().StringVar(&customer, "customer", "", "only tickets of this customer")
	return cmd
}

func newTicketShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a ticket with its deadline, escalation and freeze",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ticketID(args[0])
			if err != nil {
				return err
			}
			var view api.TicketView
			if err := flags.client().Get(cmd.Context(), "/api/v1/tickets/"+url.PathEscape(id), nil, &view); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), view)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			printTicket(cmd.OutOrStdout(), view, loc)
			return nil
		},
	}
}

func printTicket(out io.Writer, view api.TicketView, loc *time.Location) {
	t := view.Ticket
	fmt.Fprintf(out, "Ticket:     %s %s\n", t.ID, t.Title)
	fmt.Fprintf(out, "Customer:   %s\n", t.Customer)
	fmt.Fprintf(out, "From:       %s\n", t.From)
	fmt.Fprintf(out, "State:      %s\n", t.State)
	fmt.Fprintf(out, "Routed to:  %s (rules version %d)\n", dash(t.RoutedTo), t.RulesVersion)
	fmt.Fprintf(out, "Created:    %s\n", formatTime(&t.CreatedAt, loc))
	fmt.Fprintf(out, "Respond by: %s\n", formatTime(t.RespondBy, loc))
	if t.EscalatedAt != nil {
		fmt.Fprintf(out, "Escalated:  %s\n", formatTime(t.EscalatedAt, loc))
	}
	if t.AnsweredAt != nil {
		fmt.Fprintf(out, "Answered:   %s by %s: %s\n", formatTime(t.AnsweredAt, loc), t.AnsweredBy, t.Answer)
	}
	if t.ReturnedAt != nil {
		fmt.Fprintf(out, "Returned:   %s by %s: %s\n", formatTime(t.ReturnedAt, loc), t.ReturnedBy, t.ReturnReason)
	}
	if f := view.Freeze; f != nil {
		lifted := "in force"
		if f.LiftedAt != nil {
			lifted = "lifted " + formatTime(f.LiftedAt, loc) + " by " + f.LiftedBy
		}
		fmt.Fprintf(out, "Freeze:     renewal approval of %s frozen %s, %s\n", f.Customer, formatTime(&f.FrozenAt, loc), lifted)
	}
	if t.Body != "" {
		fmt.Fprintf(out, "\n%s\n", t.Body)
	}
	if view.LiveError != "" {
		fmt.Fprintf(out, "\nWorkflow %s did not respond to the status query: %s\n", view.WorkflowID, view.LiveError)
	}
	if view.Live != nil {
		for _, note := range view.Live.Notes {
			fmt.Fprintf(out, "Note:       %s\n", note)
		}
	}
}

func newTicketAnswerCommand(flags *clientFlags) *cobra.Command {
	var request api.TicketAnswerRequest
	cmd := &cobra.Command{
		Use:   "answer ID --answer TEXT",
		Short: "Answer a ticket, which lifts the renewal-approval freeze it set",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return postTicketAction(cmd, flags, args[0], "answer", request, "Answer to ticket %s sent.\n")
		},
	}
	cmd.Flags().StringVar(&request.Answer, "answer", "", "the department's answer (required)")
	cmd.Flags().StringVar(&request.By, "by", currentUser(), "who answers")
	return cmd
}

func newTicketReturnCommand(flags *clientFlags) *cobra.Command {
	var request api.TicketReturnRequest
	cmd := &cobra.Command{
		Use:   "return ID --reason TEXT",
		Short: "Return a ticket to its sender, which counts as blocked",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return postTicketAction(cmd, flags, args[0], "return", request, "Ticket %s returned to its sender.\n")
		},
	}
	cmd.Flags().StringVar(&request.Reason, "reason", "", "what the sender must add or change (required)")
	cmd.Flags().StringVar(&request.By, "by", currentUser(), "who returns the ticket")
	return cmd
}

func postTicketAction(cmd *cobra.Command, flags *clientFlags, arg, action string, request any, done string) error {
	id, err := ticketID(arg)
	if err != nil {
		return err
	}
	var answer map[string]string
	if err := flags.client().Post(cmd.Context(), "/api/v1/tickets/"+url.PathEscape(id)+"/"+action, request, &answer); err != nil {
		return err
	}
	if flags.json {
		return printJSON(cmd.OutOrStdout(), answer)
	}
	fmt.Fprintf(cmd.OutOrStdout(), done, id)
	return nil
}

// ticketID checks a ticket ID argument before it goes into a URL path.
func ticketID(arg string) (string, error) {
	id := strings.ToUpper(strings.TrimSpace(arg))
	if !strings.HasPrefix(id, "TK-") || len(id) != len("TK-")+10 {
		return "", fmt.Errorf("ticket ID %q is not TK- and ten hex digits, such as TK-3F9A0C71D2: see ordo ticket list", arg)
	}
	return id, nil
}
