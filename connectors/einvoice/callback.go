package einvoice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/signing"
)

// Callback headers the platform sets on every event. The timestamp and
// signature follow package signing.
const (
	HeaderCallbackEvent     = "X-Ordo-Event"
	HeaderCallbackTimestamp = signing.HeaderTimestamp
	HeaderCallbackSignature = signing.HeaderSignature
)

// Callback event names.
const (
	EventIssued   = "invoice.issued"
	EventFailed   = "invoice.failed"
	EventReversed = "invoice.reversed"
)

// ErrCallbackSignature means a callback's signature headers are missing,
// stale or do not match its body. Reply 401 and do not act on the event.
var ErrCallbackSignature = errors.New("invalid callback signature")

// CallbackEvent is an event the platform posts when a request completes.
type CallbackEvent struct {
	// ID is stable across deliveries of the same event; deduplicate on it.
	ID         string
	Event      string
	OccurredAt time.Time
	// Invoice is the request the event is about. For EventReversed it is
	// the original blue invoice, now reversed.
	Invoice connectors.Invoice
}

// VerifyCallback checks the signature headers of a callback against its
// raw body, rejecting a timestamp more than maxAge away from now, so a
// captured callback cannot be replayed later. Every failure wraps
// ErrCallbackSignature.
func VerifyCallback(secret string, header http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	if err := signing.Verify(header, []byte(secret), body, now, maxAge); err != nil {
		return fmt.Errorf("%w: %w", ErrCallbackSignature, err)
	}
	return nil
}

// ParseCallback decodes a verified callback body.
func ParseCallback(body []byte) (CallbackEvent, error) {
	var payload struct {
		EventID    string      `json:"event_id"`
		Event      string      `json:"event"`
		OccurredAt string      `json:"occurred_at"`
		Data       invoiceView `json:"data"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return CallbackEvent{}, fmt.Errorf("decode e-invoice callback: %w", err)
	}
	if payload.EventID == "" || payload.Event == "" {
		return CallbackEvent{}, errors.New("decode e-invoice callback: missing event_id or event")
	}
	occurredAt, err := time.Parse(time.RFC3339Nano, payload.OccurredAt)
	if err != nil {
		return CallbackEvent{}, fmt.Errorf("decode e-invoice callback %s: occurred_at %q is not an RFC 3339 time", payload.EventID, payload.OccurredAt)
	}
	invoice, err := payload.Data.invoice("Callback")
	if err != nil {
		return CallbackEvent{}, fmt.Errorf("decode e-invoice callback %s: %w", payload.EventID, err)
	}
	return CallbackEvent{ID: payload.EventID, Event: payload.Event, OccurredAt: occurredAt, Invoice: invoice}, nil
}
