package einvoice

import (
	"crypto/hmac"
	einvoiceconn "github.com/ordo-project/ordo/connectors/einvoice"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Authentication headers of the platform API.
const (
	headerAppKey    = "X-App-Key"
	headerTimestamp = "X-Timestamp"
	headerNonce     = "X-Nonce"
	headerSignature = "X-Signature"
)

// authError is a rejected credential, with the envelope code to return.
type authError struct {
	code    string
	message string
}

// signature returns the hex HMAC-SHA256 of a request, computed as the
// connector computes it.
var signature = einvoiceconn.RequestSignature

// nonceCache remembers nonces for twice the clock skew, the longest a
// request with a valid timestamp can be replayed.
//
// NOTE: the cache is in memory, so a request captured before a restart can
// be replayed once after it within the skew window. A simulator on
// loopback accepts that.
type nonceCache struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	window time.Duration
	pruned time.Time
}

func newNonceCache(window time.Duration) *nonceCache {
	return &nonceCache{seen: make(map[string]time.Time), window: window}
}

// add records the nonce and reports false if it was already recorded.
func (c *nonceCache) add(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.pruned) > c.window {
		for key, at := range c.seen {
			if now.Sub(at) > c.window {
				delete(c.seen, key)
			}
		}
		c.pruned = now
	}
	if at, ok := c.seen[nonce]; ok && now.Sub(at) <= c.window {
		return false
	}
	c.seen[nonce] = now
	return true
}

// authenticate checks the signature headers of a request with its body. It
// records the nonce only for a request whose signature is valid, so a
// forged request cannot burn a client's nonce.
func (s *Simulator) authenticate(r *http.Request, body []byte) *authError {
	if r.Header.Get(headerAppKey) != s.cfg.AppKey {
		return &authError{code: codeUnknownAppKey, message: "unknown app key"}
	}
	timestamp := r.Header.Get(headerTimestamp)
	millis, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return &authError{code: codeStaleTimestamp, message: "missing or invalid X-Timestamp: use Unix time in milliseconds"}
	}
	now := time.Now()
	skew := now.Sub(time.UnixMilli(millis))
	if skew > s.cfg.ClockSkew || skew < -s.cfg.ClockSkew {
		return &authError{code: codeStaleTimestamp, message: "timestamp outside the allowed clock skew of " + s.cfg.ClockSkew.String()}
	}
	nonce := r.Header.Get(headerNonce)
	if len(nonce) < 8 || len(nonce) > 64 {
		return &authError{code: codeBadSignature, message: "missing or invalid X-Nonce: use 8 to 64 characters"}
	}
	expected := signature(s.cfg.AppSecret, r.Method, r.URL.RequestURI(), timestamp, nonce, body)
	if !hmac.Equal([]byte(expected), []byte(r.Header.Get(headerSignature))) {
		return &authError{code: codeBadSignature, message: "signature invalid"}
	}
	if !s.nonces.add(nonce, now) {
		return &authError{code: codeNonceReused, message: "nonce already used"}
	}
	return nil
}
