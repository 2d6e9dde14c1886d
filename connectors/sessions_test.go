package connectors

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// counter opens sessions numbered from 1, each kept for keep.
func counter(keep time.Duration) func(context.Context) (int, time.Duration, error) {
	var n atomic.Int64
	return func(context.Context) (int, time.Duration, error) {
		return int(n.Add(1)), keep, nil
	}
}

func TestSessionPoolReusesIdleSession(t *testing.T) {
	login := counter(time.Hour)
	pool := NewSessionPool(4, login)
	ctx := context.Background()
	for range 3 {
		s, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Value != 1 {
			t.Errorf("got session %d, expected the idle session 1", s.Value)
		}
		pool.Release(s, true)
	}
	if pool.Logins() != 1 {
		t.Errorf("logged in %d times, expected once", pool.Logins())
	}
}

func TestSessionPoolGivesEachRequestItsOwnSession(t *testing.T) {
	login := counter(time.Hour)
	pool := NewSessionPool(2, login)
	ctx := context.Background()
	a, _ := pool.Acquire(ctx)
	b, _ := pool.Acquire(ctx)
	if a.Value == b.Value {
		t.Fatalf("two requests in flight share session %d", a.Value)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := pool.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a third request got %v, expected to wait for a free slot until its deadline", err)
	}
	pool.Release(a, true)
	c, err := pool.Acquire(ctx)
	if err != nil || c.Value != a.Value {
		t.Errorf("after a release got session %d (%v), expected the released %d", c.Value, err, a.Value)
	}
}

func TestSessionPoolForgetsRefusedAndExpiredSessions(t *testing.T) {
	login := counter(100 * time.Millisecond)
	pool := NewSessionPool(1, login)
	ctx := context.Background()
	s, _ := pool.Acquire(ctx)
	renewed, err := pool.Renew(ctx)
	if err != nil || renewed.Value == s.Value {
		t.Fatalf("Renew returned session %d (%v), expected a new one", renewed.Value, err)
	}
	pool.Release(renewed, true)
	time.Sleep(150 * time.Millisecond)
	next, _ := pool.Acquire(ctx)
	if next.Value == renewed.Value {
		t.Errorf("got session %d after it sat idle past its time, expected a new login", next.Value)
	}
	pool.Release(next, false)
	if pool.Logins() != 3 {
		t.Errorf("logged in %d times, expected 3", pool.Logins())
	}
}

func TestSessionPoolFreesSlotWhenLoginFails(t *testing.T) {
	pool := NewSessionPool(1, func(context.Context) (int, time.Duration, error) {
		return 0, 0, errors.New("refused")
	})
	for range 2 {
		if _, err := pool.Acquire(context.Background()); err == nil || err.Error() != "refused" {
			t.Fatalf("got %v, expected the login error", err)
		}
	}
}
