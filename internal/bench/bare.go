// Package bench measures ordo against the baseline the targets compare it
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
}

// BareWorkflow runs Activities no-op activities one after the other, the
// shape of a chain without its business logic.
func BareWorkflow(ctx workflow.Context, in BareInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	for i := 0; i < in.Activities; i++ {
		if err := workflow.ExecuteActivity(ctx, NoOp, i).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// NoOp is an activity that does nothing.
func NoOp(_ context.Context, _ int) error { return nil }

// RunBare starts n bare workflows with the given number of activities,
// starting them with the given parallelism, and returns the time from the
// first start until the last completes.
func RunBare(ctx context.Context, c client.Client, n, activities, parallelism int, opts worker.Options) (time.Duration, error) {
	w := worker.New(c, BareTaskQueue, opts)
	w.RegisterWorkflow(BareWorkflow)
	w.RegisterActivity(NoOp)
	if err := w.Start(); err != nil {
		return 0, fmt.Errorf("start bare worker: %w", err)
	}
	defer w.Stop()

	started := time.Now()
	runs := make([]client.WorkflowRun, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallelism)
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
			}, BareWorkflow, BareInput{Activities: activities})
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
		return 0, fmt.Errorf("start bare workflow: %w", firstErr)
	}
	for _, run := range runs {
		if err := run.Get(ctx, nil); err != nil {
			return 0, fmt.Errorf("bare workflow %s: %w", run.GetID(), err)
		}
	}
	return time.Since(started), nil
}
