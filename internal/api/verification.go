package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// VerifyPhoneRequest is the body of POST /api/v1/contracts/{no}/verify-phone.
type VerifyPhoneRequest struct {
	// By is the verifier, who must be the person the held chain names.
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// verifyPhone records the phone verification of a chain held by the
// signing verification. Only the verifier the chain names may record it.
// The API checks that, because a signal cannot return an error.
func (s *Server) verifyPhone(w http.ResponseWriter, r *http.Request) {
	var req VerifyPhoneRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	req.By = strings.TrimSpace(req.By)
	if req.By == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "by is required: name the supervisor who verified the signing by phone")
		return
	}

	ctx := r.Context()
	no := r.PathValue("no")
	contract, err := s.Store.GetContract(ctx, no)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if contract.WorkflowStartedAt == nil {
		writeError(w, http.StatusConflict, "conflict", "contract "+no+" has no running chain yet; retry in a moment")
		return
	}

	queryCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var live workflows.ChainStatus
	encoded, err := s.Temporal.QueryWorkflow(queryCtx, contract.WorkflowID, "", workflows.QueryStatus)
	if err == nil {
		err = encoded.Get(&live)
	}
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		writeError(w, http.StatusConflict, "conflict", "contract "+no+" has no running chain")
		return
	case err != nil:
		s.Logger.WithError(err).WithField(logging.KeyContractNo, no).Error("status query of a contract chain failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach the chain, retry later: "+err.Error())
		return
	}

	v := live.Verification
	if v == nil || !v.Waiting {
		writeError(w, http.StatusConflict, "conflict", "contract "+no+" is not held for a phone verification")
		return
	}
	if !strings.EqualFold(req.By, v.Verifier) {
		writeError(w, http.StatusForbidden, "not_allowed", fmt.Sprintf(
			"%s may not verify contract %s: only %s (%s of rep %s) may record its phone verification",
			req.By, no, v.Verifier, v.VerifierRole, contract.SalesAgent))
		return
	}

	signal := workflows.PhoneVerifiedSignal{By: v.Verifier, Note: req.Note, At: s.Now().UTC()}
	if err := s.Temporal.SignalWorkflow(ctx, contract.WorkflowID, "", workflows.SignalPhoneVerified, signal); err != nil {
		s.Logger.WithError(err).WithField(logging.KeyContractNo, no).Error("phone verification signal failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach Temporal, retry later: "+err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"contract_no": no, "signal": workflows.SignalPhoneVerified, "status": "accepted"})
}

// heldForVerification returns the open signing verification item of a
// contract, or nil.
func (s *Server) heldForVerification(ctx context.Context, no string) (*store.AttentionItem, error) {
	items, err := s.Store.ListAttention(ctx, store.AttentionFilter{
		OpenOnly: true, Kind: store.AttentionSigningVerification, ContractNo: no, Limit: 1,
	})
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return &items[0], nil
}
