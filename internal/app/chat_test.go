package app_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/config"
	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	feishusim "github.com/ordo-project/ordo/internal/simulators/feishu"
)

type chatLedger struct {
	DingTalk *dingtalksim.Summary `json:"dingtalk"`
	Feishu   *feishusim.Summary   `json:"feishu"`
}

// waitChatDelivered waits up to 60 seconds until both simulators
// delivered at least one message, and returns their summaries.
func waitChatDelivered(t *testing.T, c *apiclient.Client) chatLedger {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ledger chatLedger
		if err := c.Get(context.Background(), "/api/v1/dev/ledger", nil, &ledger); err != nil {
			t.Fatalf("read the dev ledger: %v", err)
		}
		if ledger.DingTalk == nil || ledger.Feishu == nil {
			t.Fatalf("the dev ledger lacks the DingTalk or Feishu summary: are the simulators running?")
		}
		if (ledger.DingTalk.Delivered >= 1 && ledger.Feishu.Delivered >= 1) || time.Now().After(deadline) {
			return ledger
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestChatChannelsUnderFaults enables DingTalk and Feishu with the
// simulators failing a third of the requests, opens a task and checks
// that each simulator received the notification exactly once.
func TestChatChannelsUnderFaults(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{Configure: func(cfg *config.Config) {
		cfg.Sim.FaultRate = 0.3
		cfg.Notify.Channels = []string{"dingtalk", "feishu", "log"}
		cfg.Notify.DingTalk.Enabled = true
		cfg.Sim.DingTalk.Address = freeAddress(t)
		cfg.Notify.DingTalk.BaseURL = "http://" + cfg.Sim.DingTalk.Address
		cfg.Notify.DingTalk.Users = map[string]string{"Moses Frase": "moses.frase"}
		cfg.Notify.Feishu.Enabled = true
		cfg.Sim.Feishu.Address = freeAddress(t)
		cfg.Notify.Feishu.BaseURL = "http://" + cfg.Sim.Feishu.Address
		cfg.Notify.Feishu.Users = map[string]string{"Moses Frase": "u_moses"}
	}})
	ctx := context.Background()
	due := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	request := activities.TaskRequest{
		Key: "lead-SLA-CHAT/reminder/" + due.Format(time.RFC3339), Kind: activities.TaskLeadReminder,
		Assignee: "Moses Frase", Subject: "lead:CHAT",
		Params: map[string]string{"lead_id": "CHAT", "account": "Acme Corporation", "product": "GTX Basic", "rep": "Moses Frase"},
		Due:    &due,
	}
	c := s.TemporalClient()
	defer startProbeWorker(t, c)()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "lead-SLA-CHAT", TaskQueue: taskProbeQueue},
		taskProbe, taskProbeInput{TaskQueue: s.Config.TaskQueue, Request: request})
	if err != nil {
		t.Fatalf("start the probe: %v", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("probe: %v", err)
	}
	ledger := waitChatDelivered(t, s.API)
	if d := ledger.DingTalk; d.Delivered != 1 || d.DuplicateCopies != 0 {
		t.Errorf("DingTalk notices %+v, want exactly one", d)
	}
	if f := ledger.Feishu; f.Delivered != 1 || f.DuplicateCopies != 0 {
		t.Errorf("Feishu messages %+v, want exactly one", f)
	}
	// Retries that are still running must not add a copy.
	time.Sleep(2 * time.Second)
	if again := waitChatDelivered(t, s.API); again.DingTalk.Delivered != 1 || again.Feishu.Delivered != 1 {
		t.Errorf("after 2 s: DingTalk %+v, Feishu %+v, want still one each", again.DingTalk, again.Feishu)
	}
}
