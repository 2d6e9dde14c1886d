package sms

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"
)

// HTTPConfig is the HTTP side of a provider client.
type HTTPConfig struct {
	// Timeout bounds one request, default 10 seconds.
	Timeout time.Duration
	// MaxConns bounds the connections to the provider, default 16.
	MaxConns int
	// Transport replaces the pooled transport, for tests.
	Transport http.RoundTripper
}

// newHTTPClient returns the provider's one resty client. It never retries
// by itself, because SendSms is not idempotent: the channel decides.
func newHTTPClient(baseURL string, cfg HTTPConfig) *resty.Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	transport := cfg.Transport
	if transport == nil {
		transport = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     cfg.MaxConns,
			MaxIdleConnsPerHost: cfg.MaxConns,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		}
	}
	return resty.NewWithClient(&http.Client{Transport: transport}).
		SetBaseURL(baseURL).
		SetTimeout(cfg.Timeout).
		SetRetryCount(0)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
