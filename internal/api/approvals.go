package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/contracts"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// ApprovalRequest is the body of POST /api/v1/approvals.
type ApprovalRequest struct {
	// ID identifies the request; empty lets ordo choose one. Sending the
	// same ID and terms again is safe and starts nothing twice.
	ID string `json:"id,omitempty"`
	// Kind is discount, price_change or renewal.
	Kind string `json:"kind"`
	// Customer is the account name.
	Customer   string `json:"customer"`
	ContractNo string `json:"contract_no,omitempty"`
	// Product is a catalogue product name, required for a price change.
	Product     string `json:"product,omitempty"`
	RequestedBy string `json:"requested_by"`
	// Amount is the request's value, compared with the rules' thresholds
	// after conversion into their currency.
	Amount decimal.Decimal `json:"amount"`
	// Currency defaults to the configured currency.
	Currency string `json:"currency,omitempty"`
	// NewUnitPrice is the requested tax-inclusive unit price of a price
	// change.
	NewUnitPrice *decimal.Decimal `json:"new_unit_price,omitempty"`
	Reason       string           `json:"reason"`
	// RulesVersion routes by that rules version; 0 takes the newest.
	RulesVersion int `json:"rules_version,omitempty"`
}

// ApprovalAnswer confirms a recorded request.
type ApprovalAnswer struct {
	Status     string `json:"status"`
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
}

// maxApprovalIDLength keeps the price list number PL-<id> within the
// length of other document numbers ordo writes.
const maxApprovalIDLength = 40

func (s *Server) requestApproval(w http.ResponseWriter, r *http.Request) {
	var req ApprovalRequest
	body, err := readBody(r)
	if err == nil {
		err = decodeStrict(body, &req)
		if err != nil {
			if fieldErr := invalidDecimalField(body, "amount", "new_unit_price"); fieldErr != nil {
				err = fieldErr
			}
		}
	}
	if err != nil {
		writeBodyError(w, err)
		return
	}
	approval, err := s.buildApproval(r.Context(), &req)
	var fieldErr *contracts.FieldError
	if errors.As(err, &fieldErr) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_approval", fieldErr.Error())
		return
	}
	if err != nil {
		s.writeStoreError(w, err)
		return
	}

	ctx := r.Context()
	inserted, err := store.InsertApproval(ctx, s.Store.DB, approval)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	status, code := "accepted", http.StatusAccepted
	if !inserted {
		existing, err := s.Store.GetApproval(ctx, approval.ID)
		if err != nil {
			s.writeStoreError(w, err)
			return
		}
		if differences := approvalDifferences(existing, approval); len(differences) > 0 {
			writeError(w, http.StatusConflict, "approval_conflict", fmt.Sprintf(
				"approval %s was requested before with other terms (%s); nothing changed: send the new terms under a new id",
				approval.ID, strings.Join(differences, "; ")))
			return
		}
		approval = existing
		status, code = "already_recorded", http.StatusOK
	}
	if err := s.startApproval(ctx, approval, req.RulesVersion); err != nil {
		s.Logger.WithError(err).WithField(logging.KeyApprovalID, approval.ID).Error("starting the approval workflow failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable",
			"recorded approval "+approval.ID+" but could not start its workflow; send the same request again: "+err.Error())
		return
	}
	writeJSON(w, code, ApprovalAnswer{Status: status, ID: approval.ID, WorkflowID: approval.WorkflowID})
}

// buildApproval checks a request against the recorded master data and
// returns the approval to record, or a *contracts.FieldError naming the
// field to fix.
func (s *Server) buildApproval(ctx context.Context, req *ApprovalRequest) (*store.Approval, error) {
	invalid := func(field, format string, args ...any) error {
		return &contracts.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	id := strings.TrimSpace(req.ID)
	if id == "" {
		id = newApprovalID()
	}
	if !contractNoPattern.MatchString(id) || len(id) > maxApprovalIDLength {
		return nil, invalid("id", "%q must be at most %d letters, digits, '-' or '_', starting with a letter or digit", id, maxApprovalIDLength)
	}
	switch req.Kind {
	case store.ApprovalDiscount, store.ApprovalPriceChange, store.ApprovalRenewal:
	case "":
		return nil, invalid("kind", "is required: use discount, price_change or renewal")
	default:
		return nil, invalid("kind", "%q is not discount, price_change or renewal", req.Kind)
	}
	if strings.TrimSpace(req.Reason) == "" {
		return nil, invalid("reason", "is required: say why the request is needed")
	}
	if !req.Amount.IsPositive() {
		return nil, invalid("amount", "%s must be above 0", req.Amount)
	}
	if !req.Amount.Equal(req.Amount.Round(2)) {
		return nil, invalid("amount", "%s has more than two decimals", req.Amount)
	}
	if req.RulesVersion < 0 {
		return nil, invalid("rules_version", "%d must be 0 (the newest) or a version number", req.RulesVersion)
	}
	currency := strings.ToUpper(strings.TrimSpace(req.Currency))
	if currency == "" {
		currency = s.Config.Currency
	}
	if _, err := s.Config.Invoice.RateFor(currency, s.Now().UTC()); err != nil {
		return nil, invalid("currency", "%v", err)
	}
	switch {
	case req.Kind == store.ApprovalPriceChange && (req.NewUnitPrice == nil || !req.NewUnitPrice.IsPositive()):
		return nil, invalid("new_unit_price", "a price change needs the new unit price, above 0")
	case req.Kind != store.ApprovalPriceChange && req.NewUnitPrice != nil:
		return nil, invalid("new_unit_price", "only a price_change carries a new unit price")
	}

	approval := &store.Approval{
		ID: id, Kind: req.Kind, RequestedBy: strings.TrimSpace(req.RequestedBy),
		Amount: req.Amount, Currency: currency, Reason: strings.TrimSpace(req.Reason),
		State: store.ApprovalPending, WorkflowID: numbering.ApprovalWorkflowID(id),
	}
	if req.NewUnitPrice != nil {
		approval.NewUnitPrice = decimal.NullDecimal{Decimal: *req.NewUnitPrice, Valid: true}
	}
	if err := s.resolveApprovalParties(ctx, req, approval); err != nil {
		return nil, err
	}
	now := store.Now()
	approval.CreatedAt, approval.UpdatedAt = now, now
	return approval, nil
}

// resolveApprovalParties fills the customer, contract, product and rep
// from the recorded master data.
func (s *Server) resolveApprovalParties(ctx context.Context, req *ApprovalRequest, approval *store.Approval) error {
	invalid := func(field, format string, args ...any) error {
		return &contracts.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	name := strings.TrimSpace(req.Customer)
	if name == "" {
		return invalid("customer", "is required: give the account name")
	}
	customerNo := numbering.CustomerNo(name)
	var accounts []store.Account
	if err := s.Store.DB.NewSelect().Model(&accounts).Where("customer_no = ?", customerNo).Limit(1).Scan(ctx); err != nil {
		return fmt.Errorf("look up account %s: %w", customerNo, err)
	}
	if len(accounts) == 0 {
		return invalid("customer", "no account named %q: import the CRM data or record a contract of the customer first", name)
	}
	approval.Customer, approval.CustomerNo = accounts[0].Name, accounts[0].CustomerNo

	if no := strings.TrimSpace(req.ContractNo); no != "" {
		contract, err := s.Store.GetContract(ctx, no)
		if errors.Is(err, store.ErrNotFound) {
			return invalid("contract_no", "contract %s does not exist", no)
		}
		if err != nil {
			return err
		}
		if contract.CustomerNo != approval.CustomerNo {
			return invalid("contract_no", "contract %s belongs to %s, not to %s", no, contract.AccountName, approval.Customer)
		}
		approval.ContractNo = no
	}

	if product := strings.TrimSpace(req.Product); product != "" {
		found, err := s.Store.ProductByName(ctx, product)
		if errors.Is(err, store.ErrNotFound) {
			return invalid("product", "%q is not in the product catalogue", product)
		}
		if err != nil {
			return err
		}
		approval.Product, approval.ProductNo = found.Name, found.ProductNo
	} else if req.Kind == store.ApprovalPriceChange {
		return invalid("product", "is required for a price change: give the catalogue product name")
	}

	if approval.RequestedBy == "" {
		return invalid("requested_by", "is required: give the sales rep who asks")
	}
	if _, err := store.RepManager(ctx, s.Store.DB, approval.RequestedBy); errors.Is(err, store.ErrNotFound) {
		return invalid("requested_by", "%q is not a sales rep in the sales-team data", approval.RequestedBy)
	} else if err != nil {
		return err
	}
	return nil
}

// readBody reads a JSON request body of at most maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > maxBodyBytes {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// newApprovalID returns a random ID for a request that brought none.
func newApprovalID() string {
	raw := make([]byte, 5)
	_, _ = rand.Read(raw)
	return "AP-" + strings.ToUpper(hex.EncodeToString(raw))
}

// approvalDifferences lists the terms in which a repeated request differs
// from the recorded one.
func approvalDifferences(recorded, request *store.Approval) []string {
	var differences []string
	differ := func(field, was, now string) {
		if was != now {
			differences = append(differences, fmt.Sprintf("%s %s, not %s", field, strconv.Quote(was), strconv.Quote(now)))
		}
	}
	differ("kind", recorded.Kind, request.Kind)
	differ("customer", recorded.Customer, request.Customer)
	differ("contract_no", recorded.ContractNo, request.ContractNo)
	differ("product", recorded.Product, request.Product)
	differ("requested_by", recorded.RequestedBy, request.RequestedBy)
	differ("amount", recorded.Amount.StringFixed(2)+" "+recorded.Currency, request.Amount.StringFixed(2)+" "+request.Currency)
	differ("new_unit_price", recorded.NewUnitPrice.Decimal.String(), request.NewUnitPrice.Decimal.String())
	return differences
}

// startApproval starts the approval's workflow. A workflow that exists
// already, running or closed, counts as started.
func (s *Server) startApproval(ctx context.Context, approval *store.Approval, rulesVersion int) error {
	in := workflows.ApprovalInput{
		ID: approval.ID, Kind: approval.Kind, Customer: approval.Customer, CustomerNo: approval.CustomerNo,
		ContractNo: approval.ContractNo, Product: approval.Product, ProductNo: approval.ProductNo,
		RequestedBy: approval.RequestedBy, Amount: approval.Amount, Currency: approval.Currency,
		Reason: approval.Reason, RulesVersion: rulesVersion,
		Options: workflows.ApprovalOptions{
			ActivityTimeout:  s.Config.Chain.ActivityTimeout,
			RetryMaxAttempts: int32(s.Config.Chain.RetryMaxAttempts),
			RetryMaxInterval: s.Config.Chain.RetryMaxInterval,
		},
	}
	if approval.NewUnitPrice.Valid {
		price := approval.NewUnitPrice.Decimal
		in.NewUnitPrice = &price
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    approval.WorkflowID,
		TaskQueue:             s.Config.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.ApprovalName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start approval %s: %w", approval.ID, err)
	}
	return nil
}

// ApprovalList is one page of approvals.
type ApprovalList struct {
	Approvals []store.Approval `json:"approvals"`
	// Next is the value of "after" for the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, q, store.DefaultPageLimit)
	if !ok {
		return
	}
	state := q.Get("state")
	switch state {
	case "", store.ApprovalPending, store.ApprovalApproved, store.ApprovalRejected, store.ApprovalTimedOut, store.ApprovalFailed:
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument", "unknown state "+strconv.Quote(state)+
			": use pending, approved, rejected, timed_out or failed")
		return
	}
	approvals, err := s.Store.ListApprovals(r.Context(), store.ApprovalFilter{State: state, After: q.Get("after"), Limit: limit})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	list := ApprovalList{
		Approvals: nonNil(approvals),
		Next:      nextCursor(approvals, limit, func(a store.Approval) string { return a.ID }),
	}
	writeJSON(w, http.StatusOK, list)
}

// ApprovalView is one approval with its workflow's live status.
type ApprovalView struct {
	Approval *store.Approval `json:"approval"`
	// Live is the workflow's own status, set when the query succeeded.
	Live      *workflows.ApprovalStatus `json:"live,omitempty"`
	LiveError string                    `json:"live_error,omitempty"`
}

func (s *Server) showApproval(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	approval, err := s.Store.GetApproval(ctx, r.PathValue("id"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	view := ApprovalView{Approval: approval}
	if r.URL.Query().Get("live") != "false" {
		queryCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		encoded, qerr := s.Temporal.QueryWorkflow(queryCtx, approval.WorkflowID, "", workflows.QueryApprovalStatus)
		if qerr == nil {
			var live workflows.ApprovalStatus
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

// DecideRequest is the body of POST /api/v1/approvals/{id}/decide.
type DecideRequest = workflows.DecideRequest

// decideTimeout bounds the wait for the workflow's result of a decision.
const decideTimeout = 30 * time.Second

func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request) {
	var req DecideRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	req.By = strings.TrimSpace(req.By)
	if req.Decision != store.DecisionApprove && req.Decision != store.DecisionReject {
		writeError(w, http.StatusUnprocessableEntity, "invalid_decision", fmt.Sprintf("decision: %q is not approve or reject", req.Decision))
		return
	}
	if req.By == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_decision", "by: is required: name the person who decides")
		return
	}
	ctx := r.Context()
	approval, err := s.Store.GetApproval(ctx, r.PathValue("id"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if approval.State != store.ApprovalPending {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("approval %s is already %s and takes no more decisions", approval.ID, approval.State))
		return
	}

	updateCtx, cancel := context.WithTimeout(ctx, decideTimeout)
	defer cancel()
	handle, err := s.Temporal.UpdateWorkflow(updateCtx, client.UpdateWorkflowOptions{
		WorkflowID: approval.WorkflowID, UpdateName: workflows.UpdateDecide,
		Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var result workflows.DecideResult
	if err == nil {
		err = handle.Get(updateCtx, &result)
	}
	if err != nil {
		if updateCtx.Err() != nil && ctx.Err() == nil {
			// Temporal reports the expired wait in its own error type.
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		s.writeDecisionError(w, approval, err)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// writeDecisionError maps a rejected or failed decision onto an HTTP error
// carrying the workflow's own message.
func (s *Server) writeDecisionError(w http.ResponseWriter, approval *store.Approval, err error) {
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s.Logger.WithError(err).WithField(logging.KeyApprovalID, approval.ID).Warn("decision on an approval timed out")
		writeError(w, http.StatusGatewayTimeout, "timeout", fmt.Sprintf(
			"the workflow of approval %s did not respond within %s; check it with ordo approval show %s before deciding again",
			approval.ID, decideTimeout, approval.ID))
	case errors.As(err, &appErr):
		status, code := http.StatusConflict, "conflict"
		switch appErr.Type() {
		case workflows.ErrTypeNotAllowed:
			status, code = http.StatusForbidden, "not_allowed"
		case workflows.ErrTypeFrozen:
			code = "frozen"
		case activities.ErrTypeInput:
			status, code = http.StatusUnprocessableEntity, "invalid_decision"
		}
		writeError(w, status, code, appErr.Message())
	case errors.As(err, &notFound):
		writeError(w, http.StatusConflict, "conflict", "approval "+approval.ID+" has no running workflow: it has ended")
	default:
		s.Logger.WithError(err).WithField(logging.KeyApprovalID, approval.ID).Error("decision on an approval failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach Temporal, retry later: "+err.Error())
	}
}

// RetryERPRequest is the body of POST /api/v1/approvals/{id}/retry-erp.
type RetryERPRequest struct {
	By string `json:"by"`
}

func (s *Server) retryApprovalERP(w http.ResponseWriter, r *http.Request) {
	var req RetryERPRequest
	if err := readJSON(r, &req, true); err != nil {
		writeBodyError(w, err)
		return
	}
	ctx := r.Context()
	approval, err := s.Store.GetApproval(ctx, r.PathValue("id"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if approval.ERPError == "" {
		writeError(w, http.StatusConflict, "conflict", "approval "+approval.ID+" has no failed ERP write to retry")
		return
	}
	err = s.Temporal.SignalWorkflow(ctx, approval.WorkflowID, "", workflows.SignalRetryERP, workflows.RetryERPSignal{By: orDefault(req.By, "api")})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		writeError(w, http.StatusConflict, "conflict", "approval "+approval.ID+" has no running workflow")
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach Temporal, retry later: "+err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": approval.ID, "signal": workflows.SignalRetryERP, "status": "accepted"})
}
