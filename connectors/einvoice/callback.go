package einvoice

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ordo-project/ordo/connectors"
)

// Callback headers the platform sets on every event.
const (
	HeaderCallbackEvent     = "X-Ordo-Event"
	HeaderCallbackTimestamp = "X-Ordo-Timestamp"
	HeaderCallbackSignature = "X-Ordo-Signature"
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

// VerifyCallback checks the X-Ordo-Timestamp and X-Ordo-Signature headers
// of a callback against its raw body. It rejects a timestamp more than
// maxAge away from now, so a captured callback cannot be replayed later.
// Every failure wraps ErrCallbackSignature.
func VerifyCallback(secret string, header http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	timestamp := header.Get(HeaderCallbackTimestamp)
	signature := header.Get(HeaderCallbackSignature)
	if timestamp == "" || signature == "" {
		return fmt.Errorf("%w: missing %s or %s header", ErrCallbackSignature, HeaderCallbackTimestamp, HeaderCallbackSignature)
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrCallbackSignature, timestamp)
	}
	age := now.Sub(time.Unix(seconds, 0))
	if age > maxAge || age < -maxAge {
		return fmt.Errorf("%w: timestamp %s is more than %s away from now", ErrCallbackSignature, timestamp, maxAge)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "." + string(body)))
	expected := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(expected), []byte(signature)) {
		return fmt.Errorf("%w: signature does not match the body", ErrCallbackSignature)
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
