package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/erpsync"
)

// SyncERPName is the registered name of the SyncERP workflow.
const SyncERPName = "SyncERP"

// DefaultSyncPagesPerRun is the number of pages one SyncERP run stores
// before it continues as new, which keeps its history at a few hundred
// events.
const DefaultSyncPagesPerRun = 50

// SyncERPInput configures a SyncERP run.
type SyncERPInput struct {
	// Streams are the syncs to run in order. Empty means
	// erpsync.DefaultStreams.
	Streams []string `json:"streams,omitempty"`
	// PageSize is the number of records per page. 0 means 2,000.
	PageSize int `json:"page_size,omitempty"`
	// PagesPerRun is the number of pages before continue-as-new. 0 means
	// DefaultSyncPagesPerRun.
	PagesPerRun int `json:"pages_per_run,omitempty"`
	// StreamIndex is the stream a continued run resumes at.
	StreamIndex int `json:"stream_index,omitempty"`
	// Totals carries the counts of the earlier runs of the chain.
	Totals SyncERPResult `json:"totals"`
}

// SyncERPResult counts what a sync stored over all its runs.
type SyncERPResult struct {
	Pages        int `json:"pages"`
	Fetched      int `json:"fetched"`
	Stored       int `json:"stored"`
	DeadLettered int `json:"dead_lettered"`
}

// SyncERP pulls the changes of each stream from its watermark page by
// page until the stream has caught up. Each page is stored, and the
// watermark moved, by one activity. After PagesPerRun pages the workflow
// continues as new at the current stream, so one run's history stays
// small however many records changed.
func SyncERP(ctx workflow.Context, input SyncERPInput) (SyncERPResult, error) {
	streams := input.Streams
	if len(streams) == 0 {
		streams = erpsync.DefaultStreams
	}
	pagesPerRun := input.PagesPerRun
	if pagesPerRun <= 0 {
		pagesPerRun = DefaultSyncPagesPerRun
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
		},
	})
	logger := workflow.GetLogger(ctx)

	var acts *activities.SyncERPActivities
	totals := input.Totals
	pages := 0
	for index := input.StreamIndex; index < len(streams); index++ {
		for {
			if pages >= pagesPerRun {
				next := input
				next.StreamIndex = index
				next.Totals = totals
				logger.Info("Continuing the ERP sync as new", "Stream", streams[index], "Pages", totals.Pages)
				return totals, workflow.NewContinueAsNewError(ctx, SyncERPName, next)
			}
			var page erpsync.PageResult
			request := activities.SyncERPPageInput{Stream: streams[index], PageSize: input.PageSize}
			if err := workflow.ExecuteActivity(ctx, acts.SyncERPPage, request).Get(ctx, &page); err != nil {
				return totals, err
			}
			pages++
			totals.Pages++
			totals.Fetched += page.Fetched
			totals.Stored += page.Stored
			totals.DeadLettered += page.DeadLettered
			if page.CaughtUp {
				break
			}
		}
	}
	return totals, nil
}
