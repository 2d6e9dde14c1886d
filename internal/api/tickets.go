package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/api/serviceerror"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/tickets"
	"github.com/ordo-project/ordo/workflows"
)

// Limits of a ticket's text fields, in characters.
const (
	maxTicketTitle = 200
	maxTicketBody  = 20000
)

// TicketRequest is the body of POST /api/v1/tickets.
type TicketRequest struct {
	// Customer is the account name; case and surrounding space do not
	// matter.
	Customer string `json:"customer"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	// From is the person who raises the ticket for the customer.
	From string `json:"from"`
}

// TicketAnswerRequest is the body of POST /api/v1/tickets/{id}/answer.
type TicketAnswerRequest struct {
	Answer string `json:"answer"`
	By     string `json:"by"`
}

// TicketReturnRequest is the body of POST /api/v1/tickets/{id}/return.
type TicketReturnRequest struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
}

// TicketView is a ticket as stored and, when its workflow responds to the
// status query, as the workflow sees it.
type TicketView struct {
	Ticket     *store.Ticket `json:"ticket"`
	WorkflowID string        `json:"workflow_id"`
	// Freeze is the renewal-approval freeze the ticket set, if any.
	Freeze    *store.CustomerFreeze   `json:"freeze,omitempty"`
	Live      *workflows.TicketStatus `json:"live,omitempty"`
	LiveError string                  `json:"live_error,omitempty"`
	// Status is "started" when the workflow started, or "recorded" when the
	// ticket is stored and the starter's loop starts it within seconds.
	Status string `json:"status,omitempty"`
}

// TicketList is a list of tickets, newest first.
type TicketList struct {
	Tickets []store.Ticket `json:"tickets"`
}

func (s *Server) openTicket(w http.ResponseWriter, r *http.Request) {
	if s.Tickets == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this ordo process does not run tickets")
		return
	}
	var req TicketRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	title, from, body := strings.TrimSpace(req.Title), strings.TrimSpace(req.From), strings.TrimSpace(req.Body)
	switch {
	case strings.TrimSpace(req.Customer) == "":
		writeError(w, http.StatusBadRequest, "invalid_argument", "customer is required: name the account the request comes from")
		return
	case title == "":
		writeError(w, http.StatusBadRequest, "invalid_argument", "title is required: say what the customer asks for in one line")
		return
	case utf8.RuneCountInString(title) > maxTicketTitle:
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("title has %d characters: use at most %d and put the rest in body",
			utf8.RuneCountInString(title), maxTicketTitle))
		return
	case utf8.RuneCountInString(body) > maxTicketBody:
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("body has %d characters: use at most %d",
			utf8.RuneCountInString(body), maxTicketBody))
		return
	case from == "":
		writeError(w, http.StatusBadRequest, "invalid_argument", "from is required: name the person who raises the ticket")
		return
	}

	account, err := store.FindAccount(r.Context(), s.Store.DB, req.Customer)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusUnprocessableEntity, "unknown_customer", fmt.Sprintf(
			"customer %q is not a known account: import it from the CRM or record one of its contracts first", strings.TrimSpace(req.Customer)))
		return
	}
	if err != nil {
		s.writeStoreError(w, err)
		return
	}

	ticket := &store.Ticket{Customer: account.Name, CustomerNo: account.CustomerNo, Title: title, Body: body, From: from}
	status := http.StatusCreated
	view := TicketView{Ticket: ticket, Status: "started"}
	if err := s.Tickets.Open(r.Context(), ticket); err != nil {
		if !errors.Is(err, tickets.ErrNotStarted) {
			s.writeStoreError(w, err)
			return
		}
		// Stored but not started: the starter's loop starts it.
		status, view.Status = http.StatusAccepted, "recorded"
	}
	view.WorkflowID = workflows.TicketWorkflowID(ticket.ID)
	writeJSON(w, status, view)
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", store.TicketOpen, store.TicketEscalated, store.TicketAnswered, store.TicketReturned:
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument",
			"unknown state "+strconv.Quote(state)+": use open, escalated, answered or returned")
		return
	}
	limit, ok := pageLimit(w, q, store.DefaultPageLimit)
	if !ok {
		return
	}
	tickets, err := store.ListTickets(r.Context(), s.Store.DB, store.TicketFilter{State: state, Customer: q.Get("customer"), Limit: limit})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TicketList{Tickets: nonNil(tickets)})
}

func (s *Server) showTicket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ticket, ok := s.ticketFromPath(w, r)
	if !ok {
		return
	}
	view := TicketView{Ticket: ticket, WorkflowID: workflows.TicketWorkflowID(ticket.ID)}
	freezes, err := store.CustomerFreezes(ctx, s.Store.DB, ticket.Customer, true)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	for i := range freezes {
		if freezes[i].TicketID == ticket.ID {
			view.Freeze = &freezes[i]
		}
	}
	if ticket.WorkflowStartedAt != nil && r.URL.Query().Get("live") != "false" {
		queryCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		encoded, qerr := s.Temporal.QueryWorkflow(queryCtx, view.WorkflowID, "", workflows.QueryStatus)
		if qerr == nil {
			var live workflows.TicketStatus
			if qerr = encoded.Get(&live); qerr == nil {
				view.Live = &live
			}
		}
		if qerr != nil {
			view.LiveError = qerr.Error()
		}
	}
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) answerTicket(w http.ResponseWriter, r *http.Request) {
	var req TicketAnswerRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if strings.TrimSpace(req.Answer) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "answer is required: give the department's answer to the customer's request")
		return
	}
	s.signalTicket(w, r, workflows.SignalTicketAnswered, workflows.TicketAnswer{By: orDefault(req.By, "api"), Answer: strings.TrimSpace(req.Answer)})
}

func (s *Server) returnTicket(w http.ResponseWriter, r *http.Request) {
	var req TicketReturnRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "reason is required: say what the sender must add or change")
		return
	}
	s.signalTicket(w, r, workflows.SignalTicketReturned, workflows.TicketReturn{By: orDefault(req.By, "api"), Reason: strings.TrimSpace(req.Reason)})
}

// signalTicket sends a signal to the workflow of an open ticket.
func (s *Server) signalTicket(w http.ResponseWriter, r *http.Request, signal string, arg any) {
	ticket, ok := s.ticketFromPath(w, r)
	if !ok {
		return
	}
	switch ticket.State {
	case store.TicketAnswered, store.TicketReturned:
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("ticket %s is %s already; nothing changed", ticket.ID, ticket.State))
		return
	}
	workflowID := workflows.TicketWorkflowID(ticket.ID)
	err := s.Temporal.SignalWorkflow(r.Context(), workflowID, "", signal, arg)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		if ticket.WorkflowStartedAt == nil {
			if s.Tickets != nil {
				s.Tickets.Kick()
			}
			writeError(w, http.StatusConflict, "not_started", fmt.Sprintf("the workflow of ticket %s has not started yet; retry in a few seconds", ticket.ID))
			return
		}
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("ticket %s has no running workflow; it was closed already", ticket.ID))
		return
	}
	if err != nil {
		s.Logger.WithError(err).WithField("ticket_id", ticket.ID).Error("signal to ticket workflow failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach Temporal, retry later: "+err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"ticket_id": ticket.ID, "workflow_id": workflowID, "signal": signal, "status": "accepted"})
}

// ticketIDPattern matches ticket IDs as NewTicketID makes them, in either
// case.
var ticketIDPattern = regexp.MustCompile(`^(?i)TK-[0-9A-F]{10}$`)

// ticketFromPath reads the ticket named by the path's {id}. It writes a
// 400 or 404 response and returns false when there is none.
func (s *Server) ticketFromPath(w http.ResponseWriter, r *http.Request) (*store.Ticket, bool) {
	id := r.PathValue("id")
	if !ticketIDPattern.MatchString(id) {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("ticket id %q is not TK- and ten hex digits, such as TK-3F9A0C71D2", id))
		return nil, false
	}
	ticket, err := store.GetTicket(r.Context(), s.Store.DB, strings.ToUpper(id))
	if err != nil {
		s.writeStoreError(w, err)
		return nil, false
	}
	return ticket, true
}
