package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"go.temporal.io/api/serviceerror"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// ContractView is the whole chain of one contract.
type ContractView struct {
	Contract    *store.Contract           `json:"contract"`
	Steps       []store.ContractStep      `json:"steps"`
	Instalments []store.PaymentInstalment `json:"instalments"`
	Allocations []store.Allocation        `json:"allocations"`
	Attention   []store.AttentionItem     `json:"attention"`
	// VATRate is the rate to show for the contract: the invoice's once
	// one is requested, and the expected rate before.
	VATRate VATRate `json:"vat_rate"`
	// Live is the workflow's own status, when the workflow answered.
	Live *workflows.ChainStatus `json:"live,omitempty"`
	// LiveError explains why Live is missing.
	LiveError string `json:"live_error,omitempty"`
}

// Values of VATRate.Source.
const (
	// VATRateInvoice is the rate of the contract's invoice.
	VATRateInvoice = "invoice"
	// VATRateExpected is the rate in force today for the contract's
	// product, which the invoice gets if it is prepared today.
	VATRateExpected = "expected"
)

// VATRate is the VAT rate of a contract and where it comes from.
type VATRate struct {
	Rate decimal.Decimal `json:"rate"`
	// Source is VATRateInvoice or VATRateExpected.
	Source string `json:"source"`
	// InvoiceNo is the number of the invoice, when Source is
	// VATRateInvoice and the invoice is issued.
	InvoiceNo string `json:"invoice_no,omitempty"`
	// SigningRate is the rate in force on the signing date, stored on the
	// contract, when it differs from Rate.
	SigningRate *decimal.Decimal `json:"signing_rate,omitempty"`
}

// contractVATRate returns the rate of the contract's invoice once one was
// requested, and the expected rate before.
func contractVATRate(contract *store.Contract, steps []store.ContractStep, expected decimal.Decimal) VATRate {
	rate := VATRate{Rate: expected, Source: VATRateExpected}
	if contract.InvoiceTaxRate.Valid {
		rate = VATRate{Rate: contract.InvoiceTaxRate.Decimal, Source: VATRateInvoice}
		for _, step := range steps {
			if step.Step == activities.StepInvoice {
				rate.InvoiceNo = step.ExternalNo
			}
		}
	}
	if !contract.TaxRate.Equal(rate.Rate) {
		signing := contract.TaxRate
		rate.SigningRate = &signing
	}
	return rate
}

// expectedVATRate returns the VAT rate that an invoice prepared today would
// use for the contract, as PrepareInvoice chooses it: the rate of the
// product's category in force on today's date in Shanghai. It returns the
// signing-date rate when the configuration has no rate for the category.
func (s *Server) expectedVATRate(contract *store.Contract) decimal.Decimal {
	if s.Config == nil {
		return contract.TaxRate
	}
	today := s.Now().In(invoiceZone)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	rate, err := s.Config.Tax.RateFor(s.Config.Tax.ProductTax(contract.ProductName).Category, day)
	if err != nil {
		return contract.TaxRate
	}
	return rate
}

// invoiceZone is the time zone of invoice dates, UTC+8 without daylight
// saving.
var invoiceZone = time.FixedZone("Asia/Shanghai", 8*60*60)

func (s *Server) showContract(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	no := r.PathValue("no")
	contract, err := s.Store.GetContract(ctx, no)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	view := ContractView{Contract: contract}
	if view.Steps, err = s.Store.ContractSteps(ctx, no); err != nil {
		s.writeStoreError(w, err)
		return
	}
	if view.Instalments, err = s.Store.Instalments(ctx, no); err != nil {
		s.writeStoreError(w, err)
		return
	}
	if view.Allocations, err = s.Store.ContractAllocations(ctx, no); err != nil {
		s.writeStoreError(w, err)
		return
	}
	if view.Attention, err = s.Store.ListAttention(ctx, store.AttentionFilter{ContractNo: no, Limit: 50}); err != nil {
		s.writeStoreError(w, err)
		return
	}
	view.VATRate = contractVATRate(contract, view.Steps, s.expectedVATRate(contract))
	// Lists are empty arrays, not null, as in every other response.
	view.Steps = nonNil(view.Steps)
	view.Instalments = nonNil(view.Instalments)
	view.Allocations = nonNil(view.Allocations)
	view.Attention = nonNil(view.Attention)
	if r.URL.Query().Get("live") != "false" && contract.WorkflowStartedAt != nil {
		queryCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		encoded, qerr := s.Temporal.QueryWorkflow(queryCtx, contract.WorkflowID, "", workflows.QueryStatus)
		if qerr == nil {
			var live workflows.ChainStatus
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

// ContractList is one page of contracts.
type ContractList struct {
	Contracts []store.Contract `json:"contracts"`
	// Next is the value of "after" for the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) listContracts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, q, store.DefaultPageLimit)
	if !ok {
		return
	}
	state := q.Get("state")
	if state != "" && !knownState(state) {
		writeError(w, http.StatusBadRequest, "invalid_argument", "unknown state "+strconv.Quote(state)+
			": use signed, scheduled, in_production, delivered, invoiced, paid, closed, needs_attention, cancelling or cancelled")
		return
	}
	contracts, err := s.Store.ListContracts(r.Context(), store.ContractFilter{State: state, After: q.Get("after"), Limit: limit})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	list := ContractList{
		Contracts: nonNil(contracts),
		Next:      nextCursor(contracts, limit, func(c store.Contract) string { return c.ContractNo }),
	}
	writeJSON(w, http.StatusOK, list)
}

func knownState(state string) bool {
	switch state {
	case store.ContractSigned, store.ContractScheduled, store.ContractInProduction, store.ContractDelivered,
		store.ContractInvoiced, store.ContractPaid, store.ContractClosed, store.ContractNeedsAttention,
		store.ContractCancelling, store.ContractCancelled:
		return true
	}
	return false
}

// ActionRequest is the body of cancel and resume.
type ActionRequest struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
}

func (s *Server) cancelContract(w http.ResponseWriter, r *http.Request) {
	var req ActionRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if req.Reason == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "reason is required: say why the contract is cancelled")
		return
	}
	s.signalContract(w, r, workflows.SignalCancel, workflows.CancelSignal{Reason: req.Reason, RequestedBy: orDefault(req.By, "api")})
}

func (s *Server) resumeContract(w http.ResponseWriter, r *http.Request) {
	// Both fields are optional, so an empty body is a resume without a note.
	var req ActionRequest
	if err := readJSON(r, &req, true); err != nil {
		writeBodyError(w, err)
		return
	}
	// A chain held for a phone verification is released by the verifier,
	// not by a resume, which it would ignore.
	if held, err := s.heldForVerification(r.Context(), r.PathValue("no")); err != nil {
		s.writeStoreError(w, err)
		return
	} else if held != nil {
		writeError(w, http.StatusConflict, "conflict", held.Message)
		return
	}
	s.signalContract(w, r, workflows.SignalResume, workflows.ResumeSignal{By: orDefault(req.By, "api"), Note: req.Reason})
}

func (s *Server) signalContract(w http.ResponseWriter, r *http.Request, signal string, arg any) {
	ctx := r.Context()
	no := r.PathValue("no")
	contract, err := s.Store.GetContract(ctx, no)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	switch contract.State {
	case store.ContractClosed, store.ContractCancelled:
		writeError(w, http.StatusConflict, "conflict", "contract "+no+" is "+contract.State+"; its chain has ended")
		return
	}
	if signal == workflows.SignalResume && contract.State != store.ContractNeedsAttention {
		writeError(w, http.StatusConflict, "conflict", "contract "+no+" is "+contract.State+", not needs_attention; nothing to resume")
		return
	}
	err = s.Temporal.SignalWorkflow(ctx, contract.WorkflowID, "", signal, arg)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		if contract.WorkflowStartedAt == nil {
			// The starter starts recorded contracts in batches, so an
			// event accepted a moment ago may not have its chain yet.
			if s.Contracts != nil {
				s.Contracts.Kick()
			}
			writeError(w, http.StatusConflict, "chain_starting", "the chain of contract "+no+
				" is still starting; retry in a few seconds")
			return
		}
		writeError(w, http.StatusConflict, "conflict", "contract "+no+" has no running chain")
		return
	}
	if err != nil {
		s.Logger.WithError(err).WithField(logging.KeyContractNo, no).Error("signal to contract chain failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach Temporal, retry later: "+err.Error())
		return
	}
	if cancel, ok := arg.(workflows.CancelSignal); ok {
		s.cancelRenewal(ctx, contract, cancel)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"contract_no": no, "signal": signal, "status": "accepted"})
}

// Summary counts contracts by state and open attention items.
type Summary struct {
	Contracts     []store.StateCount `json:"contracts"`
	Total         int                `json:"total"`
	OpenAttention int                `json:"open_attention"`
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	counts, err := s.Store.CountContractsByState(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	open, err := s.Store.CountOpenAttention(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	summary := Summary{Contracts: counts, OpenAttention: open}
	if summary.Contracts == nil {
		summary.Contracts = []store.StateCount{}
	}
	for _, c := range counts {
		summary.Total += c.Count
	}
	writeJSON(w, http.StatusOK, summary)
}

// AttentionList is one page of attention items, newest first.
type AttentionList struct {
	Items []store.AttentionItem `json:"items"`
	// Next is the value of "after" for the next page, empty on the last.
	Next string `json:"next,omitempty"`
	// Remaining is the number of items the filter selects after this page.
	Remaining int64 `json:"remaining"`
}

// attentionPageLimit is the page size of GET /api/v1/attention without a
// limit parameter. It is the size of the single list the endpoint returned
// before it had pages, so older clients still see the same first page.
const attentionPageLimit = 500

func (s *Server) listAttention(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := store.AttentionFilter{OpenOnly: q.Get("all") != "true", Kind: q.Get("kind"), ContractNo: q.Get("contract_no")}
	var ok bool
	if filter.Limit, ok = pageLimit(w, q, attentionPageLimit); !ok {
		return
	}
	if filter.After, ok = pageAfterID(w, q, "attention item"); !ok {
		return
	}
	items, err := s.Store.ListAttention(r.Context(), filter)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	list := AttentionList{Items: nonNil(items)}
	if len(items) > 0 {
		filter.After = items[len(items)-1].ID
		if list.Remaining, err = s.Store.CountAttention(r.Context(), filter); err != nil {
			s.writeStoreError(w, err)
			return
		}
	}
	if list.Remaining > 0 {
		list.Next = strconv.FormatInt(filter.After, 10)
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) listBankLines(w http.ResponseWriter, r *http.Request) {
	lines, err := s.Store.ListBankLines(r.Context(), store.BankLineFilter{Status: r.URL.Query().Get("status"), Limit: 500})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if lines == nil {
		lines = []store.BankLine{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"lines": lines})
}

// AssignRequest allocates an unmatched bank line to a contract.
type AssignRequest struct {
	ContractNo string `json:"contract_no"`
	By         string `json:"by"`
}

func (s *Server) assignBankLine(w http.ResponseWriter, r *http.Request) {
	var req AssignRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if req.ContractNo == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "contract_no is required")
		return
	}
	allocation, err := s.Store.AssignLine(r.Context(), r.PathValue("id"), req.ContractNo, orDefault(req.By, "api"))
	if errors.Is(err, store.ErrAssignmentRejected) {
		writeError(w, http.StatusConflict, "conflict", err.Error())
		return
	}
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, allocation)
}

// UnassignRequest takes back the assignment of a bank line.
type UnassignRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// UnassignResponse is the bank line after an unassignment and the
// allocations that were taken back.
type UnassignResponse struct {
	Line        *store.BankLine    `json:"line"`
	Allocations []store.Allocation `json:"allocations"`
}

func (s *Server) unassignBankLine(w http.ResponseWriter, r *http.Request) {
	var req UnassignRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if strings.TrimSpace(req.By) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "by is required: name the person who takes the assignment back, for the audit")
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "reason is required: say why the assignment is wrong, for the audit")
		return
	}

	lineID := r.PathValue("id")
	allocations, err := s.Store.UnassignLine(r.Context(), lineID, req.By, req.Reason)
	if errors.Is(err, store.ErrAllocationDelivered) || errors.Is(err, store.ErrAssignmentRejected) {
		writeError(w, http.StatusConflict, "conflict", err.Error())
		return
	}
	if err != nil {
		s.writeStoreError(w, err)
		return
	}

	line, err := store.GetBankLine(r.Context(), s.Store.DB, lineID)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.Logger.WithFields(logrus.Fields{logging.KeyReceiptID: lineID, "by": req.By}).Info("bank line unassigned")
	writeJSON(w, http.StatusOK, UnassignResponse{Line: line, Allocations: nonNil(allocations)})
}

// nonNil returns items, or an empty slice for nil, which JSON encodes as
// [] instead of null.
func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

// contractNoFromDocument recovers the contract number from a document
// number ordo derived from it, e.g. MO-CT-1C1I7A6R.
//
// NOTE: an invoice serial INV-<no>-R<n> of a reissued invoice is read as
// contract <no>, so the first serial of a contract whose number itself
// ends in -R<digits> is misread. Callers prefer a contract number the
// sender gives.
func contractNoFromDocument(number string) string {
	for _, prefix := range []string{"MO-", "SO-", "DN-", "AR-", "RB-", "INV-", "RED-"} {
		rest, ok := strings.CutPrefix(number, prefix)
		if !ok || rest == "" {
			continue
		}
		if prefix == "INV-" {
			rest = trimReissueSuffix(rest)
		}
		return rest
	}
	return ""
}

// trimReissueSuffix removes the -R<n> suffix that a reissued invoice's
// serial carries after the contract number.
func trimReissueSuffix(serial string) string {
	i := strings.LastIndex(serial, "-R")
	if i <= 0 {
		return serial
	}
	digits := serial[i+2:]
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return serial
	}
	return serial[:i]
}
