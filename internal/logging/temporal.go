package logging

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/sirupsen/logrus"
	sdklog "go.temporal.io/sdk/log"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// SDKLogger adapts logrus to the Temporal SDK's key-value logger.
type SDKLogger struct {
	entry *logrus.Entry
}

var (
	_ sdklog.Logger     = (*SDKLogger)(nil)
	_ sdklog.WithLogger = (*SDKLogger)(nil)
)

// NewSDKLogger returns a Temporal SDK logger that writes through entry.
func NewSDKLogger(entry *logrus.Entry) *SDKLogger {
	return &SDKLogger{entry: entry}
}

func (l *SDKLogger) fields(keyvals []interface{}) *logrus.Entry {
	if len(keyvals) == 0 {
		return l.entry
	}
	fields := make(logrus.Fields, len(keyvals)/2+1)
	for i := 0; i+1 < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		fields[sdkKey(key)] = keyvals[i+1]
	}
	if len(keyvals)%2 == 1 {
		fields["extra"] = keyvals[len(keyvals)-1]
	}
	return l.entry.WithFields(fields)
}

// sdkKey maps the SDK's CamelCase keys onto ordo's snake_case field names.
func sdkKey(key string) string {
	switch key {
	case "WorkflowID":
		return KeyWorkflowID
	case "RunID":
		return KeyRunID
	case "ActivityType":
		return KeyActivity
	case "Attempt":
		return KeyAttempt
	case "TaskQueue":
		return KeyTaskQueue
	case "Error":
		return KeyError
	}
	return key
}

func (l *SDKLogger) Debug(msg string, keyvals ...interface{}) { l.fields(keyvals).Debug(msg) }
func (l *SDKLogger) Info(msg string, keyvals ...interface{})  { l.fields(keyvals).Info(msg) }
func (l *SDKLogger) Warn(msg string, keyvals ...interface{})  { l.fields(keyvals).Warn(msg) }
func (l *SDKLogger) Error(msg string, keyvals ...interface{}) { l.fields(keyvals).Error(msg) }

// With returns a logger that adds keyvals to every entry.
func (l *SDKLogger) With(keyvals ...interface{}) sdklog.Logger {
	return &SDKLogger{entry: l.fields(keyvals)}
}

// ServerLogger adapts logrus to the Temporal server's tagged logger. The
// embedded server is chatty at info level, so its entries below minLevel are
// dropped before formatting.
type ServerLogger struct {
	entry    *logrus.Entry
	minLevel atomic.Uint32
	stopping atomic.Bool
}

var _ serverlog.Logger = (*ServerLogger)(nil)

// NewServerLogger returns a Temporal server logger that writes entries at
// minLevel and above through entry.
func NewServerLogger(entry *logrus.Entry, minLevel logrus.Level) *ServerLogger {
	l := &ServerLogger{entry: entry}
	l.SetMinLevel(minLevel)
	return l
}

// SetMinLevel changes the lowest level forwarded. Stopping the server sets
// it to Panic, because a stopping server reports its own shutdown as a
// stream of errors that mean nothing to an operator.
func (l *ServerLogger) SetMinLevel(level logrus.Level) {
	l.minLevel.Store(uint32(level))
}

// Stopping marks the server as shutting down: entries below Panic are
// dropped, and Fatal ends only the calling goroutine instead of the
// process. A component still starting when the server stops (ringpop's
// membership monitor, for one) reports its failure as fatal, and exiting
// then would take the rest of the process (ordo's API, or a test binary
// running several stacks) down with it.
func (l *ServerLogger) Stopping() {
	l.SetMinLevel(logrus.PanicLevel)
	l.stopping.Store(true)
}

func (l *ServerLogger) log(level logrus.Level, msg string, tags []tag.Tag) {
	if uint32(level) > l.minLevel.Load() || !l.entry.Logger.IsLevelEnabled(level) {
		return
	}
	fields := make(logrus.Fields, len(tags))
	for _, t := range tags {
		fields[t.Key()] = t.Value()
	}
	l.entry.WithFields(fields).Log(level, msg)
}

func (l *ServerLogger) Debug(msg string, tags ...tag.Tag)  { l.log(logrus.DebugLevel, msg, tags) }
func (l *ServerLogger) Info(msg string, tags ...tag.Tag)   { l.log(logrus.InfoLevel, msg, tags) }
func (l *ServerLogger) Warn(msg string, tags ...tag.Tag)   { l.log(logrus.WarnLevel, msg, tags) }
func (l *ServerLogger) Error(msg string, tags ...tag.Tag)  { l.log(logrus.ErrorLevel, msg, tags) }
func (l *ServerLogger) DPanic(msg string, tags ...tag.Tag) { l.log(logrus.ErrorLevel, msg, tags) }

// Panic logs at error level and panics, as the server's contract requires.
func (l *ServerLogger) Panic(msg string, tags ...tag.Tag) {
	l.log(logrus.ErrorLevel, msg, tags)
	panic(msg)
}

// Fatal logs and exits, as the server's contract requires. While the
// server is stopping it logs a warning and ends the calling goroutine
// with runtime.Goexit, because the caller's next lines assume Fatal never
// returns.
func (l *ServerLogger) Fatal(msg string, tags ...tag.Tag) {
	if l.stopping.Load() {
		fields := logrus.Fields{}
		for _, t := range tags {
			fields[t.Key()] = t.Value()
		}
		l.entry.WithFields(fields).Warn("Temporal server reported a fatal error while stopping: " + msg)
		runtime.Goexit()
	}
	l.log(logrus.FatalLevel, msg, tags)
	l.entry.Logger.Exit(1)
}
