package host

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
)

// pinger is the no-op call both benchmarks measure.
type pinger interface {
	Ping(ctx context.Context) error
}

// inProcessERP is the in-process baseline: a no-op method called through
// an interface, as activities call connectors.ERP.
type inProcessERP struct{}

func (inProcessERP) Ping(context.Context) error { return nil }

// benchmarkLatency times each call and reports p50 and p99 in
// microseconds next to the mean that go test prints.
func benchmarkLatency(b *testing.B, target pinger) {
	ctx := context.Background()
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		started := time.Now()
		if err := target.Ping(ctx); err != nil {
			b.Fatalf("Ping: %v", err)
		}
		samples = append(samples, time.Since(started))
	}
	b.StopTimer()
	slices.Sort(samples)
	percentile := func(p float64) float64 {
		return float64(samples[int(float64(len(samples)-1)*p)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(percentile(0.50), "p50-µs")
	b.ReportMetric(percentile(0.99), "p99-µs")
}

// BenchmarkPluginNoOpCall measures a Ping through go-plugin, gRPC over a
// Unix socket with mutual TLS, and the JSON codec.
func BenchmarkPluginNoOpCall(b *testing.B) {
	sum, err := FileChecksum(testPluginPath)
	if err != nil {
		b.Fatal(err)
	}
	erp := NewERP(config.Plugin{Name: "memory", Path: testPluginPath, SHA256: sum}, logging.Discard())
	defer erp.Close()
	if err := erp.Start(); err != nil {
		b.Fatalf("Start: %v", err)
	}
	benchmarkLatency(b, erp)
}

// BenchmarkInProcessNoOpCall is the baseline for BenchmarkPluginNoOpCall.
func BenchmarkInProcessNoOpCall(b *testing.B) {
	var target pinger = inProcessERP{}
	benchmarkLatency(b, target)
}
