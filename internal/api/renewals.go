package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/renewals"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// EndDateRequest is the body of POST /api/v1/contracts/{no}/end-date.
type EndDateRequest struct {
	// EndDate is the contract's last day, YYYY-MM-DD.
	EndDate string `json:"end_date"`
	By      string `json:"by"`
}

// Renewal actions of RenewalRequest.
const (
	RenewalActionActed   = "acted"
	RenewalActionRenewed = "renewed"
)

// RenewalRequest is the body of POST /api/v1/contracts/{no}/renewal.
type RenewalRequest struct {
	// Action is "acted" (someone contacted the customer about the renewal,
	// which stops the escalation) or "renewed".
	Action string `json:"action"`
	// NewEndDate, YYYY-MM-DD, is the end of the renewed term; only with
	// "renewed". Without it the renewal ends with this term.
	NewEndDate string `json:"new_end_date,omitempty"`
	Note       string `json:"note,omitempty"`
	By         string `json:"by"`
}

// RenewalView is a contract's renewal as stored and, when its workflow
// responds to the status query, as the workflow sees it.
type RenewalView struct {
	ContractNo string     `json:"contract_no"`
	Customer   string     `json:"customer"`
	EndDate    *time.Time `json:"end_date,omitempty"`
	// State is the stored renewal state, one of store.Renewal*.
	State      string                   `json:"state"`
	RemindAt   *time.Time               `json:"remind_at,omitempty"`
	WorkflowID string                   `json:"workflow_id"`
	Tags       []store.CustomerTag      `json:"tags"`
	Live       *workflows.RenewalStatus `json:"live,omitempty"`
	LiveError  string                   `json:"live_error,omitempty"`
}

func (s *Server) showRenewal(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	contract, err := s.Store.GetContract(ctx, r.PathValue("no"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	view := RenewalView{
		ContractNo: contract.ContractNo, Customer: contract.AccountName, EndDate: contract.EndDate,
		State: contract.RenewalState, RemindAt: contract.RenewalRemindAt,
		WorkflowID: workflows.RenewalWorkflowID(contract.ContractNo), Tags: []store.CustomerTag{},
	}
	tags, err := store.CustomerTags(ctx, s.Store.DB, contract.AccountName, true)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	for _, tag := range tags {
		if tag.Source == "contract:"+contract.ContractNo {
			view.Tags = append(view.Tags, tag)
		}
	}
	switch contract.RenewalState {
	case store.RenewalPending, store.RenewalNone, store.RenewalExpired, "":
		// No workflow was started for these.
	default:
		if r.URL.Query().Get("live") != "false" {
			view.Live, view.LiveError = s.queryRenewal(ctx, view.WorkflowID)
		}
	}
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) queryRenewal(ctx context.Context, workflowID string) (*workflows.RenewalStatus, string) {
	queryCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	encoded, err := s.Temporal.QueryWorkflow(queryCtx, workflowID, "", workflows.QueryStatus)
	if err != nil {
		return nil, err.Error()
	}
	var live workflows.RenewalStatus
	if err := encoded.Get(&live); err != nil {
		return nil, err.Error()
	}
	return &live, ""
}

func (s *Server) setEndDate(w http.ResponseWriter, r *http.Request) {
	if s.Renewals == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this ordo process does not run renewals")
		return
	}
	var req EndDateRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	endDate, ok := parseDateField(w, "end_date", req.EndDate, true)
	if !ok {
		return
	}
	no := r.PathValue("no")
	contract, err := s.Renewals.SetEndDate(r.Context(), no, *endDate, orDefault(req.By, "api"))
	if err != nil {
		s.writeRenewalError(w, no, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"contract_no": no, "end_date": contract.EndDate.Format(time.DateOnly),
		"workflow_id": workflows.RenewalWorkflowID(no), "status": "accepted",
	})
}

func (s *Server) renewalAction(w http.ResponseWriter, r *http.Request) {
	if s.Renewals == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this ordo process does not run renewals")
		return
	}
	var req RenewalRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	no := r.PathValue("no")
	by := orDefault(req.By, "api")
	var err error
	switch req.Action {
	case RenewalActionActed:
		if req.NewEndDate != "" {
			writeError(w, http.StatusBadRequest, "invalid_argument", "new_end_date goes only with the action renewed")
			return
		}
		err = s.Renewals.Act(r.Context(), no, by, req.Note)
	case RenewalActionRenewed:
		newEndDate, ok := parseDateField(w, "new_end_date", req.NewEndDate, false)
		if !ok {
			return
		}
		err = s.Renewals.Renew(r.Context(), no, newEndDate, by)
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument",
			fmt.Sprintf("action %q is not acted or renewed", req.Action))
		return
	}
	if err != nil {
		s.writeRenewalError(w, no, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"contract_no": no, "action": req.Action, "workflow_id": workflows.RenewalWorkflowID(no), "status": "accepted",
	})
}

// parseDateField reads a YYYY-MM-DD field. It writes a 400 response and
// returns false when the field is invalid, or empty and required. An
// empty optional field gives nil.
func parseDateField(w http.ResponseWriter, field, value string, required bool) (*time.Time, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		if required {
			writeError(w, http.StatusBadRequest, "invalid_argument", field+" is required: send a date YYYY-MM-DD")
			return nil, false
		}
		return nil, true
	}
	date, err := time.Parse(time.DateOnly, value)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%s %q is not a date YYYY-MM-DD", field, value))
		return nil, false
	}
	return &date, true
}

// writeRenewalError maps the errors of package renewals onto HTTP
// responses.
func (s *Server) writeRenewalError(w http.ResponseWriter, contractNo string, err error) {
	var dateErr *renewals.DateError
	switch {
	case errors.As(err, &dateErr):
		writeError(w, http.StatusUnprocessableEntity, "invalid_date", fmt.Sprintf("contract %s: %v", contractNo, dateErr))
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, renewals.ErrContractCancelled):
		writeError(w, http.StatusConflict, "conflict", err.Error()+"; its renewal has ended")
	case errors.Is(err, renewals.ErrNotRunning):
		writeError(w, http.StatusConflict, "conflict", err.Error()+
			": there is no reminder to act on; set an end date or report a renewal instead")
	default:
		s.Logger.WithError(err).WithField(logging.KeyContractNo, contractNo).Error("renewal request failed")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "could not reach Temporal or read the rules, retry later: "+err.Error())
	}
}

// cancelRenewal ends the renewal of a contract whose cancellation the
// chain accepted. A failure is logged, not returned to the caller: the cancellation
// itself was accepted, and the renewal workflow ends as lapsed at the
// latest.
func (s *Server) cancelRenewal(ctx context.Context, contract *store.Contract, cancel workflows.CancelSignal) {
	if s.Renewals == nil {
		return
	}
	if err := s.Renewals.Cancel(ctx, contract, cancel.RequestedBy, cancel.Reason); err != nil {
		s.Logger.WithError(err).WithField(logging.KeyContractNo, contract.ContractNo).
			Warn("ending the renewal of a cancelled contract failed; cancel it again or end the renewal workflow in Temporal")
	}
}

// planRenewal plans the renewal of a contract just recorded. A failure
// leaves the contract pending for the planner's loop.
func (s *Server) planRenewal(ctx context.Context, contract *store.Contract) {
	if s.Renewals == nil {
		return
	}
	if err := s.Renewals.PlanContract(ctx, contract); err != nil {
		s.Logger.WithError(err).WithField(logging.KeyContractNo, contract.ContractNo).
			Warn("planning the renewal of a new contract failed; the planner retries")
		s.Renewals.Kick()
	}
}
