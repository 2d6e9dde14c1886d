package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TimerTaskQueue is the task queue of the bare timer workflows.
const TimerTaskQueue = "bench-timers"

// TimerInput is a bare timer workflow's due time and its index.
type TimerInput struct {
	Due   time.Time `json:"due"`
	Index int       `json:"index"`
}

// TimerWorkflow sleeps until Due, then records the moment it woke in a
// local activity: the smallest workflow that keeps a deadline.
func TimerWorkflow(ctx workflow.Context, in TimerInput) error {
	if wait := in.Due.Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	return workflow.ExecuteLocalActivity(ctx, (*FireRecorder).Fired, in.Index).Get(ctx, nil)
}

// FireRecorder is the local activity that records when each timer fired.
type FireRecorder struct {
	mu    sync.Mutex
	fired map[int]time.Time
}

// Fired records the wall-clock moment timer i fired.
func (r *FireRecorder) Fired(_ context.Context, i int) error {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.fired[i]; !ok {
		r.fired[i] = now
	}
	return nil
}

// Lateness is how late a set of timers fired after their due times.
type Lateness struct {
	Timers int
	// Sorted lateness of each timer.
	Late []time.Duration
	// Starting is how long starting the workflows took.
	Starting time.Duration
}

// Percentile returns the lateness at p (0..100).
func (l Lateness) Percentile(p float64) time.Duration {
	if len(l.Late) == 0 {
		return 0
	}
	return l.Late[int(float64(len(l.Late)-1)*p/100)]
}

// Max returns the lateness of the last timer to fire.
func (l Lateness) Max() time.Duration { return l.Percentile(100) }

// TimerWorker runs the bare timer workflows on TimerTaskQueue.
type TimerWorker struct {
	w        worker.Worker
	recorder *FireRecorder
}

// StartTimerWorker starts a worker for the bare timer workflows.
func StartTimerWorker(c client.Client, opts worker.Options) (*TimerWorker, error) {
	recorder := &FireRecorder{fired: map[int]time.Time{}}
	w := worker.New(c, TimerTaskQueue, opts)
	w.RegisterWorkflow(TimerWorkflow)
	w.RegisterActivity(recorder)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start timer worker: %w", err)
	}
	return &TimerWorker{w: w, recorder: recorder}, nil
}

// Stop stops the worker.
func (t *TimerWorker) Stop() { t.w.Stop() }

// StartFunc starts timer i, due at due, in whatever workflow the
// benchmark measures.
type StartFunc func(ctx context.Context, i int, due time.Time) error

// StartBareTimer returns the StartFunc of the bare timer workflow.
func (t *TimerWorker) StartBareTimer(c client.Client, prefix string) StartFunc {
	return func(ctx context.Context, i int, due time.Time) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: TimerTaskQueue,
		}, TimerWorkflow, TimerInput{Due: due, Index: i})
		return err
	}
}

// StartTimers starts n timers with start at the given parallelism, all
// due at due.
func StartTimers(ctx context.Context, n, parallelism int, due time.Time, start StartFunc) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, max(parallelism, 1))
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			if err := start(ctx, i, due); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("start timer %d: %w", i, err)
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return firstErr
}

// WaitFired polls fired until each of the n timers due at due fired, or
// timeout passes, and returns their lateness.
func WaitFired(ctx context.Context, n int, due time.Time, timeout time.Duration, fired func(ctx context.Context) (map[int]time.Time, error)) (Lateness, error) {
	deadline := due.Add(timeout)
	for {
		got, err := fired(ctx)
		if err != nil {
			return Lateness{}, err
		}
		if len(got) >= n {
			l := Lateness{Timers: n}
			for _, at := range got {
				l.Late = append(l.Late, max(at.Sub(due), 0))
			}
			slices.Sort(l.Late)
			return l, nil
		}
		if time.Now().After(deadline) {
			return Lateness{}, fmt.Errorf("%d of %d timers fired %s after they were due", len(got), n, timeout)
		}
		select {
		case <-ctx.Done():
			return Lateness{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// BareFiredAll returns every bare timer fired so far.
func (t *TimerWorker) BareFiredAll(context.Context) (map[int]time.Time, error) {
	t.recorder.mu.Lock()
	defer t.recorder.mu.Unlock()
	return maps.Clone(t.recorder.fired), nil
}
