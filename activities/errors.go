package activities

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/connectors"
)

// Application error types of non-retryable failures. Workflows and
// operators branch on these names, so they are stable.
const (
	ErrTypeValidation = "ordo.validation"
	ErrTypeAuth       = "ordo.auth"
	ErrTypeNotFound   = "ordo.not_found"
	ErrTypeConflict   = "ordo.conflict"
	ErrTypeProtocol   = "ordo.protocol"
	ErrTypeInput      = "ordo.invalid_input"
)

// FailureDetail is attached to non-retryable errors so the workflow can
// show which field to fix.
type FailureDetail struct {
	Connector string                  `json:"connector"`
	Operation string                  `json:"operation"`
	Code      string                  `json:"code,omitempty"`
	Fields    []connectors.FieldError `json:"fields,omitempty"`
}

// classify turns a connector failure into the error Temporal should see:
// retryable errors are wrapped and returned, the others become
// non-retryable application errors carrying a FailureDetail.
func classify(action string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", action, err)
	}
	if ce.Retryable() {
		return fmt.Errorf("%s: %w", action, err)
	}
	errType := map[connectors.ErrorKind]string{
		connectors.KindValidation: ErrTypeValidation,
		connectors.KindAuth:       ErrTypeAuth,
		connectors.KindNotFound:   ErrTypeNotFound,
		connectors.KindConflict:   ErrTypeConflict,
		connectors.KindProtocol:   ErrTypeProtocol,
	}[ce.Kind]
	if errType == "" {
		errType = ErrTypeProtocol
	}
	detail := FailureDetail{Connector: ce.Connector, Operation: ce.Operation, Code: ce.Code, Fields: ce.Fields}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", action, err), errType, err, detail)
}

// invalidInput rejects an activity input that can never succeed.
func invalidInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeInput, nil)
}
