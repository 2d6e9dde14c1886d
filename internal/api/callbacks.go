package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/serviceerror"

	"github.com/ordo-project/ordo/connectors/einvoice"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/workflows"
)

// readSigned reads a bounded body and verifies its HMAC signature. It
// writes the error answer and returns nil when the request is rejected.
func (s *Server) readSigned(w http.ResponseWriter, r *http.Request) []byte {
	if len(s.WebhookSecret) == 0 {
		writeError(w, http.StatusServiceUnavailable, "not_configured",
			"no webhook secret is configured: set ORDO_WEBHOOK_SECRET or api.webhook_secret_file")
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "could not read body: "+err.Error())
		return nil
	}
	if len(body) > maxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body exceeds 1 MiB")
		return nil
	}
	if err := signing.Verify(r.Header, s.WebhookSecret, body, s.Now(), s.Config.API.WebhookTolerance); err != nil {
		writeError(w, http.StatusUnauthorized, "invalid_signature", err.Error())
		return nil
	}
	return body
}

// productionCallback is the body the ERP posts when a production order
// completes.
type productionCallback struct {
	FormID      string `json:"form_id"`
	Number      string `json:"number"`
	Status      string `json:"status"`
	ContractNo  string `json:"contract_no"`
	CompletedAt string `json:"completed_at"`
}

// productionStatusCompleted is the Kingdee FStatus of a completed
// production order.
const productionStatusCompleted = "5"

func (s *Server) productionCallback(w http.ResponseWriter, r *http.Request) {
	body := s.readSigned(w, r)
	if body == nil {
		return
	}
	var cb productionCallback
	if err := decodeStrict(body, &cb); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	if cb.Number == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "number is required")
		return
	}
	// Only a completion moves the chain on. Other statuses are not the
	// sender's error, so the response is 200 and the sender stops retrying.
	if cb.Status != "" && cb.Status != productionStatusCompleted {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored",
			"reason": "production order " + cb.Number + " has status " + cb.Status + ", not " + productionStatusCompleted + " (completed)"})
		return
	}
	contractNo := cb.ContractNo
	if contractNo == "" {
		contractNo = contractNoFromDocument(cb.Number)
	}
	if contractNo == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "contract_no is missing and number "+cb.Number+" is not an ordo production order")
		return
	}
	completedAt := s.Now().UTC()
	if cb.CompletedAt != "" {
		parsed, err := time.Parse(time.RFC3339Nano, cb.CompletedAt)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "completed_at "+cb.CompletedAt+" is not an RFC 3339 time")
			return
		}
		completedAt = parsed
	}
	s.deliverCallback(w, r, contractNo, workflows.SignalProductionCompleted,
		workflows.ProductionCompletedSignal{Number: cb.Number, CompletedAt: completedAt})
}

func (s *Server) invoiceCallback(w http.ResponseWriter, r *http.Request) {
	body := s.readSigned(w, r)
	if body == nil {
		return
	}
	event, err := einvoice.ParseCallback(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	contractNo := invoiceContractNo(body)
	if contractNo == "" {
		contractNo = contractNoFromDocument(event.Invoice.SerialNo)
	}
	if contractNo == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "serial "+event.Invoice.SerialNo+" is not an ordo invoice request")
		return
	}
	s.deliverCallback(w, r, contractNo, workflows.SignalInvoiceUpdated, workflows.InvoiceUpdatedSignal{Invoice: event.Invoice})
}

// deliverCallback signals a callback to the contract's chain. A chain that
// has ended accepts nothing more, which is not the sender's error: the
// answer is 200 so the sender stops retrying.
func (s *Server) deliverCallback(w http.ResponseWriter, r *http.Request, contractNo, signal string, arg any) {
	workflowID := numbering.ContractWorkflowID(contractNo)
	err := s.Temporal.SignalWorkflow(r.Context(), workflowID, "", signal, arg)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		s.Logger.WithFields(logrus.Fields{logging.KeyContractNo: contractNo, logging.KeyOperation: signal}).
			Info("callback for a chain that is not running; ignored")
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored", "reason": "no running chain for " + contractNo})
	case err != nil:
		s.Logger.WithFields(logrus.Fields{logging.KeyContractNo: contractNo, logging.KeyError: err}).Error("callback signal failed")
		writeError(w, http.StatusServiceUnavailable, "temporal_unavailable", "could not reach Temporal; retry later")
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
	}
}

// invoiceContractNo returns the contract number the e-invoice service
// echoes in a callback's data, or "" when it sent none. It is preferred to
// the number derived from the serial, which is ambiguous for a contract
// number that itself ends in -R<digits>.
func invoiceContractNo(body []byte) string {
	var payload struct {
		Data struct {
			ContractNo string `json:"contract_no"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &payload) != nil {
		return ""
	}
	return strings.TrimSpace(payload.Data.ContractNo)
}
