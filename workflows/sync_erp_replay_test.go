package workflows_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/workflows"
)

// TestSyncERPHistoryArguments reruns SyncERP over the page results of each
// saved history and checks that the current code requests the same pages
// and continues as new with the same input. The replayer of the Go SDK in
// go.mod compares commands and activity types but not activity arguments:
// with the streams reordered, TestReplayHistories still passes, although a
// running sync would resume at the wrong stream.
func TestSyncERPHistoryArguments(t *testing.T) {
	for _, name := range []string{"sync_erp_paged.json", "sync_erp_dead_letters_continued.json"} {
		t.Run(name, func(t *testing.T) {
			recorded := readSyncHistory(t, readHistory(t, filepath.Join("testdata", name)))

			var requested []activities.SyncERPPageInput
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.RegisterWorkflowWithOptions(workflows.SyncERP, workflow.RegisterOptions{Name: workflows.SyncERPName})
			var acts *activities.SyncERPActivities
			env.RegisterActivity(acts)
			env.OnActivity(acts.SyncERPPage, mock.Anything, mock.Anything).Return(
				func(_ context.Context, input activities.SyncERPPageInput) (erpsync.PageResult, error) {
					requested = append(requested, input)
					if len(requested) > len(recorded.results) {
						return erpsync.PageResult{}, errors.New("the history records no result for this page")
					}
					return recorded.results[len(requested)-1], nil
				})
			env.ExecuteWorkflow(workflows.SyncERPName, recorded.input)

			if len(requested) != len(recorded.requests) {
				t.Fatalf("workflow requested %d pages %v, the history records %d %v",
					len(requested), requested, len(recorded.requests), recorded.requests)
			}
			for i := range requested {
				if requested[i] != recorded.requests[i] {
					t.Errorf("page %d requested %+v, the history records %+v", i+1, requested[i], recorded.requests[i])
				}
			}

			var continued *workflow.ContinueAsNewError
			err := env.GetWorkflowError()
			if recorded.continuedAs == nil {
				if err != nil {
					t.Fatalf("workflow failed: %v, the history records a completed run", err)
				}
				return
			}
			if !errors.As(err, &continued) {
				t.Fatalf("workflow ended with %v, the history records a continue-as-new", err)
			}
			var next workflows.SyncERPInput
			decodePayloads(t, continued.Input, &next)
			if next.StreamIndex != recorded.continuedAs.StreamIndex || next.Totals != recorded.continuedAs.Totals {
				t.Errorf("continued as new with %+v, the history records %+v", next, *recorded.continuedAs)
			}
		})
	}
}

// syncHistory is what a SyncERP history records: the input, each page
// request with its result, and the input of the continued run if any.
type syncHistory struct {
	input       workflows.SyncERPInput
	requests    []activities.SyncERPPageInput
	results     []erpsync.PageResult
	continuedAs *workflows.SyncERPInput
}

func readSyncHistory(t *testing.T, history *historypb.History) syncHistory {
	t.Helper()
	var recorded syncHistory
	for _, event := range history.Events {
		if attrs := event.GetWorkflowExecutionStartedEventAttributes(); attrs != nil {
			decodePayloads(t, attrs.GetInput(), &recorded.input)
		}
		if attrs := event.GetActivityTaskScheduledEventAttributes(); attrs != nil {
			var request activities.SyncERPPageInput
			decodePayloads(t, attrs.GetInput(), &request)
			recorded.requests = append(recorded.requests, request)
		}
		if attrs := event.GetActivityTaskCompletedEventAttributes(); attrs != nil {
			var result erpsync.PageResult
			decodePayloads(t, attrs.GetResult(), &result)
			recorded.results = append(recorded.results, result)
		}
		if attrs := event.GetWorkflowExecutionContinuedAsNewEventAttributes(); attrs != nil {
			next := workflows.SyncERPInput{}
			decodePayloads(t, attrs.GetInput(), &next)
			recorded.continuedAs = &next
		}
	}
	if len(recorded.results) != len(recorded.requests) {
		t.Fatalf("history records %d page requests and %d results, expected one result per request",
			len(recorded.requests), len(recorded.results))
	}
	return recorded
}

func decodePayloads(t *testing.T, payloads *commonpb.Payloads, into any) {
	t.Helper()
	if err := converter.GetDefaultDataConverter().FromPayloads(payloads, into); err != nil {
		t.Fatalf("decode payload into %T: %v", into, err)
	}
}
