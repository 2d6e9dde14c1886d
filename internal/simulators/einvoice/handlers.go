package einvoice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
)

// invoiceView is the data of a reply or callback about one request.
type invoiceView struct {
	SerialNo          string `json:"serial_no"`
	Status            string `json:"status"`
	Red               bool   `json:"red"`
	InvoiceKind       string `json:"invoice_kind"`
	ContractNo        string `json:"contract_no,omitempty"`
	BuyerName         string `json:"buyer_name"`
	InvoiceNo         string `json:"invoice_no,omitempty"`
	IssuedAt          string `json:"issued_at,omitempty"`
	TotalAmount       string `json:"total_amount"`
	TotalTax          string `json:"total_tax"`
	TotalInclusive    string `json:"total_inclusive"`
	FailureReason     string `json:"failure_reason,omitempty"`
	RedSerialNo       string `json:"red_serial_no,omitempty"`
	RedInvoiceNo      string `json:"red_invoice_no,omitempty"`
	OriginalSerialNo  string `json:"original_serial_no,omitempty"`
	OriginalInvoiceNo string `json:"original_invoice_no,omitempty"`
	ConfirmationNo    string `json:"confirmation_no,omitempty"`
}

func viewOf(row *requestRow) invoiceView {
	view := invoiceView{
		SerialNo:          row.SerialNo,
		Status:            row.Status,
		Red:               row.Red,
		InvoiceKind:       row.InvoiceKind,
		ContractNo:        row.ContractNo,
		BuyerName:         row.BuyerName,
		InvoiceNo:         row.InvoiceNo,
		TotalAmount:       row.TotalAmount,
		TotalTax:          row.TotalTax,
		TotalInclusive:    row.TotalInclusive,
		FailureReason:     row.FailureReason,
		RedSerialNo:       row.RedSerialNo,
		RedInvoiceNo:      row.RedInvoiceNo,
		OriginalSerialNo:  row.OriginalSerialNo,
		OriginalInvoiceNo: row.OriginalInvoiceNo,
		ConfirmationNo:    row.ConfirmationNo,
	}
	if !row.IssuedAt.IsZero() {
		view.IssuedAt = row.IssuedAt.UTC().Format(time.RFC3339)
	}
	return view
}

// confirmationView is the data of a reply about a confirmation form.
type confirmationView struct {
	ConfirmationNo    string `json:"confirmation_no"`
	Status            string `json:"status"`
	OriginalSerialNo  string `json:"original_serial_no"`
	OriginalInvoiceNo string `json:"original_invoice_no"`
	Reason            string `json:"reason"`
	TotalAmount       string `json:"total_amount"`
	TotalTax          string `json:"total_tax"`
	TotalInclusive    string `json:"total_inclusive"`
}

// replyError is a rejection decided inside a transaction.
type replyError struct {
	status  int
	code    string
	message string
}

func (e *replyError) Error() string { return e.message }

func conflict(code, format string, args ...any) *replyError {
	return &replyError{status: http.StatusConflict, code: code, message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *replyError {
	return &replyError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf(format, args...)}
}

// writeTxError replies with a replyError or, for any other error, 500.
func (s *Simulator) writeTxError(w http.ResponseWriter, r *http.Request, err error) {
	var reply *replyError
	if errors.As(err, &reply) {
		writeEnvelope(w, reply.status, reply.code, reply.message, nil)
		return
	}
	s.writeInternal(w, r, err)
}

// plannedFailure returns the reason a request accepted with the
// FaultIssueFailed fault fails with, chosen by its serial number so a
// repeat reads the same.
func plannedFailure(ctx context.Context, serialNo string) string {
	if drawnFault(ctx) != FaultIssueFailed {
		return ""
	}
	reasons := []string{
		"tax platform rejected the invoice: the buyer's name does not match its taxpayer ID",
		"tax platform rejected the invoice: the seller's invoicing credit line is used up",
		"tax platform rejected the invoice: the tax classification code is not allowed for this seller",
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(serialNo))
	return reasons[h.Sum32()%uint32(len(reasons))]
}

func (s *Simulator) handleIssue(w http.ResponseWriter, r *http.Request, body []byte) {
	var request issueRequest
	if err := json.Unmarshal(body, &request); err != nil {
		writeEnvelope(w, http.StatusBadRequest, codeValidation, "invalid JSON body: "+err.Error(), nil)
		return
	}
	invoice, errs := s.validator.validateIssue(request)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}

	now := time.Now().UTC()
	var result *requestRow
	err := s.cfg.DB.RunInTx(r.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		existing, err := findRequest(ctx, tx, request.SerialNo)
		if err != nil {
			return err
		}
		if existing != nil {
			if existing.Red || existing.BodyHash != invoice.bodyHash {
				return conflict(codeSerialConflict, "serial number %s was already used for a different request", request.SerialNo)
			}
			result = existing
			return nil
		}
		row := &requestRow{
			SerialNo:       request.SerialNo,
			ContractNo:     request.ContractNo,
			InvoiceKind:    request.InvoiceKind,
			BuyerName:      request.BuyerName,
			Currency:       "CNY",
			BodyHash:       invoice.bodyHash,
			Body:           invoice.body,
			TotalAmount:    invoice.totalAmount.StringFixed(2),
			TotalTax:       invoice.totalTax.StringFixed(2),
			TotalInclusive: invoice.totalInclusive.StringFixed(2),
			Status:         statusProcessing,
			DueAtMS:        now.Add(s.cfg.IssueDelay).UnixMilli(),
			PlannedFailure: plannedFailure(r.Context(), request.SerialNo),
			CreatedAt:      now,
			UpdatedAt:      now,
		}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("store invoice request %s: %w", row.SerialNo, err)
		}
		result = row
		return nil
	})
	if err != nil {
		s.writeTxError(w, r, err)
		return
	}
	s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: result.SerialNo, logging.KeyContractNo: result.ContractNo}).
		Debug("invoice request accepted")
	writeEnvelope(w, http.StatusOK, codeOK, "success", viewOf(result))
}

func (s *Simulator) handleGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	serialNo := r.PathValue("serial_no")
	row, err := findRequest(r.Context(), s.cfg.DB, serialNo)
	if err != nil {
		s.writeInternal(w, r, err)
		return
	}
	if row == nil {
		writeEnvelope(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no invoice request with serial number %s", serialNo), nil)
		return
	}
	writeEnvelope(w, http.StatusOK, codeOK, "success", viewOf(row))
}

func (s *Simulator) handleRedConfirmation(w http.ResponseWriter, r *http.Request, body []byte) {
	var request redConfirmationRequest
	if err := json.Unmarshal(body, &request); err != nil {
		writeEnvelope(w, http.StatusBadRequest, codeValidation, "invalid JSON body: "+err.Error(), nil)
		return
	}
	if errs := request.validate(); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}

	var form *confirmationRow
	err := s.cfg.DB.RunInTx(r.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		original, err := findByInvoiceNo(ctx, tx, request.OriginalInvoiceNo)
		if err != nil {
			return err
		}
		if original == nil {
			return notFound("no issued invoice with number %s", request.OriginalInvoiceNo)
		}
		if original.Red {
			return conflict(codeStateConflict, "invoice %s is a red invoice and cannot be reversed", original.InvoiceNo)
		}
		existing := new(confirmationRow)
		err = tx.NewSelect().Model(existing).Where("original_serial_no = ?", original.SerialNo).Limit(1).Scan(ctx)
		if err == nil {
			form = existing
			return nil
		}
		if !isNoRows(err) {
			return fmt.Errorf("read confirmation form of %s: %w", original.InvoiceNo, err)
		}
		if original.Status != statusIssued {
			return conflict(codeStateConflict, "invoice %s is %s, only an issued invoice can be reversed", original.InvoiceNo, original.Status)
		}
		now := time.Now().UTC()
		sequence, err := nextSequence(ctx, tx, "confirmation")
		if err != nil {
			return err
		}
		form = &confirmationRow{
			ConfirmationNo:    s.formatNumber(now, "9", sequence),
			OriginalSerialNo:  original.SerialNo,
			OriginalInvoiceNo: original.InvoiceNo,
			Reason:            request.Reason,
			Status:            "confirmed",
			TotalAmount:       negate(original.TotalAmount),
			TotalTax:          negate(original.TotalTax),
			TotalInclusive:    negate(original.TotalInclusive),
			CreatedAt:         now,
		}
		if _, err := tx.NewInsert().Model(form).Exec(ctx); err != nil {
			return fmt.Errorf("store confirmation form for %s: %w", original.InvoiceNo, err)
		}
		return nil
	})
	if err != nil {
		s.writeTxError(w, r, err)
		return
	}
	writeEnvelope(w, http.StatusOK, codeOK, "success", confirmationView{
		ConfirmationNo:    form.ConfirmationNo,
		Status:            form.Status,
		OriginalSerialNo:  form.OriginalSerialNo,
		OriginalInvoiceNo: form.OriginalInvoiceNo,
		Reason:            form.Reason,
		TotalAmount:       form.TotalAmount,
		TotalTax:          form.TotalTax,
		TotalInclusive:    form.TotalInclusive,
	})
}

func (s *Simulator) handleRedIssue(w http.ResponseWriter, r *http.Request, body []byte) {
	var request redIssueRequest
	if err := json.Unmarshal(body, &request); err != nil {
		writeEnvelope(w, http.StatusBadRequest, codeValidation, "invalid JSON body: "+err.Error(), nil)
		return
	}
	if errs := request.validate(); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	normalizedBody, bodyHash := hashBody(request)

	var result *requestRow
	err := s.cfg.DB.RunInTx(r.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		existing, err := findRequest(ctx, tx, request.SerialNo)
		if err != nil {
			return err
		}
		if existing != nil {
			if !existing.Red || existing.BodyHash != bodyHash {
				return conflict(codeSerialConflict, "serial number %s was already used for a different request", request.SerialNo)
			}
			result = existing
			return nil
		}

		form := new(confirmationRow)
		err = tx.NewSelect().Model(form).Where("confirmation_no = ?", request.ConfirmationNo).Scan(ctx)
		if isNoRows(err) {
			return notFound("no confirmation form with number %s", request.ConfirmationNo)
		}
		if err != nil {
			return fmt.Errorf("read confirmation form %s: %w", request.ConfirmationNo, err)
		}
		original, err := findRequest(ctx, tx, form.OriginalSerialNo)
		if err != nil {
			return err
		}
		if original == nil {
			return fmt.Errorf("confirmation form %s points at missing request %s", form.ConfirmationNo, form.OriginalSerialNo)
		}
		if original.Status == statusReversed {
			return conflict(codeStateConflict, "invoice %s was already reversed by red invoice %s", original.InvoiceNo, original.RedInvoiceNo)
		}
		if original.Status != statusIssued {
			return conflict(codeStateConflict, "invoice %s is %s, only an issued invoice can be reversed", original.InvoiceNo, original.Status)
		}
		var pending []string
		err = tx.NewSelect().Model((*requestRow)(nil)).Column("serial_no").
			Where("original_serial_no = ?", original.SerialNo).Where("status = ?", statusProcessing).Scan(ctx, &pending)
		if err != nil {
			return fmt.Errorf("read red requests of %s: %w", original.InvoiceNo, err)
		}
		if len(pending) > 0 {
			return conflict(codeStateConflict, "a red invoice for %s is already processing under serial number %s", original.InvoiceNo, pending[0])
		}

		now := time.Now().UTC()
		row := &requestRow{
			SerialNo:          request.SerialNo,
			Red:               true,
			ContractNo:        original.ContractNo,
			InvoiceKind:       original.InvoiceKind,
			BuyerName:         original.BuyerName,
			Currency:          original.Currency,
			BodyHash:          bodyHash,
			Body:              normalizedBody,
			TotalAmount:       form.TotalAmount,
			TotalTax:          form.TotalTax,
			TotalInclusive:    form.TotalInclusive,
			Status:            statusProcessing,
			DueAtMS:           now.Add(s.cfg.IssueDelay).UnixMilli(),
			PlannedFailure:    plannedFailure(r.Context(), request.SerialNo),
			OriginalSerialNo:  original.SerialNo,
			OriginalInvoiceNo: original.InvoiceNo,
			ConfirmationNo:    form.ConfirmationNo,
			CreatedAt:         now,
			UpdatedAt:         now,
		}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("store red invoice request %s: %w", row.SerialNo, err)
		}
		result = row
		return nil
	})
	if err != nil {
		s.writeTxError(w, r, err)
		return
	}
	writeEnvelope(w, http.StatusOK, codeOK, "success", viewOf(result))
}

// formatNumber builds a 20-digit number: two digits of the year in China
// Standard Time, the region code, one channel digit and a 15-digit
// sequence. Fully digital invoice numbers have this layout. Confirmation
// forms use it with channel digit 9, a layout of the simulator's own.
func (s *Simulator) formatNumber(at time.Time, channel string, sequence int64) string {
	year := at.In(chinaStandardTime).Format("06")
	return fmt.Sprintf("%s%s%s%015d", year, s.cfg.RegionCode, channel, sequence)
}

var chinaStandardTime = time.FixedZone("CST", 8*60*60)

func negate(amount string) string {
	return decimal.RequireFromString(amount).Neg().StringFixed(2)
}
