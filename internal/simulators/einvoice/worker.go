package einvoice

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

const (
	ledgerSystem = "einvoice"
	batchSize    = 50
)

// Callback event names.
const (
	eventIssued   = "invoice.issued"
	eventFailed   = "invoice.failed"
	eventReversed = "invoice.reversed"
)

// runLoop calls step every PollInterval until ctx ends. A failed step is
// logged and tried again on the next tick.
func (s *Simulator) runLoop(ctx context.Context, name string, step func(context.Context) error) {
	simulators.Every(ctx, s.cfg.PollInterval, step, func(err error) {
		s.log.WithFields(logrus.Fields{keyLoop: name, logging.KeyError: err}).Error("background step failed")
	})
}

// completeDue issues or fails every request whose due time has passed, then
// reports issued invoices the World has not accepted yet.
func (s *Simulator) completeDue(ctx context.Context) error {
	var serials []string
	err := s.cfg.DB.NewSelect().Model((*requestRow)(nil)).Column("serial_no").
		Where("status = ?", statusProcessing).Where("due_at_ms <= ?", time.Now().UnixMilli()).
		Order("due_at_ms").Limit(batchSize).Scan(ctx, &serials)
	if err != nil {
		return fmt.Errorf("list due invoice requests: %w", err)
	}
	for _, serialNo := range serials {
		if err := s.complete(ctx, serialNo); err != nil {
			s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: serialNo, logging.KeyError: err}).Error("completing invoice request failed")
		}
	}
	return s.notifyPending(ctx)
}

// complete moves one due request to issued or failed. The invoice number,
// the ledger entry and the callback event are written in one transaction,
// so a crash leaves either all of them or none.
func (s *Simulator) complete(ctx context.Context, serialNo string) error {
	var issued *requestRow
	err := s.cfg.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := findRequest(ctx, tx, serialNo)
		if err != nil {
			return err
		}
		// Another process on the same file may have completed it since the
		// listing.
		if row == nil || row.Status != statusProcessing {
			return nil
		}
		now := time.Now().UTC()
		row.UpdatedAt = now

		if row.PlannedFailure != "" {
			return s.fail(ctx, tx, row, row.PlannedFailure)
		}
		if row.Red {
			return s.completeRed(ctx, tx, row, now)
		}

		sequence, err := nextSequence(ctx, tx, "invoice")
		if err != nil {
			return err
		}
		row.Status = statusIssued
		row.InvoiceNo = s.formatNumber(now, "0", sequence)
		row.IssuedAt = now
		if _, err := tx.NewUpdate().Model(row).Column("status", "invoice_no", "issued_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("store issued invoice %s: %w", row.SerialNo, err)
		}
		detail := fmt.Sprintf("serial %s, kind %s, total %s", row.SerialNo, row.InvoiceKind, row.TotalInclusive)
		if err := simulators.Record(ctx, tx, ledgerSystem, "invoice", row.InvoiceNo, row.ContractNo, detail); err != nil {
			return err
		}
		if err := s.enqueueCallback(ctx, tx, eventIssued, row); err != nil {
			return err
		}
		issued = row
		return nil
	})
	if err != nil {
		return err
	}
	if issued != nil {
		s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: issued.InvoiceNo, logging.KeyContractNo: issued.ContractNo}).
			Info("invoice issued")
		s.notifyWorld(ctx, issued)
	}
	return nil
}

// fail marks a request failed with reason and queues its event.
func (s *Simulator) fail(ctx context.Context, tx bun.Tx, row *requestRow, reason string) error {
	row.Status = statusFailed
	row.FailureReason = reason
	if _, err := tx.NewUpdate().Model(row).Column("status", "failure_reason", "updated_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("store failed invoice request %s: %w", row.SerialNo, err)
	}
	s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: row.SerialNo, logging.KeyContractNo: row.ContractNo}).
		Info("invoice request failed: " + reason)
	return s.enqueueCallback(ctx, tx, eventFailed, row)
}

// completeRed issues a red invoice and marks its original reversed.
func (s *Simulator) completeRed(ctx context.Context, tx bun.Tx, row *requestRow, now time.Time) error {
	original, err := findRequest(ctx, tx, row.OriginalSerialNo)
	if err != nil {
		return err
	}
	if original == nil || original.Status != statusIssued {
		return s.fail(ctx, tx, row, fmt.Sprintf("original invoice %s is no longer issued", row.OriginalInvoiceNo))
	}

	sequence, err := nextSequence(ctx, tx, "invoice")
	if err != nil {
		return err
	}
	row.Status = statusIssued
	row.InvoiceNo = s.formatNumber(now, "0", sequence)
	row.IssuedAt = now
	if _, err := tx.NewUpdate().Model(row).Column("status", "invoice_no", "issued_at", "updated_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("store red invoice %s: %w", row.SerialNo, err)
	}

	original.Status = statusReversed
	original.RedSerialNo = row.SerialNo
	original.RedInvoiceNo = row.InvoiceNo
	original.UpdatedAt = now
	if _, err := tx.NewUpdate().Model(original).Column("status", "red_serial_no", "red_invoice_no", "updated_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("mark invoice %s reversed: %w", original.InvoiceNo, err)
	}

	detail := fmt.Sprintf("serial %s, reverses %s, total %s", row.SerialNo, original.InvoiceNo, row.TotalInclusive)
	if err := simulators.Record(ctx, tx, ledgerSystem, "red_invoice", row.InvoiceNo, row.ContractNo, detail); err != nil {
		return err
	}
	s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: row.InvoiceNo, logging.KeyContractNo: row.ContractNo}).
		Info("red invoice issued, reversing " + original.InvoiceNo)
	return s.enqueueCallback(ctx, tx, eventReversed, original)
}

// notifyPending reports issued blue invoices whose World event did not go
// through, for example because the process stopped right after the commit.
func (s *Simulator) notifyPending(ctx context.Context) error {
	var rows []*requestRow
	err := s.cfg.DB.NewSelect().Model(&rows).
		Where("red = ?", false).Where("status = ?", statusIssued).Where("world_notified = ?", false).
		Order("issued_at").Limit(batchSize).Scan(ctx)
	if err != nil {
		return fmt.Errorf("list invoices not reported to the world: %w", err)
	}
	for _, row := range rows {
		s.notifyWorld(ctx, row)
	}
	return nil
}

// notifyWorld reports an issued blue invoice to the World and records that
// the World accepted it. A failure is logged and retried on the next tick.
func (s *Simulator) notifyWorld(ctx context.Context, row *requestRow) {
	total, err := decimal.NewFromString(row.TotalInclusive)
	if err != nil {
		s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: row.InvoiceNo, logging.KeyError: err}).Error("stored total is not a number")
		return
	}
	event := simulators.InvoiceIssued{
		SerialNo:       row.SerialNo,
		InvoiceNo:      row.InvoiceNo,
		ContractNo:     row.ContractNo,
		BuyerName:      row.BuyerName,
		Currency:       row.Currency,
		TotalInclusive: total,
		IssuedAt:       row.IssuedAt,
	}
	if err := s.cfg.World.InvoiceIssued(ctx, event); err != nil {
		s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: row.InvoiceNo, logging.KeyContractNo: row.ContractNo, logging.KeyError: err}).
			Warn("reporting issued invoice to the simulated world failed, will retry")
		return
	}
	_, err = s.cfg.DB.NewUpdate().Model((*requestRow)(nil)).Set("world_notified = ?", true).
		Where("serial_no = ?", row.SerialNo).Exec(ctx)
	if err != nil {
		s.log.WithFields(logrus.Fields{logging.KeyDocumentNo: row.InvoiceNo, logging.KeyError: err}).
			Warn("storing that the world was told failed, the event will be reported again")
	}
}
