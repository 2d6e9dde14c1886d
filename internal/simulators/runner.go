package simulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
)

// Runner serves a simulator's HTTP handler on its own listener and runs
// the simulator's background loops until Close. Create it with NewRunner.
type Runner struct {
	name string
	log  logrus.FieldLogger

	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	server   *http.Server
	listener net.Listener
}

// NewRunner returns a runner for the simulator called name, such as
// "Kingdee simulator", which labels log lines and errors.
func NewRunner(name string, log logrus.FieldLogger) *Runner {
	return &Runner{name: name, log: log, stop: make(chan struct{})}
}

// Serve listens on address and serves handler in the background. It
// returns the base URL, such as "http://127.0.0.1:41234". It returns an
// error if the runner already serves.
func (r *Runner) Serve(address string, handler http.Handler) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.server != nil {
		return "", fmt.Errorf("%s: already started", r.name)
	}
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return "", fmt.Errorf("%s: listen on %s: %w", r.name, address, err)
	}
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	r.server, r.listener = server, listener
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.WithError(err).Error(r.name + " stopped serving")
		}
	}()
	r.log.WithField(logging.KeyAddress, listener.Addr().String()).Info(r.name + " listening")
	return "http://" + listener.Addr().String(), nil
}

// URL returns the base URL of the listener, or "" before Serve.
func (r *Runner) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listener == nil {
		return ""
	}
	return "http://" + r.listener.Addr().String()
}

// Stopping returns a channel that is closed when Close begins.
func (r *Runner) Stopping() <-chan struct{} { return r.stop }

// Go runs loop in the background. Close waits for it to return, so loop
// must return once Stopping is closed.
func (r *Runner) Go(loop func()) {
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		loop()
	}()
}

// GoContext runs loop in the background with a context derived from ctx
// that is cancelled when Close begins. Close waits for loop to return.
func (r *Runner) GoContext(ctx context.Context, loop func(context.Context)) {
	loopCtx, cancel := context.WithCancel(ctx)
	r.Go(func() {
		// The deferred cancel also ends the goroutine that watches stop.
		defer cancel()
		go func() {
			select {
			case <-r.stop:
				cancel()
			case <-loopCtx.Done():
			}
		}()
		loop(loopCtx)
	})
}

// Wait sleeps for d and reports whether the full time passed. It returns
// false early when ctx ends or Close begins.
func (r *Runner) Wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.stop:
		return false
	}
}

// Close stops the server, waiting up to 5 seconds for requests in flight,
// and waits for the background loops. Then it calls release, if not nil,
// to free what the simulator holds, such as a database it opened. Only the
// first call does the work. Every call returns the first error.
func (r *Runner) Close(release func() error) error {
	r.closeOnce.Do(func() {
		close(r.stop)
		r.mu.Lock()
		server := r.server
		r.mu.Unlock()
		if server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := server.Shutdown(ctx); err != nil {
				r.closeErr = fmt.Errorf("shut down %s: %w", r.name, err)
			}
			cancel()
		}
		r.loops.Wait()
		if release != nil {
			if err := release(); err != nil && r.closeErr == nil {
				r.closeErr = err
			}
		}
		r.log.Info(r.name + " stopped")
	})
	return r.closeErr
}

// Every calls step at once and then every interval until ctx ends. It
// passes an error of step to failed, unless ctx ended, and tries again on
// the next tick.
func Every(ctx context.Context, interval time.Duration, step func(context.Context) error, failed func(error)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := step(ctx); err != nil && ctx.Err() == nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
