package connectors

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorKind classifies a failed call so activities can decide, at one
// boundary, whether Temporal retries it.
type ErrorKind string

// Error kinds. Transient and Throttled are retried; the others need a
// person to fix data or configuration first.
const (
	// KindTransient covers timeouts, connection errors, 5xx answers and
	// lost sessions that survived one re-login.
	KindTransient ErrorKind = "transient"
	// KindThrottled is a 429 or a vendor's rate-limit code.
	KindThrottled ErrorKind = "throttled"
	// KindValidation is a rejected request: a 4xx answer or a field error.
	KindValidation ErrorKind = "validation"
	// KindAuth is a rejected credential. Retrying cannot help.
	KindAuth ErrorKind = "auth"
	// KindNotFound means the referenced document does not exist.
	KindNotFound ErrorKind = "not_found"
	// KindConflict means the document exists in a state that forbids the
	// operation, for example deleting an audited order.
	KindConflict ErrorKind = "conflict"
	// KindProtocol means the answer could not be understood.
	KindProtocol ErrorKind = "protocol"
)

// FieldError points at one rejected field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Index is the position of the line the field belongs to, -1 for the
	// header.
	Index int `json:"index"`
}

// Error is a failed call to an outside system.
type Error struct {
	Kind      ErrorKind
	Connector string
	// Operation names the call, e.g. "Save SAL_SaleOrder".
	Operation string
	// StatusCode is the HTTP status, 0 if none was received.
	StatusCode int
	// Code is the vendor's error code as text, e.g. "500" or "40014".
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Connector, e.Operation, e.Kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " code %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; field %s", f.Field)
		if f.Index >= 0 {
			fmt.Fprintf(&b, " (line %d)", f.Index+1)
		}
		fmt.Fprintf(&b, ": %s", f.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether repeating the same call may succeed.
func (e *Error) Retryable() bool {
	return e.Kind == KindTransient || e.Kind == KindThrottled
}

// IsRetryable reports whether err may succeed on retry. Errors that are not
// a connector *Error (context deadlines, network errors) count as retryable.
func IsRetryable(err error) bool {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Retryable()
	}
	return err != nil
}

// KindOf returns the kind of a connector error, or KindTransient for any
// other non-nil error.
func KindOf(err error) ErrorKind {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return KindTransient
}

// IsNotFound reports whether err says the document does not exist.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound && err != nil }
