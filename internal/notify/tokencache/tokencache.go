// Package tokencache keeps one access token of a messaging platform's app
// until shortly before it expires. Concurrent callers that find no valid
// token share one fetch, and a token the platform rejected is dropped
// once, so many requests failing with the same stale token cause a single
// refresh.
package tokencache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Fetch gets a new token and its lifetime from the platform.
type Fetch func(ctx context.Context) (token string, lifetime time.Duration, err error)

// Cache holds one token. It is safe for concurrent use.
type Cache struct {
	fetch Fetch
	now   func() time.Time

	flight  singleflight.Group
	mu      sync.Mutex
	token   string
	expires time.Time
	fetches int
}

// New returns an empty cache; now defaults to time.Now.
func New(fetch Fetch, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{fetch: fetch, now: now}
}

// Get returns the cached token or fetches one. The fetch runs without the
// caller's cancellation, because other callers wait for the same result;
// the fetch's own HTTP timeout bounds it.
func (c *Cache) Get(ctx context.Context) (string, error) {
	if token, ok := c.cached(); ok {
		return token, nil
	}
	result := c.flight.DoChan("token", func() (any, error) {
		if token, ok := c.cached(); ok {
			return token, nil
		}
		c.mu.Lock()
		c.fetches++
		c.mu.Unlock()
		token, lifetime, err := c.fetch(context.WithoutCancel(ctx))
		if err != nil {
			return "", err
		}
		// Refresh a tenth of the lifetime early, at most five minutes, so
		// a request never leaves with a token about to expire.
		early := min(lifetime/10, 5*time.Minute)
		c.mu.Lock()
		c.token, c.expires = token, c.now().Add(lifetime-early)
		c.mu.Unlock()
		return token, nil
	})
	select {
	case r := <-result:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Cache) cached() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expires) {
		return c.token, true
	}
	return "", false
}

// Drop clears the cached token unless a newer one replaced it already.
func (c *Cache) Drop(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

// Fetches returns how many times the cache fetched a token, for tests.
func (c *Cache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}
