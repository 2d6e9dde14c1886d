package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/activities"
	wecomsim "github.com/ordo-project/ordo/internal/simulators/wecom"
	"github.com/ordo-project/ordo/workflows"
)

// TestTaskPageFromWeComCard opens a task from a workflow and reads the
// link of the text card that reached the WeCom simulator. After a restart
// of the stack the link opens with 200, the page's form completes the
// task, and the workflow receives the completion.
func TestTaskPageFromWeComCard(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	ctx := context.Background()
	due := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	request := activities.TaskRequest{
		Key: "lead-SLA-PAGE/reminder/" + due.Format(time.RFC3339), Kind: activities.TaskLeadReminder,
		Assignee: "Moses Frase", Email: "moses.frase@example.com", Subject: "lead:PAGE",
		Params: map[string]string{"lead_id": "PAGE", "account": "Acme Corporation", "product": "GTX Basic", "rep": "Moses Frase"},
		Due:    &due,
	}

	c := s.TemporalClient()
	stopWorker := startProbeWorker(t, c)
	probe, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "lead-SLA-PAGE", TaskQueue: taskProbeQueue},
		taskProbe, taskProbeInput{TaskQueue: s.Config.TaskQueue, Request: request, Wait: true})
	if err != nil {
		t.Fatalf("start the probe: %v", err)
	}
	view := waitTaskNotified(t, s.API, "lead:PAGE")
	if messages := waitWeComDelivered(t, s.API, 1, 30*time.Second); messages.Delivered != 1 {
		t.Fatalf("WeCom messages %+v, expected one", messages)
	}
	link := weComCardLink(t, "http://"+s.Config.Sim.WeCom.Address)
	if link != view.Task.Link {
		t.Errorf("card link %q differs from the task's link %q", link, view.Task.Link)
	}
	if prefix := s.Config.API.PublicURL + "/t/" + itoa(view.Task.ID) + "?sig="; !strings.HasPrefix(link, prefix) {
		t.Fatalf("card link %q, expected the signed task page %s...", link, prefix)
	}

	// The link secret that ordo dev generated survives a restart, so
	// links sent before it still open.
	stopWorker()
	s.Stop()
	s.Start()
	c = s.TemporalClient()
	defer startProbeWorker(t, c)()

	status, page := fetchPage(t, http.MethodGet, link, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, expected 200; body %s", link, status, page)
	}
	for _, word := range []string{"请联系线索 PAGE（Acme Corporation）", "Moses Frase", "2026-12-07 18:00", "标记为已完成"} {
		if !strings.Contains(page, word) {
			t.Errorf("task page lacks %q:\n%s", word, page)
		}
	}

	parsed, err := url.Parse(link)
	if err != nil {
		t.Fatalf("parse link %q: %v", link, err)
	}
	parsed.Path += "/complete"
	status, page = fetchPage(t, http.MethodPost, parsed.String(), url.Values{"by": {"Moses Frase"}, "note": {"called from WeCom"}})
	if status != http.StatusOK || !strings.Contains(page, "任务已完成，流程将继续。") {
		t.Fatalf("POST %s: status %d, expected 200 and the completion notice; body %s", parsed, status, page)
	}

	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var completion workflows.TaskCompletion
	if err := c.GetWorkflow(waitCtx, probe.GetID(), "").Get(waitCtx, &completion); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if completion.TaskID != view.Task.ID || completion.By != "Moses Frase" || completion.Note != "called from WeCom" {
		t.Errorf("completion = %+v, expected task %d completed by Moses Frase through the page", completion, view.Task.ID)
	}
}

// weComCardLink returns the link of the one text card that the WeCom
// simulator at simURL recorded.
func weComCardLink(t *testing.T, simURL string) string {
	t.Helper()
	resp, err := http.Get(simURL + "/sim/messages")
	if err != nil {
		t.Fatalf("list WeCom messages: %v", err)
	}
	defer resp.Body.Close()
	var messages []wecomsim.Message
	if err := json.NewDecoder(resp.Body).Decode(&messages); err != nil {
		t.Fatalf("decode WeCom messages: %v", err)
	}
	if len(messages) != 1 || messages[0].MsgType != "textcard" || messages[0].URL == "" {
		t.Fatalf("WeCom messages %+v, expected one text card with a link", messages)
	}
	return messages[0].URL
}

// fetchPage sends a request, with form as its urlencoded body when set,
// and returns the status and body.
func fetchPage(t *testing.T, method, target string, form url.Values) (int, string) {
	t.Helper()
	request, err := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("build %s %s: %v", method, target, err)
	}
	if form != nil {
		request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the response to %s %s: %v", method, target, err)
	}
	return resp.StatusCode, string(body)
}
