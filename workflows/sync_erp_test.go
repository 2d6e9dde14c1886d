package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/erpsync"
)

// fakePages serves SyncERPPage from a fixed number of full pages per
// stream, then one short page, and records the calls.
type fakePages struct {
	full  map[string]int
	calls []string
	fail  error
}

func (f *fakePages) page(_ context.Context, input activities.SyncERPPageInput) (erpsync.PageResult, error) {
	if f.fail != nil {
		return erpsync.PageResult{}, f.fail
	}
	f.calls = append(f.calls, input.Stream)
	if f.full[input.Stream] > 0 {
		f.full[input.Stream]--
		return erpsync.PageResult{Stream: input.Stream, Fetched: 10, Stored: 9, DeadLettered: 1}, nil
	}
	return erpsync.PageResult{Stream: input.Stream, Fetched: 3, Stored: 3, CaughtUp: true}, nil
}

func newSyncEnv(t *testing.T, fake *fakePages) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SyncERP, workflow.RegisterOptions{Name: SyncERPName})
	var acts *activities.SyncERPActivities
	env.RegisterActivity(acts)
	env.OnActivity(acts.SyncERPPage, mock.Anything, mock.Anything).Return(fake.page)
	return env
}

func TestSyncERPPagesEveryStream(t *testing.T) {
	fake := &fakePages{full: map[string]int{"customers": 2, "documents:SAL_SaleOrder": 1}}
	env := newSyncEnv(t, fake)
	env.ExecuteWorkflow(SyncERP, SyncERPInput{Streams: []string{"customers", "documents:SAL_SaleOrder"}, PageSize: 10})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var result SyncERPResult
	if err := env.GetWorkflowResult(&result); err != nil {
		t.Fatal(err)
	}
	want := []string{"customers", "customers", "customers", "documents:SAL_SaleOrder", "documents:SAL_SaleOrder"}
	if len(fake.calls) != len(want) {
		t.Fatalf("calls = %v, want %v", fake.calls, want)
	}
	for i := range want {
		if fake.calls[i] != want[i] {
			t.Errorf("call %d = %s, want %s", i, fake.calls[i], want[i])
		}
	}
	if result.Pages != 5 || result.Fetched != 36 || result.Stored != 33 || result.DeadLettered != 3 {
		t.Errorf("result = %+v, want 5 pages, 36 fetched, 33 stored, 3 dead-lettered", result)
	}
}

func TestSyncERPContinuesAsNew(t *testing.T) {
	fake := &fakePages{full: map[string]int{"customers": 1, "documents:AR_receivable": 10}}
	env := newSyncEnv(t, fake)
	env.ExecuteWorkflow(SyncERP, SyncERPInput{Streams: []string{"customers", "documents:AR_receivable"}, PagesPerRun: 4})

	var continued *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &continued) {
		t.Fatalf("error = %v, want continue-as-new", err)
	}
	if len(fake.calls) != 4 {
		t.Errorf("pages before continue-as-new = %d, want 4", len(fake.calls))
	}
	var next SyncERPInput
	if err := decodeContinueInput(continued, &next); err != nil {
		t.Fatal(err)
	}
	if next.StreamIndex != 1 {
		t.Errorf("next stream index = %d, want 1", next.StreamIndex)
	}
	if next.Totals.Pages != 4 || next.Totals.Stored != 9+3+9+9 {
		t.Errorf("carried totals = %+v, want 4 pages and 30 stored", next.Totals)
	}
}

func TestSyncERPStopsOnFailure(t *testing.T) {
	fake := &fakePages{fail: temporal.NewNonRetryableApplicationError("unknown sync stream", "UnknownSyncStream", nil)}
	env := newSyncEnv(t, fake)
	env.ExecuteWorkflow(SyncERP, SyncERPInput{Streams: []string{"bogus"}})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("sync of an unknown stream succeeded, want an error")
	}
}
