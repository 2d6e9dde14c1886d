package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Helpers shared by the renewal and ticket workflows, which notify people
// through TaskActivities and wait for signals or deadlines.

// notificationKey returns the idempotency key of a task or message:
// the workflow ID, the purpose and the moment it belongs to. A retried,
// replayed or restarted step reuses the key, so the person is notified
// once; a moved moment gives a new key.
func notificationKey(workflowID, purpose string, moment time.Time) string {
	return workflowID + "/" + purpose + "/" + moment.UTC().Format(time.RFC3339)
}

// localRulesContext returns the options of the rules and deadline
// lookups, local activities that read ordo's own rules. They are retried
// for up to ten minutes; a lookup that still fails fails the workflow,
// because it cannot go on without its rules.
func localRulesContext(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
}

// sideEffectContext returns the options of the store writes and
// notifications. They are retried with backoff for about 85 minutes (25
// attempts, at most 5 minutes apart). A step that still fails is logged
// and noted in the workflow's status, and the workflow goes on, so one
// unreachable channel does not stop a renewal.
func sideEffectContext(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    25,
		},
	})
}

// waitUntil blocks until the moment passes or one signal is handled, and
// reports whether the moment passed. addSignals adds the signal channels
// to a fresh selector. A zero moment waits for a signal only; a moment
// already past returns true at once, so the caller drains pending signals
// first.
func waitUntil(ctx workflow.Context, moment time.Time, addSignals func(workflow.Selector)) bool {
	if !moment.IsZero() && !workflow.Now(ctx).Before(moment) {
		return true
	}
	selector := workflow.NewSelector(ctx)
	addSignals(selector)
	fired := false
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	// Cancelling a timer that fired does nothing; one that did not is
	// removed, so a signal never leaves a stale timer behind.
	defer cancelTimer()
	if !moment.IsZero() {
		timer := workflow.NewTimer(timerCtx, moment.Sub(workflow.Now(ctx)))
		selector.AddFuture(timer, func(f workflow.Future) {
			fired = f.Get(timerCtx, nil) == nil
		})
	}
	selector.Select(ctx)
	return fired
}
