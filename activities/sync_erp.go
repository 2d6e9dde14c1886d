package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/erpsync"
)

// SyncERPActivities store pages of ERP changes for the SyncERP workflow.
type SyncERPActivities struct {
	Syncer *erpsync.Syncer
}

// SyncERPPageInput names the sync stream and the page size.
type SyncERPPageInput struct {
	Stream   string `json:"stream"`
	PageSize int    `json:"page_size"`
}

// SyncERPPage reads the next page of a stream after its stored watermark,
// stores it and moves the watermark. Repeating a call after a crash reads
// the same page again or the next one, so retries are safe. An unknown
// stream fails without retry.
func (a *SyncERPActivities) SyncERPPage(ctx context.Context, input SyncERPPageInput) (erpsync.PageResult, error) {
	result, err := a.Syncer.SyncPage(ctx, input.Stream, input.PageSize)
	if errors.Is(err, erpsync.ErrUnknownStream) {
		return erpsync.PageResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "UnknownSyncStream", err)
	}
	return result, err
}
