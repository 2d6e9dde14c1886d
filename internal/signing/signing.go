// Package signing signs and verifies HTTP bodies exchanged with ordo:
// inbound CRM events and callbacks from outside systems. The signature is
// HMAC-SHA256 over the decimal Unix timestamp, a dot and the raw body,
// sent as
//
//	X-Ordo-Timestamp: 1733300000
//	X-Ordo-Signature: sha256=<lowercase hex>
//
// Binding the timestamp into the MAC lets the receiver reject old messages,
// and the receiver's record of event ids rejects replays within the window.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderTimestamp = "X-Ordo-Timestamp"
	HeaderSignature = "X-Ordo-Signature"
	signaturePrefix = "sha256="
)

// Errors returned by Verify. Each maps to a 401 answer.
var (
	ErrMissingSignature = errors.New("missing " + HeaderSignature + " or " + HeaderTimestamp + " header")
	ErrBadTimestamp     = errors.New("invalid " + HeaderTimestamp + ": expected Unix seconds")
	ErrStale            = errors.New("timestamp outside the accepted window")
	ErrBadSignature     = errors.New("signature does not match the body")
)

// Sign returns the signature header value for body at timestamp.
func Sign(secret []byte, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(timestamp.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// SetHeaders signs body and sets both headers on h.
func SetHeaders(h http.Header, secret []byte, now time.Time, body []byte) {
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, now, body))
}

// Verify checks the headers against body. tolerance bounds the difference
// between the signed timestamp and now in either direction.
func Verify(h http.Header, secret []byte, body []byte, now time.Time, tolerance time.Duration) error {
	timestampText := strings.TrimSpace(h.Get(HeaderTimestamp))
	signature := strings.TrimSpace(h.Get(HeaderSignature))
	if timestampText == "" || signature == "" {
		return ErrMissingSignature
	}
	seconds, err := strconv.ParseInt(timestampText, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	signedAt := time.Unix(seconds, 0)
	if skew := now.Sub(signedAt); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: signed at %s, now %s, window ±%s", ErrStale,
			signedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	expected := Sign(secret, signedAt, body)
	if !hmac.Equal([]byte(expected), []byte(strings.ToLower(signature))) {
		return ErrBadSignature
	}
	return nil
}
