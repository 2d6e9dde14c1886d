package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/store"
)

// ImportResult is the outcome of importing a CRM export and waiting until
// every chain it started has closed.
type ImportResult struct {
	Contracts int
	// Imported is when the import call returned, Closed when the last
	// chain closed, both measured from the upload.
	Imported time.Duration
	Closed   time.Duration
}

// PerSecond returns chains closed per second over the whole run.
func (r ImportResult) PerSecond() float64 {
	return float64(r.Contracts) / r.Closed.Seconds()
}

// RunImport uploads the CRM export in dir to the API at baseURL and polls
// until every contract is closed or timeout passes. progress is called
// with the closed count at each poll.
func RunImport(ctx context.Context, baseURL, dir string, timeout time.Duration, progress func(closed, total int)) (ImportResult, error) {
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for _, name := range crmimport.Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ImportResult{}, fmt.Errorf("read %s: %w", name, err)
		}
		part, err := form.CreateFormFile(name, name)
		if err != nil {
			return ImportResult{}, err
		}
		if _, err := part.Write(data); err != nil {
			return ImportResult{}, err
		}
	}
	if err := form.Close(); err != nil {
		return ImportResult{}, err
	}

	c := apiclient.New(baseURL, "")
	started := time.Now()
	var summary *crmimport.Summary
	err := c.Stream(ctx, "/api/v1/imports/crm", form.FormDataContentType(), &body, func(line []byte) error {
		var event api.ImportEvent
		if err := json.Unmarshal(line, &event); err != nil {
			return err
		}
		if event.Type == "error" && event.Error != nil {
			return fmt.Errorf("import failed: %s", event.Error.Message)
		}
		if event.Summary != nil {
			summary = event.Summary
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	if summary == nil {
		return ImportResult{}, fmt.Errorf("import ended without a summary")
	}
	result := ImportResult{Contracts: summary.Contracts.Created, Imported: time.Since(started)}

	deadline := started.Add(timeout)
	for {
		var s api.Summary
		if err := c.Get(ctx, "/api/v1/summary", nil, &s); err != nil {
			return result, err
		}
		closed := 0
		for _, count := range s.Contracts {
			if count.State == store.ContractClosed {
				closed = count.Count
			}
		}
		if progress != nil {
			progress(closed, s.Total)
		}
		if closed >= s.Total && s.Total > 0 {
			result.Closed = time.Since(started)
			return result, nil
		}
		if time.Now().After(deadline) {
			return result, fmt.Errorf("%d of %d chains closed after %s", closed, s.Total, timeout)
		}
		select {
		case <-ctx.Done():
			return result, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// ChainShape counts the activities of one closed chain: local activities,
// including those that record progress in ordo's database, and regular
// activities.
type ChainShape struct {
	LocalActivities   int
	RegularActivities int
	Events            int
	// Groups counts the activities between two outside events (signals
	// and fired timers), in history order.
	Groups []int
}

// Activities returns the number of activities the chain ran.
func (s ChainShape) Activities() int { return s.LocalActivities + s.RegularActivities }

// MeasureChain reads the history of a closed chain.
func MeasureChain(ctx context.Context, c client.Client, workflowID string) (ChainShape, error) {
	var shape ChainShape
	current := 0
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			return shape, fmt.Errorf("read history of %s: %w", workflowID, err)
		}
		shape.Events++
		switch event.GetEventType() {
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if event.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				shape.LocalActivities++
				current++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			shape.RegularActivities++
			current++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_TIMER_FIRED:
			if current > 0 {
				shape.Groups = append(shape.Groups, current)
				current = 0
			}
		}
	}
	if current > 0 {
		shape.Groups = append(shape.Groups, current)
	}
	return shape, nil
}
