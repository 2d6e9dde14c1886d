package connectors

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// SessionPool gives each request to a session-based ERP a login session of
// its own. At most size requests hold a session at once; the others wait.
// A session goes back to the pool when its request ends and is handed out
// again until it has been idle for as long as the ERP keeps it.
//
// With one session per request in flight, a session the ERP ends (lost,
// restarted, idle too long) fails only the request that used it, and that
// request alone logs in again. A single shared session would fail every
// request in flight, and under load the new session could be lost again
// before the replays reached the ERP.
type SessionPool[S any] struct {
	login func(context.Context) (S, time.Duration, error)
	slots chan struct{}

	mu   sync.Mutex
	idle []pooledSession[S] // most recently used last

	logins atomic.Int64
}

type pooledSession[S any] struct {
	session S
	keep    time.Duration
	expires time.Time
}

// NewSessionPool returns a pool of at most size sessions. login opens a
// session and returns how long it may stay idle before the ERP ends it.
func NewSessionPool[S any](size int, login func(context.Context) (S, time.Duration, error)) *SessionPool[S] {
	if size < 1 {
		size = 1
	}
	return &SessionPool[S]{login: login, slots: make(chan struct{}, size)}
}

// Session is a session handed out by Acquire or Renew. Pass it to Release
// when the request ends.
type Session[S any] struct {
	Value S
	keep  time.Duration
}

// Acquire waits for a free slot and returns the most recently used idle
// session, or a new one when none is left. It returns ctx's error if the
// wait ends first, and login's error if a new session cannot be opened.
func (p *SessionPool[S]) Acquire(ctx context.Context) (Session[S], error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return Session[S]{}, ctx.Err()
	}
	now := time.Now()
	p.mu.Lock()
	for len(p.idle) > 0 {
		last := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Before(last.expires) {
			p.mu.Unlock()
			return Session[S]{Value: last.session, keep: last.keep}, nil
		}
	}
	p.mu.Unlock()
	s, err := p.open(ctx)
	if err != nil {
		<-p.slots
	}
	return s, err
}

// Renew replaces a session the ERP rejected with a new login, keeping the
// caller's slot. On error the slot is still held: call Release(s, false).
func (p *SessionPool[S]) Renew(ctx context.Context) (Session[S], error) {
	return p.open(ctx)
}

func (p *SessionPool[S]) open(ctx context.Context) (Session[S], error) {
	value, keep, err := p.login(ctx)
	if err != nil {
		return Session[S]{}, err
	}
	p.logins.Add(1)
	return Session[S]{Value: value, keep: keep}, nil
}

// Release ends the caller's request. It keeps s for the next request when
// keep is true, and drops it when keep is false because the ERP rejected it.
func (p *SessionPool[S]) Release(s Session[S], keep bool) {
	if keep {
		// Drop the session a tenth early, so the pool never hands out one
		// the ERP is about to end.
		p.mu.Lock()
		p.idle = append(p.idle, pooledSession[S]{session: s.Value, keep: s.keep, expires: time.Now().Add(s.keep * 9 / 10)})
		p.mu.Unlock()
	}
	<-p.slots
}

// Logins returns how many sessions the pool opened.
func (p *SessionPool[S]) Logins() int {
	return int(p.logins.Load())
}
