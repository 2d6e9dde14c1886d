package logging

import (
	"fmt"
	"io"
	"log"

	"github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
)

// HCLog returns an hclog.Logger that writes through entry, for go-plugin.
// go-plugin parses each JSON log line a plugin writes to stderr and logs it
// here with the plugin's key-value pairs as logrus fields, so plugin output
// joins ordo's stream.
func HCLog(entry *logrus.Entry, name string) hclog.Logger {
	return &hclogAdapter{entry: entry, name: name}
}

type hclogAdapter struct {
	entry *logrus.Entry
	name  string
	args  []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl := toLogrus(level)
	if !h.entry.Logger.IsLevelEnabled(lvl) {
		return
	}
	entry := h.entry.WithFields(fieldsOf(h.args)).WithFields(fieldsOf(args))
	if h.name != "" {
		entry = entry.WithField(KeyComponent, h.name)
	}
	entry.Log(lvl, msg)
}

// fieldsOf turns hclog's alternating keys and values into logrus fields. A
// trailing key without a value is kept under "extra".
func fieldsOf(args []any) logrus.Fields {
	if len(args) == 0 {
		return nil
	}
	fields := logrus.Fields{}
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			fields["extra"] = args[i]
			break
		}
		fields[fmt.Sprint(args[i])] = args[i+1]
	}
	return fields
}

func toLogrus(level hclog.Level) logrus.Level {
	switch level {
	case hclog.Trace:
		return logrus.TraceLevel
	case hclog.Debug:
		return logrus.DebugLevel
	case hclog.Warn:
		return logrus.WarnLevel
	case hclog.Error:
		return logrus.ErrorLevel
	default:
		return logrus.InfoLevel
	}
}

func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogAdapter) IsTrace() bool { return h.entry.Logger.IsLevelEnabled(logrus.TraceLevel) }
func (h *hclogAdapter) IsDebug() bool { return h.entry.Logger.IsLevelEnabled(logrus.DebugLevel) }
func (h *hclogAdapter) IsInfo() bool  { return h.entry.Logger.IsLevelEnabled(logrus.InfoLevel) }
func (h *hclogAdapter) IsWarn() bool  { return h.entry.Logger.IsLevelEnabled(logrus.WarnLevel) }
func (h *hclogAdapter) IsError() bool { return h.entry.Logger.IsLevelEnabled(logrus.ErrorLevel) }

func (h *hclogAdapter) ImpliedArgs() []any { return h.args }

func (h *hclogAdapter) With(args ...any) hclog.Logger {
	copied := *h
	copied.args = append(append([]any{}, h.args...), args...)
	return &copied
}

func (h *hclogAdapter) Name() string { return h.name }

func (h *hclogAdapter) Named(name string) hclog.Logger {
	copied := *h
	if copied.name != "" {
		name = copied.name + "." + name
	}
	copied.name = name
	return &copied
}

func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	copied := *h
	copied.name = name
	return &copied
}

// SetLevel does nothing: ordo's log level is set once in the logrus logger.
func (h *hclogAdapter) SetLevel(hclog.Level) {}

func (h *hclogAdapter) GetLevel() hclog.Level {
	switch h.entry.Logger.GetLevel() {
	case logrus.TraceLevel:
		return hclog.Trace
	case logrus.DebugLevel:
		return hclog.Debug
	case logrus.InfoLevel:
		return hclog.Info
	case logrus.WarnLevel:
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (h *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return h.entry.WithField(KeyComponent, h.name).WriterLevel(logrus.InfoLevel)
}
