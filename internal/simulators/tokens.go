package simulators

import (
	"sync"
	"time"
)

// TokenState is the state of an access token a client sent.
type TokenState int

// Token states.
const (
	TokenValid TokenState = iota
	TokenUnknown
	TokenExpired
)

// Tokens issues access tokens that expire, for the simulators of
// platforms that authorise calls with one. It is safe for concurrent use.
type Tokens struct {
	ttl   time.Duration
	clock func() time.Time

	mu     sync.Mutex
	issued map[string]time.Time
}

// NewTokens returns an empty token store; clock defaults to time.Now.
func NewTokens(ttl time.Duration, clock func() time.Time) *Tokens {
	if clock == nil {
		clock = time.Now
	}
	return &Tokens{ttl: ttl, clock: clock, issued: map[string]time.Time{}}
}

// Issue returns a new token and its lifetime.
func (t *Tokens) Issue(prefix string) (string, time.Duration) {
	token := prefix + RandomHex(32)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.issued[token] = t.clock().Add(t.ttl)
	return token, t.ttl
}

// Check reports whether token is valid, unknown or expired.
func (t *Tokens) Check(token string) TokenState {
	t.mu.Lock()
	defer t.mu.Unlock()
	expires, ok := t.issued[token]
	switch {
	case !ok:
		return TokenUnknown
	case !t.clock().Before(expires):
		return TokenExpired
	}
	return TokenValid
}

// ExpireAll makes every issued token expired.
func (t *Tokens) ExpireAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	past := t.clock().Add(-time.Second)
	for token := range t.issued {
		t.issued[token] = past
	}
}

// Issued returns how many tokens were issued.
func (t *Tokens) Issued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.issued)
}
