package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/sirupsen/logrus"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/workflows"
)

// SyncERPScheduleID is the Temporal schedule that starts SyncERP.
const SyncERPScheduleID = "ordo-sync-erp"

// defaultSyncInterval is the schedule interval when erp.sync_interval is 0.
const defaultSyncInterval = 5 * time.Minute

// keepSyncSchedule runs ensureSyncSchedule until it succeeds or ctx ends.
// It runs beside the start of ordo instead of in it: right after a
// restart the embedded server's schedules can take a minute to answer,
// and the rest of ordo must not wait for them.
func keepSyncSchedule(ctx context.Context, c client.Client, cfg *config.Config, logger logrus.FieldLogger) {
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := ensureSyncSchedule(attemptCtx, c, cfg)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		logger.WithError(err).Warn("creating the ERP sync schedule failed; retrying in 30s")
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
	}
}

// ensureSyncSchedule creates the schedule that starts SyncERP every
// erp.sync_interval, or updates its interval when it exists, so every
// start of ordo leaves exactly one schedule. A run that is still going
// when the next one is due makes the schedule skip that start.
func ensureSyncSchedule(ctx context.Context, c client.Client, cfg *config.Config) error {
	interval := cfg.ERP.SyncInterval
	if interval < 0 {
		return nil
	}
	if interval == 0 {
		interval = defaultSyncInterval
	}

	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: interval}}}
	action := &client.ScheduleWorkflowAction{
		ID:        "sync-erp",
		Workflow:  workflows.SyncERPName,
		Args:      []any{workflows.SyncERPInput{PageSize: cfg.ERP.SyncPageSize}},
		TaskQueue: cfg.TaskQueue,
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: SyncERPScheduleID, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", SyncERPScheduleID, err)
	}

	// The schedule exists from an earlier start: apply the current settings.
	handle := c.ScheduleClient().GetHandle(ctx, SyncERPScheduleID)
	err = handle.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(input client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			schedule := input.Description.Schedule
			schedule.Spec = &spec
			schedule.Action = action
			if schedule.Policy == nil {
				schedule.Policy = &client.SchedulePolicies{}
			}
			schedule.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
			return &client.ScheduleUpdate{Schedule: &schedule}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", SyncERPScheduleID, err)
	}
	return nil
}
