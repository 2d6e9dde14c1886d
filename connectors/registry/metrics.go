package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/notify"
)

// Outcomes of a connector call, the outcome label of the metrics.
const (
	OutcomeOK             = "ok"
	OutcomeRetryableError = "retryable_error"
	OutcomePermanentError = "permanent_error"
	OutcomeTimeout        = "timeout"
)

// Metrics is the Prometheus registry behind GET /metrics: the connector
// metrics and the Go runtime and process collectors.
var Metrics = prometheus.NewRegistry()

var (
	callsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ordo",
		Subsystem: "connector",
		Name:      "calls_total",
		Help:      "Calls to outside systems, by connector id, operation and outcome.",
	}, []string{"connector", "operation", "outcome"})
	callSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "ordo",
		Subsystem: "connector",
		Name:      "call_duration_seconds",
		Help:      "Duration of calls to outside systems in seconds, including the connector's own retries.",
		Buckets:   []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"connector", "operation", "outcome"})
)

func init() {
	Metrics.MustRegister(callsTotal, callSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the metrics in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Metrics, promhttp.HandlerOpts{Registry: Metrics})
}

// Outcome classifies the result of a call for the outcome label.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return OutcomeTimeout
	}
	if notify.IsPermanent(err) {
		return OutcomePermanentError
	}
	var connectorErr *connectors.Error
	if errors.As(err, &connectorErr) && !connectorErr.Retryable() {
		return OutcomePermanentError
	}
	return OutcomeRetryableError
}

// Observe records one call of connector id that started at start.
func Observe(id, operation string, start time.Time, err error) {
	outcome := Outcome(err)
	callsTotal.WithLabelValues(id, operation, outcome).Inc()
	callSeconds.WithLabelValues(id, operation, outcome).Observe(time.Since(start).Seconds())
}

// measure runs call and records it.
func measure[T any](id, operation string, call func() (T, error)) (T, error) {
	start := time.Now()
	result, err := call()
	Observe(id, operation, start, err)
	return result, err
}
