package einvoice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/internal/simulators"
	"io"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
)

// Callback headers.
const (
	HeaderCallbackEvent     = "X-Ordo-Event"
	HeaderCallbackTimestamp = "X-Ordo-Timestamp"
	HeaderCallbackSignature = "X-Ordo-Signature"
)

// callbackPayload is the body of a callback request.
type callbackPayload struct {
	EventID    string      `json:"event_id"`
	Event      string      `json:"event"`
	OccurredAt string      `json:"occurred_at"`
	Data       invoiceView `json:"data"`
}

// enqueueCallback stores an event for delivery, inside the transaction that
// changed the invoice. It does nothing when no callback URL is set.
func (s *Simulator) enqueueCallback(ctx context.Context, tx bun.Tx, event string, row *requestRow) error {
	url := s.currentCallbackURL()
	if url == "" {
		return nil
	}
	now := time.Now().UTC()
	payload := callbackPayload{
		EventID:    row.SerialNo + ":" + event,
		Event:      event,
		OccurredAt: now.Format(time.RFC3339Nano),
		Data:       viewOf(row),
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s event of %s: %w", event, row.SerialNo, err)
	}
	callback := &callbackRow{
		EventID:   payload.EventID,
		Event:     event,
		SerialNo:  row.SerialNo,
		URL:       url,
		Body:      string(body),
		NextAtMS:  now.UnixMilli(),
		State:     callbackPending,
		CreatedAt: now,
	}
	if _, err := tx.NewInsert().Model(callback).On("CONFLICT (event_id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("queue %s event of %s: %w", event, row.SerialNo, err)
	}
	return nil
}

// deliverDue sends every callback whose next attempt is due.
func (s *Simulator) deliverDue(ctx context.Context) error {
	var rows []*callbackRow
	err := s.cfg.DB.NewSelect().Model(&rows).
		Where("state = ?", callbackPending).Where("next_at_ms <= ?", time.Now().UnixMilli()).
		Order("id").Limit(batchSize).Scan(ctx)
	if err != nil {
		return fmt.Errorf("list due callbacks: %w", err)
	}
	simulators.ForEachConcurrently(rows, callbackConcurrency, func(row *callbackRow) {
		if ctx.Err() == nil {
			s.deliver(ctx, row)
		}
	})
	return nil
}

// callbackConcurrency bounds the callbacks in flight at once.
const callbackConcurrency = 16

// deliver makes one delivery attempt and stores its outcome.
func (s *Simulator) deliver(ctx context.Context, row *callbackRow) {
	row.Attempts++
	log := s.log.WithFields(logrus.Fields{
		logging.KeyEventID:    row.EventID,
		logging.KeyDocumentNo: row.SerialNo,
		logging.KeyAttempt:    row.Attempts,
	})

	deliveryErr := s.post(ctx, row)
	switch {
	case deliveryErr == nil:
		row.State = callbackDelivered
		row.LastError = ""
		log.Debug("callback delivered")
	case row.Attempts >= s.cfg.CallbackMaxAttempts:
		row.State = callbackAbandoned
		row.LastError = deliveryErr.Error()
		log.WithField(logging.KeyError, deliveryErr).Error("callback abandoned after the last attempt")
	default:
		row.LastError = deliveryErr.Error()
		wait := s.callbackBackoff(row.Attempts)
		row.NextAtMS = time.Now().Add(wait).UnixMilli()
		log.WithFields(logrus.Fields{logging.KeyError: deliveryErr, logging.KeyDuration: wait}).Warn("callback failed, will retry")
	}
	_, err := s.cfg.DB.NewUpdate().Model(row).Column("attempts", "state", "last_error", "next_at_ms").WherePK().Exec(ctx)
	if err != nil && ctx.Err() == nil {
		log.WithField(logging.KeyError, err).Error("storing callback outcome failed, it will be delivered again")
	}
}

// callbackBackoff returns the wait after the given number of failed
// attempts: CallbackBackoff doubled per attempt, capped at
// CallbackMaxBackoff.
func (s *Simulator) callbackBackoff(attempts int) time.Duration {
	wait := s.cfg.CallbackBackoff
	for i := 1; i < attempts && wait < s.cfg.CallbackMaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, s.cfg.CallbackMaxBackoff)
}

func (s *Simulator) post(ctx context.Context, row *callbackRow) error {
	body := []byte(row.Body)
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, row.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build callback request to %s: %w", row.URL, err)
	}
	request.Header.Set("Content-Type", "application/json; charset=utf-8")
	request.Header.Set(HeaderCallbackEvent, row.Event)
	signing.SetHeaders(request.Header, []byte(s.cfg.CallbackSecret), time.Now(), body)
	response, err := s.callbacks.Do(request)
	if err != nil {
		return fmt.Errorf("post callback to %s: %w", row.URL, err)
	}
	defer response.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(response.Body, 64<<10))
	if response.StatusCode < 200 || response.StatusCode > 299 {
		return fmt.Errorf("post callback to %s: HTTP %d", row.URL, response.StatusCode)
	}
	return nil
}
