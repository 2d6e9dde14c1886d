package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
)

// BankReconciliationName is the registered workflow type name, and
// BankReconciliationID the id of its single instance.
const (
	BankReconciliationName = "BankReconciliation"
	BankReconciliationID   = "bank-reconciliation"
)

// BankReconciliationInput tunes the reconciliation loop.
type BankReconciliationInput struct {
	// PollInterval is the pause between statement reads when nothing is
	// pending.
	PollInterval time.Duration `json:"poll_interval"`
	// RoundsPerRun bounds the history of one run; the workflow then
	// continues as new.
	RoundsPerRun int `json:"rounds_per_run"`
}

// BankReconciliation reads the bank statement, matches receipts to
// contracts and signals each match to its contract's chain, forever. It
// continues as new after RoundsPerRun rounds to keep its history short.
func BankReconciliation(ctx workflow.Context, in BankReconciliationInput) error {
	if in.RoundsPerRun <= 0 {
		in.RoundsPerRun = 200
	}
	if in.PollInterval <= 0 {
		in.PollInterval = 5 * time.Second
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			// A failing round is abandoned after these attempts; the next
			// round starts from the same cursor, so nothing is lost.
			MaximumAttempts: 5,
		},
	})
	logger := workflow.GetLogger(ctx)
	var acts *activities.BankActivities

	for round := 0; round < in.RoundsPerRun; round++ {
		var result activities.ReconcileResult
		if err := workflow.ExecuteActivity(ctx, acts.Reconcile).Get(ctx, &result); err != nil {
			logger.Error("Bank reconciliation round failed", "Error", err)
		}
		if !result.CaughtUp && result.Pages > 0 {
			continue
		}
		if err := workflow.Sleep(ctx, in.PollInterval); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, BankReconciliation, in)
}
