// Package bench measures ordo against the baseline its targets compare it
// with: a bare Temporal workflow with the same number of activities on the
// same embedded server.
package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BareTaskQueue is the task queue of the bare workflows.
const BareTaskQueue = "bench-bare"

// BareInput sets how many no-op activities a bare workflow runs.
type BareInput struct {
	Activities int `json:"activities"`
	// Local runs them as local activities, as ordo's chains run their calls
	// to outside systems by default.
	Local bool `json:"local"`
	// Groups, when set, splits the activities into groups separated by a
	// one-second timer, the shape of a chain that waits for an outside
	// event (a callback or a payment) between bursts of calls.
	Groups []int `json:"groups,omitempty"`
}

// eventWait stands in for one outside event in a shaped bare workflow.
const eventWait = time.Second

// BareWorkflow runs no-op activities one after the other: the shape of a
// chain without its business logic.
func BareWorkflow(ctx workflow.Context, in BareInput) error {
	policy := &temporal.RetryPolicy{MaximumAttempts: 3}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: policy})
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: policy})
	groups := in.Groups
	if len(groups) == 0 {
		groups = []int{in.Activities}
	}
	for g, count := range groups {
		if g > 0 {
			if err := workflow.Sleep(ctx, eventWait); err != nil {
				return err
			}
		}
		for i := 0; i < count; i++ {
			var err error
			if in.Local {
				err = workflow.ExecuteLocalActivity(ctx, NoOp, i).Get(ctx, nil)
			} else {
				err = workflow.ExecuteActivity(ctx, NoOp, i).Get(ctx, nil)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// NoOp is an activity that does nothing.
func NoOp(_ context.Context, _ int) error { return nil }

// BareResult is the outcome of one bare run.
type BareResult struct {
	Workflows  int
	Activities int
	Local      bool
	Groups     []int
	Elapsed    time.Duration
}

// PerSecond returns completed workflows per second.
func (r BareResult) PerSecond() float64 {
	return float64(r.Workflows) / r.Elapsed.Seconds()
}

// RunBare starts n bare workflows with the given parallelism of start
// calls, and returns the time from the first start until the last
// workflow completed. It runs its own worker with opts on BareTaskQueue.
func RunBare(ctx context.Context, c client.Client, n int, in BareInput, parallelism int, opts worker.Options) (BareResult, error) {
	w := worker.New(c, BareTaskQueue, opts)
	w.RegisterWorkflow(BareWorkflow)
	w.RegisterActivity(NoOp)
	if err := w.Start(); err != nil {
		return BareResult{}, fmt.Errorf("start bare worker: %w", err)
	}
	defer w.Stop()

	started := time.Now()
	runs := make([]client.WorkflowRun, n)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, max(parallelism, 1))
	)
	stamp := started.UnixNano()
	for i := 0; i < n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:               fmt.Sprintf("bench-bare-%d-%d", stamp, i),
				TaskQueue:        BareTaskQueue,
				EnableEagerStart: true,
			}, BareWorkflow, in)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			runs[i] = run
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		return BareResult{}, fmt.Errorf("start bare workflow: %w", firstErr)
	}
	for _, run := range runs {
		if err := run.Get(ctx, nil); err != nil {
			return BareResult{}, fmt.Errorf("bare workflow %s: %w", run.GetID(), err)
		}
	}
	return BareResult{Workflows: n, Activities: in.Activities, Local: in.Local, Groups: in.Groups, Elapsed: time.Since(started)}, nil
}
