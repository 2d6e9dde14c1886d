package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ordo-project/ordo/internal/leads"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// LeadStarter starts the SLA workflows of recorded leads.
type LeadStarter interface {
	Kick()
	StartPendingWithProgress(ctx context.Context, progress func(started int)) (int, error)
}

// PhaseStartLeads is the progress phase after the import's chains start,
// while the SLA workflows of new leads start.
const PhaseStartLeads = "start_leads"

// CreateLeadRequest is the body of POST /api/v1/leads. ID is the lead's
// key, normally the CRM's opportunity id; Rep must be in the sales-team
// data.
type CreateLeadRequest struct {
	ID      string `json:"id"`
	Rep     string `json:"rep"`
	Account string `json:"account"`
	Product string `json:"product"`
}

// LeadContactRequest is the body of POST /api/v1/leads/{id}/contact. A
// missing At means now.
type LeadContactRequest struct {
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
}

// LeadReassignRequest is the body of POST /api/v1/leads/{id}/reassign.
type LeadReassignRequest struct {
	To string `json:"to"`
	By string `json:"by"`
}

// LeadView is one lead with its SLA as stored and, when the workflow
// responded to the status query, the workflow's current status.
type LeadView struct {
	Lead *store.Lead `json:"lead"`
	// WorkflowSignalled is set by contact and reassign: whether the lead's
	// workflow received the change.
	WorkflowSignalled *bool                    `json:"workflow_signalled,omitempty"`
	Live              *workflows.LeadSLAStatus `json:"live,omitempty"`
	LiveError         string                   `json:"live_error,omitempty"`
}

// LeadList is one page of leads.
type LeadList struct {
	Leads []store.Lead `json:"leads"`
	// Next is the value of "after" for the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) leadService(w http.ResponseWriter) *leads.Service {
	if s.Leads == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this ordo process does not run the lead SLA")
	}
	return s.Leads
}

func (s *Server) createLead(w http.ResponseWriter, r *http.Request) {
	service := s.leadService(w)
	if service == nil {
		return
	}
	var req CreateLeadRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	lead, err := service.Create(r.Context(), leads.NewLead{ID: req.ID, Rep: req.Rep, Account: req.Account, Product: req.Product})
	if err != nil {
		s.writeLeadError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, LeadView{Lead: lead})
}

func (s *Server) listLeads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, q, store.DefaultPageLimit)
	if !ok {
		return
	}

	filter := store.LeadFilter{State: q.Get("state"), SLAState: q.Get("sla"), Rep: q.Get("rep"), After: q.Get("after"), Limit: limit}
	switch filter.State {
	case "", store.LeadOpen, store.LeadContacted, store.LeadClosed:
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument", "unknown lead state "+strconv.Quote(filter.State)+": use open, contacted or closed")
		return
	}
	switch filter.SLAState {
	case "", store.SLAStarting, store.SLAWaiting, store.SLAReminded, store.SLAOverdue, store.SLAUntimed,
		store.SLAContacted, store.SLAClosed, store.SLACancelled:
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument", "unknown SLA state "+strconv.Quote(filter.SLAState)+
			": use starting, waiting, reminded, overdue, untimed, contacted, closed or cancelled")
		return
	}

	list, err := s.Store.ListLeads(r.Context(), filter)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	page := LeadList{
		Leads: nonNil(list),
		Next:  nextCursor(list, limit, func(l store.Lead) string { return l.OpportunityID }),
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) showLead(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lead, err := s.Store.GetLead(ctx, r.PathValue("id"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	view := LeadView{Lead: lead}
	if r.URL.Query().Get("live") != "false" && lead.WorkflowStartedAt != nil {
		queryCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		encoded, qerr := s.Temporal.QueryWorkflow(queryCtx, lead.WorkflowID, "", workflows.QueryStatus)
		if qerr == nil {
			var live workflows.LeadSLAStatus
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

func (s *Server) contactLead(w http.ResponseWriter, r *http.Request) {
	service := s.leadService(w)
	if service == nil {
		return
	}
	// Every field is optional: a contact by an unnamed person, now.
	var req LeadContactRequest
	if err := readJSON(r, &req, true); err != nil {
		writeBodyError(w, err)
		return
	}
	result, err := service.RecordContact(r.Context(), r.PathValue("id"), leads.Contact{At: req.At, By: req.By, Channel: req.Channel})
	if err != nil {
		s.writeLeadError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, LeadView{Lead: result.Lead, WorkflowSignalled: &result.Signalled})
}

func (s *Server) reassignLead(w http.ResponseWriter, r *http.Request) {
	service := s.leadService(w)
	if service == nil {
		return
	}
	var req LeadReassignRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	result, err := service.Reassign(r.Context(), r.PathValue("id"), req.To, req.By)
	if err != nil {
		s.writeLeadError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, LeadView{Lead: result.Lead, WorkflowSignalled: &result.Signalled})
}

// writeLeadError maps the errors of the lead service onto HTTP responses.
func (s *Server) writeLeadError(w http.ResponseWriter, err error) {
	if fe, ok := leads.IsFieldError(err); ok {
		if fe.Unknown {
			writeError(w, http.StatusUnprocessableEntity, "unknown_value", fe.Error())
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_argument", fe.Error())
		return
	}
	switch {
	case errors.Is(err, store.ErrLeadClosed), errors.Is(err, store.ErrLeadExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, leads.ErrTemporalUnavailable):
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", err.Error())
	default:
		s.writeStoreError(w, err)
	}
}
