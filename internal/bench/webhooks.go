package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/signing"
)

// WebhookResult is one load level of signed contract-signed events.
type WebhookResult struct {
	Clients  int
	Requests int
	Failures int
	Elapsed  time.Duration
	// Latencies of the successful requests, sorted.
	Latencies []time.Duration
	// FirstError is the first failure, for the report.
	FirstError error
	// ContractNos are the contracts the accepted events created.
	ContractNos []string
}

// PerSecond returns accepted requests per second.
func (r WebhookResult) PerSecond() float64 {
	return float64(r.Requests-r.Failures) / r.Elapsed.Seconds()
}

// Percentile returns the latency at p (0..100).
func (r WebhookResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies)-1) * p / 100)
	return r.Latencies[i]
}

// RunWebhooks sends signed contract-signed events from clients concurrent
// clients for the given duration, each event a new contract numbered
// prefix-<n>, and measures each request until ordo answered that the
// event is durably recorded.
func RunWebhooks(ctx context.Context, baseURL string, secret []byte, prefix string, clients int, duration time.Duration) WebhookResult {
	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	defer transport.CloseIdleConnections()

	var (
		next      atomic.Int64
		mu        sync.Mutex
		result    = WebhookResult{Clients: clients}
		wg        sync.WaitGroup
		stopAfter = time.Now().Add(duration)
	)
	started := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAfter) && ctx.Err() == nil {
				n := next.Add(1)
				no := fmt.Sprintf("%s-%06d", prefix, n)
				t0 := time.Now()
				err := postSigned(ctx, httpClient, baseURL, secret, webhookEvent(no, n))
				took := time.Since(t0)
				mu.Lock()
				result.Requests++
				if err != nil {
					result.Failures++
					if result.FirstError == nil {
						result.FirstError = err
					}
				} else {
					result.Latencies = append(result.Latencies, took)
					result.ContractNos = append(result.ContractNos, no)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	result.Elapsed = time.Since(started)
	slices.Sort(result.Latencies)
	return result
}

var benchProducts = []string{"GTX Basic", "GTX Pro", "MG Special", "MG Advanced", "GTX Plus Pro", "GTX Plus Basic", "GTK 500"}
var benchAccounts = []string{"Acme Corporation", "Betasoloin", "Cancity", "Isdom", "Hottechi", "Kan-code", "Zoomit", "Sonron"}

func webhookEvent(no string, n int64) api.ContractSignedEvent {
	return api.ContractSignedEvent{
		EventID:    "bench-" + no,
		ContractNo: no,
		Account:    api.EventAccount{Name: benchAccounts[n%int64(len(benchAccounts))]},
		Product:    benchProducts[n%int64(len(benchProducts))],
		SalesAgent: "Moses Frase",
		Amount:     decimal.NewFromInt(1000 + n%5000),
		SignedOn:   time.Now().UTC().Format(time.DateOnly),
	}
}

func postSigned(ctx context.Context, c *http.Client, baseURL string, secret []byte, event api.ContractSignedEvent) error {
	body, err := json.Marshal(event)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/events/contract-signed", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	signing.SetHeaders(req.Header, secret, time.Now(), body)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("event %s: HTTP %d: %s", event.EventID, resp.StatusCode, raw)
	}
	return nil
}
