package kingdee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/internal/simulators"
)

// Headers of a completion callback, signed as package signing describes.
const (
	HeaderTimestamp = signing.HeaderTimestamp
	HeaderSignature = signing.HeaderSignature
)

// batchSize bounds the rows one background round processes, so a backlog
// after a long stop is worked off over several rounds.
const batchSize = 100

// CompletionCallback is the body POSTed to Config.CallbackURL when a
// production order completes.
type CompletionCallback struct {
	FormID      string `json:"form_id"`
	Number      string `json:"number"`
	Status      string `json:"status"`
	ContractNo  string `json:"contract_no"`
	CompletedAt string `json:"completed_at"`
}

// maintenanceLoop completes due production orders, retries sales-order
// notifications that failed and prunes idle sessions, once per
// PollInterval until Close.
func (s *Simulator) maintenanceLoop() {
	ticker := time.NewTicker(s.cfg.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.completeDueOrders(ctx); err != nil {
			s.log.WithError(err).Error("Failed to complete due production orders")
		}
		s.retryNotificationsWithBackoff(ctx)
		cancel()
		s.sessions.prune(time.Now())
	}
}

// completeDueOrders moves released production orders whose completion is
// due to FStatus 5 and queues their callbacks, one transaction per order.
func (s *Simulator) completeDueOrders(ctx context.Context) error {
	var due []document
	err := s.db.NewSelect().Model(&due).
		Where("d.form_id = ?", FormProductionOrder).
		Where("d.complete_due_at IS NOT NULL").
		Where("d.complete_due_at <= ?", time.Now().UnixMilli()).
		Order("d.complete_due_at").Limit(batchSize).Scan(ctx)
	if err != nil {
		return fmt.Errorf("select due production orders: %w", err)
	}
	queued := false
	for _, candidate := range due {
		completed := false
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			// Re-read inside the transaction: an un-audit or force-close may
			// have cancelled the completion since the select.
			doc, found, err := findByID(ctx, tx, FormProductionOrder, candidate.ID)
			if err != nil || !found || doc.CompleteDueAt == 0 || doc.DocumentStatus != StatusAudited {
				return err
			}
			if doc.Status != ProductionReleased && doc.Status != ProductionStarted {
				doc.CompleteDueAt = 0
				return updateDocument(ctx, tx, doc)
			}
			now := time.Now()
			doc.Status = ProductionCompleted
			doc.CompletedAt = wallClock(now)
			doc.ModifiedAt = doc.CompletedAt
			doc.CompleteDueAt = 0
			if err := updateDocument(ctx, tx, doc); err != nil {
				return err
			}
			completed = true
			if s.cfg.CallbackURL == "" {
				return nil
			}
			body, err := json.Marshal(CompletionCallback{
				FormID:      FormProductionOrder,
				Number:      doc.Number,
				Status:      ProductionCompleted,
				ContractNo:  doc.ContractNo,
				CompletedAt: now.UTC().Format(time.RFC3339),
			})
			if err != nil {
				return fmt.Errorf("encode callback for %s: %w", doc.Number, err)
			}
			cb := &callback{Number: doc.Number, Body: string(body), NextAttemptAt: now.UnixMilli()}
			if _, err := tx.NewInsert().Model(cb).Exec(ctx); err != nil {
				return fmt.Errorf("queue callback for %s: %w", doc.Number, err)
			}
			queued = true
			return nil
		})
		if err != nil {
			return err
		}
		if completed {
			s.log.WithFields(logrus.Fields{
				logging.KeyFormID:     FormProductionOrder,
				logging.KeyDocumentNo: candidate.Number,
				logging.KeyContractNo: candidate.ContractNo,
			}).Info("Production order completed")
		}
	}
	if queued {
		select {
		case s.wakeCallbacks <- struct{}{}:
		default:
		}
	}
	return nil
}

// callbackLoop delivers queued callbacks, woken by new completions and
// otherwise once per PollInterval for retries that came due.
func (s *Simulator) callbackLoop() {
	ticker := time.NewTicker(s.cfg.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		case <-s.wakeCallbacks:
		}
		if s.cfg.CallbackURL == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.deliverCallbacks(ctx); err != nil {
			s.log.WithError(err).Error("Failed to deliver callbacks")
		}
		cancel()
	}
}

func (s *Simulator) deliverCallbacks(ctx context.Context) error {
	var pending []callback
	err := s.db.NewSelect().Model(&pending).
		Where("c.delivered_at IS NULL").
		Where("c.failed_at IS NULL").
		Where("c.next_attempt_at <= ?", time.Now().UnixMilli()).
		Order("c.id").Limit(batchSize).Scan(ctx)
	if err != nil {
		return fmt.Errorf("select pending callbacks: %w", err)
	}
	var failed error
	var mu sync.Mutex
	simulators.ForEachConcurrently(pending, callbackConcurrency, func(cb callback) {
		select {
		case <-s.stop:
			return
		default:
		}
		if err := s.attemptCallback(ctx, &cb); err != nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
	})
	return failed
}

// callbackConcurrency bounds the callbacks in flight at once.
const callbackConcurrency = 16

// attemptCallback sends one callback and records the attempt.
func (s *Simulator) attemptCallback(ctx context.Context, cb *callback) error {
	sendErr := s.sendCallback(ctx, cb)
	cb.Attempts++
	entry := s.log.WithFields(logrus.Fields{
		logging.KeyFormID:     FormProductionOrder,
		logging.KeyDocumentNo: cb.Number,
		logging.KeyAttempt:    cb.Attempts,
	})
	now := time.Now()
	switch {
	case sendErr == nil:
		cb.DeliveredAt = now.UnixMilli()
		cb.LastError = ""
		entry.Debug("Delivered completion callback")
	case cb.Attempts >= s.cfg.CallbackAttempts:
		cb.FailedAt = now.UnixMilli()
		cb.LastError = sendErr.Error()
		entry.WithError(sendErr).Error("Gave up delivering completion callback")
	default:
		backoff := s.cfg.CallbackBackoff << (cb.Attempts - 1)
		cb.NextAttemptAt = now.Add(backoff).UnixMilli()
		cb.LastError = sendErr.Error()
		entry.WithError(sendErr).Warnf("Completion callback failed; retrying in %s", backoff)
	}
	if _, err := s.db.NewUpdate().Model(cb).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("record callback attempt for %s: %w", cb.Number, err)
	}
	return nil
}

// sendCallback POSTs one signed callback. Any status but 2xx fails it.
func (s *Simulator) sendCallback(ctx context.Context, cb *callback) error {
	body := []byte(cb.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build callback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	signing.SetHeaders(req.Header, []byte(s.cfg.CallbackSecret), time.Now(), body)
	resp, err := s.callbackClient.Do(req)
	if err != nil {
		return fmt.Errorf("post callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback receiver responded with HTTP %d", resp.StatusCode)
	}
	return nil
}

// notifySalesOrder reports an audited sales order to the world and records
// that it did. A failure is logged and retried by the maintenance loop.
func (s *Simulator) notifySalesOrder(ctx context.Context, id int64) {
	// The caller's request may end right after the reply, but the
	// notification belongs to the committed audit, not to the request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.notifyOne(ctx, id); err != nil {
		s.log.WithError(err).WithField(logging.KeyFormID, FormSalesOrder).Warn("Failed to report audited sales order; will retry")
	}
}

func (s *Simulator) notifyOne(ctx context.Context, id int64) error {
	// The audit handler and the maintenance loop may both pick the order
	// up, and the lock makes the second one see notified_at set.
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	doc, found, err := findByID(ctx, s.db, FormSalesOrder, id)
	if err != nil || !found || doc.DocumentStatus != StatusAudited || doc.NotifiedAt != 0 {
		return err
	}
	event, err := salesOrderEvent(ctx, s.db, doc)
	if err != nil {
		return err
	}
	if err := s.world.SalesOrderAudited(ctx, event); err != nil {
		return fmt.Errorf("report sales order %s: %w", doc.Number, err)
	}
	_, err = s.db.NewUpdate().Model((*document)(nil)).
		Set("notified_at = ?", time.Now().UnixMilli()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record notification of sales order %s: %w", doc.Number, err)
	}
	s.log.WithFields(logrus.Fields{
		logging.KeyDocumentNo: doc.Number,
		logging.KeyContractNo: doc.ContractNo,
	}).Debug("Reported audited sales order")
	return nil
}

// retryNotificationsWithBackoff runs retryNotifications, waiting twice as
// long after each failed round (up to a minute), so a world that keeps
// failing is neither hammered nor logged every PollInterval.
func (s *Simulator) retryNotificationsWithBackoff(ctx context.Context) {
	if time.Now().Before(s.notifyRetryAt) {
		return
	}
	err := s.retryNotifications(ctx)
	if err == nil {
		s.notifyRetryDelay = 0
		return
	}
	s.notifyRetryDelay = min(max(2*s.notifyRetryDelay, s.cfg.PollInterval), time.Minute)
	s.notifyRetryAt = time.Now().Add(s.notifyRetryDelay)
	s.log.WithError(err).Warnf("Failed to report audited sales orders; retrying in %s", s.notifyRetryDelay)
}

// retryNotifications reports audited sales orders whose notification
// failed or was cut off by a crash.
func (s *Simulator) retryNotifications(ctx context.Context) error {
	var ids []int64
	err := s.db.NewSelect().Model((*document)(nil)).Column("d.id").
		Where("d.form_id = ?", FormSalesOrder).
		Where("d.document_status = ?", StatusAudited).
		Where("d.notified_at IS NULL").
		Order("d.id").Limit(batchSize).Scan(ctx, &ids)
	if err != nil {
		return fmt.Errorf("select unreported sales orders: %w", err)
	}
	for _, id := range ids {
		if err := s.notifyOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// salesOrderEvent describes an audited sales order for the world.
func salesOrderEvent(ctx context.Context, db bun.IDB, doc *document) (simulators.SalesOrderAudited, error) {
	model, err := doc.model()
	if err != nil {
		return simulators.SalesOrderAudited{}, err
	}
	customerNumber := stringAt(model, "FCustId.FNumber")
	customerName := customerNumber
	if customer, found, err := findByNumber(ctx, db, FormCustomer, customerNumber); err != nil {
		return simulators.SalesOrderAudited{}, err
	} else if found {
		stored, err := customer.model()
		if err != nil {
			return simulators.SalesOrderAudited{}, err
		}
		if name := stringAt(stored, "FName"); name != "" {
			customerName = name
		}
	}
	currency := stringAt(model, "FSaleOrderFinance.FSettleCurrId.FNumber")
	if iso, ok := currencyISO[currency]; ok {
		currency = iso
	}
	total, _ := decimalAt(model, "FSaleOrderFinance.FBillAllAmount")
	auditedAt, err := time.ParseInLocation("2006-01-02T15:04:05", doc.ApprovedAt, chinaTime)
	if err != nil {
		auditedAt = time.Now()
	}
	return simulators.SalesOrderAudited{
		Number:       doc.Number,
		ContractNo:   doc.ContractNo,
		CustomerName: customerName,
		Currency:     currency,
		Total:        total,
		AuditedAt:    auditedAt.UTC(),
	}, nil
}
