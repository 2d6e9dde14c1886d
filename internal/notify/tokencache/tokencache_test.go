package tokencache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentGetsShareOneFetch(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	cache := New(func(context.Context) (string, time.Duration, error) {
		fetches.Add(1)
		<-release
		return "token-1", time.Hour, nil
	}, nil)
	var wg sync.WaitGroup
	tokens := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token, err := cache.Get(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens <- token
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(tokens)
	for token := range tokens {
		if token != "token-1" {
			t.Errorf("token = %q, want token-1", token)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

func TestRefreshesBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	n := 0
	cache := New(func(context.Context) (string, time.Duration, error) {
		n++
		return fmt.Sprintf("token-%d", n), 7200 * time.Second, nil
	}, func() time.Time { return now })
	first, _ := cache.Get(context.Background())

	// A tenth of 7200 seconds is 12 minutes, so the cap of five minutes
	// sets the refresh point.
	now = now.Add(7200*time.Second - 5*time.Minute - time.Second)
	if token, _ := cache.Get(context.Background()); token != first {
		t.Errorf("token = %q before the early refresh, want %q", token, first)
	}
	now = now.Add(2 * time.Second)
	if token, _ := cache.Get(context.Background()); token != "token-2" {
		t.Errorf("token = %q after the early refresh point, want token-2", token)
	}
}

func TestDropKeepsNewerToken(t *testing.T) {
	n := 0
	cache := New(func(context.Context) (string, time.Duration, error) {
		n++
		return fmt.Sprintf("token-%d", n), time.Hour, nil
	}, nil)
	stale, _ := cache.Get(context.Background())
	cache.Drop(stale)
	fresh, _ := cache.Get(context.Background())
	cache.Drop(stale)
	if token, _ := cache.Get(context.Background()); token != fresh {
		t.Errorf("token = %q after dropping the stale one again, want %q", token, fresh)
	}
	if cache.Fetches() != 2 {
		t.Errorf("fetches = %d, want 2", cache.Fetches())
	}
}

func TestFetchErrorIsNotCached(t *testing.T) {
	fail := true
	cache := New(func(context.Context) (string, time.Duration, error) {
		if fail {
			return "", 0, errors.New("busy")
		}
		return "token", time.Hour, nil
	}, nil)
	if _, err := cache.Get(context.Background()); err == nil {
		t.Fatal("Get succeeded, want the fetch error")
	}
	fail = false
	if token, err := cache.Get(context.Background()); err != nil || token != "token" {
		t.Errorf("Get = %q, %v after the error, want a fresh token", token, err)
	}
}
