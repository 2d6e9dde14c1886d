package simulators_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/testports"
)

func TestRunnerServeAndClose(t *testing.T) {
	runner := simulators.NewRunner("test simulator", simulators.DiscardLogger())
	if runner.URL() != "" {
		t.Errorf("URL before Serve = %q, expected empty", runner.URL())
	}
	url, err := runner.Serve(testports.Address(t), http.NotFoundHandler())
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	if url != runner.URL() || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("Serve returned %q and URL %q, expected the same loopback URL", url, runner.URL())
	}
	if _, err := runner.Serve(testports.Address(t), http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Serve: err = %v, expected already started", err)
	}
	response, err := http.Get(url + "/anything")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	_ = response.Body.Close()
	if response.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, expected 404 from the handler", response.StatusCode)
	}

	released := errors.New("release failed")
	calls := 0
	release := func() error {
		calls++
		return released
	}
	if err := runner.Close(release); !errors.Is(err, released) {
		t.Errorf("close: err = %v, expected the release error", err)
	}
	if err := runner.Close(release); !errors.Is(err, released) {
		t.Errorf("second close: err = %v, expected the first error again", err)
	}
	if calls != 1 {
		t.Errorf("release called %d times, expected once", calls)
	}
}

func TestRunnerLoopsStopOnClose(t *testing.T) {
	runner := simulators.NewRunner("test simulator", simulators.DiscardLogger())
	plainDone := make(chan struct{})
	runner.Go(func() {
		<-runner.Stopping()
		close(plainDone)
	})
	contextDone := make(chan error, 1)
	runner.GoContext(context.Background(), func(ctx context.Context) {
		<-ctx.Done()
		contextDone <- ctx.Err()
	})
	waited := make(chan bool, 1)
	go func() { waited <- runner.Wait(context.Background(), time.Hour) }()

	if err := runner.Close(nil); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-plainDone:
	default:
		t.Error("Close returned before the loop on Stopping ended")
	}
	select {
	case err := <-contextDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("loop context ended with %v, expected context.Canceled", err)
		}
	default:
		t.Error("Close returned before the context loop ended")
	}
	select {
	case full := <-waited:
		if full {
			t.Error("Wait reported the full hour after Close")
		}
	case <-time.After(5 * time.Second):
		t.Error("Wait did not return within 5s of Close")
	}
}

func TestRunnerWait(t *testing.T) {
	runner := simulators.NewRunner("test simulator", simulators.DiscardLogger())
	t.Cleanup(func() { _ = runner.Close(nil) })
	if !runner.Wait(context.Background(), 0) {
		t.Error("Wait of 0 reported an early end")
	}
	if !runner.Wait(context.Background(), time.Millisecond) {
		t.Error("Wait of 1ms reported an early end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if runner.Wait(ctx, time.Hour) {
		t.Error("Wait with an ended context reported the full hour")
	}
}

func TestEveryRetriesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	var failures []error
	boom := errors.New("boom")
	step := func(context.Context) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return boom
	}
	simulators.Every(ctx, time.Millisecond, step, func(err error) { failures = append(failures, err) })
	if calls != 3 {
		t.Errorf("step calls = %d, expected 3", calls)
	}
	// The third failure came after the context ended, so it is not reported.
	if len(failures) != 2 {
		t.Errorf("reported failures = %d, expected 2", len(failures))
	}
}
