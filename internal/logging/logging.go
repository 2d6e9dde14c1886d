// Package logging configures ordo's logrus logger and bridges it into the
// loggers of the Temporal server, the Temporal SDK and go-plugin, so every
// component writes one stream with the same field names.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
)

// Field names used in structured log entries. Every package logs through
// these constants so operators can filter on one spelling.
const (
	KeyComponent   = "component"
	KeyContractNo  = "contract_no"
	KeyWorkflowID  = "workflow_id"
	KeyRunID       = "run_id"
	KeyActivity    = "activity"
	KeyConnector   = "connector"
	KeyStep        = "step"
	KeyDocumentNo  = "document_no"
	KeyAttempt     = "attempt"
	KeyError       = "error"
	KeyFile        = "file"
	KeyLine        = "line"
	KeyAddress     = "address"
	KeyDataDir     = "data_dir"
	KeyDuration    = "duration"
	KeyEventID     = "event_id"
	KeyReceiptID   = "receipt_id"
	KeyOperation   = "operation"
	KeyStatusCode  = "status_code"
	KeyCount       = "count"
	KeyFormID      = "form_id"
	KeyLeadID      = "lead_id"
	KeyTaskQueue   = "task_queue"
	KeyPlugin      = "plugin"
	KeyRemoteAddr  = "remote_addr"
	KeyHTTPMethod  = "method"
	KeyHTTPPath    = "path"
	KeyRuleVersion = "rule_version"
	KeyApprovalID  = "approval_id"
)

// Options selects the output format and level of the root logger.
type Options struct {
	// Level is one of trace, debug, info, warn, error.
	Level string
	// Format is "text" (default, for terminals) or "json" (for log shippers).
	Format string
	// Output defaults to standard error.
	Output io.Writer
}

// New builds the root logger from the options.
func New(opts Options) (*logrus.Logger, error) {
	logger := logrus.New()
	logger.SetOutput(os.Stderr)
	if opts.Output != nil {
		logger.SetOutput(opts.Output)
	}

	level := opts.Level
	if level == "" {
		level = "info"
	}
	parsed, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("invalid log level %q: use trace, debug, info, warn or error", level)
	}
	logger.SetLevel(parsed)

	switch strings.ToLower(opts.Format) {
	case "", "text":
		logger.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "2006-01-02T15:04:05.000Z07:00"})
	case "json":
		logger.SetFormatter(&logrus.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z07:00"})
	default:
		return nil, fmt.Errorf("invalid log format %q: use text or json", opts.Format)
	}
	return logger, nil
}

// Discard returns a logger that drops everything, for tests and benchmarks.
func Discard() *logrus.Logger {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	logger.SetLevel(logrus.PanicLevel)
	return logger
}
