//go:build slow

package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/activities"
)

// TestWeComBurstToOnePerson opens 100 tasks for one person at once. The
// task activities finish at once, because WeCom messages go out from the
// outbox, and all 100 text cards reach the WeCom simulator, paced under
// its 30 messages a minute per person: none rejected, none dropped, none
// twice.
func TestWeComBurstToOnePerson(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	ctx := context.Background()
	c := s.TemporalClient()
	defer startProbeWorker(t, c)()

	const burst = 100
	started := time.Now()
	runs := make([]client.WorkflowRun, 0, burst)
	for i := range burst {
		request := activities.TaskRequest{
			Key: fmt.Sprintf("burst/%03d", i), Kind: activities.TaskLeadReminder,
			Assignee: "Moses Frase", Email: "moses.frase@example.com", Subject: fmt.Sprintf("lead:BURST%03d", i),
			Channels: []string{"wecom"},
			Params:   map[string]string{"lead_id": fmt.Sprintf("BURST%03d", i), "account": "Acme Corporation", "product": "GTX Basic", "rep": "Moses Frase"},
		}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: request.Key, TaskQueue: taskProbeQueue},
			taskProbe, taskProbeInput{TaskQueue: s.Config.TaskQueue, Request: request})
		if err != nil {
			t.Fatalf("start probe %d: %v", i, err)
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		if err := run.Get(ctx, nil); err != nil {
			t.Fatalf("probe %s: %v", run.GetID(), err)
		}
	}
	if took := time.Since(started); took > time.Minute {
		t.Errorf("opening %d tasks took %s: the activities waited for WeCom's pace", burst, took.Round(time.Second))
	}

	messages := waitWeComDelivered(t, s.API, burst, 5*time.Minute)
	took := time.Since(started)
	if messages.Delivered != burst || messages.DistinctDelivered != burst || messages.DuplicateCopies != 0 ||
		messages.RateLimited != 0 || messages.Dropped != 0 {
		t.Fatalf("WeCom simulator received %+v, expected %d distinct cards, none rejected, dropped or repeated", messages, burst)
	}
	// 100 cards at 30 a minute need three full minutes after the first.
	if took < 3*time.Minute {
		t.Errorf("the burst arrived in %s, faster than 30 a minute allows", took.Round(time.Second))
	}
	t.Logf("%d cards delivered %s after the burst started", burst, took.Round(time.Second))
}
