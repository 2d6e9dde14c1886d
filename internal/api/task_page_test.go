package api

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/tasklink"
	"github.com/ordo-project/ordo/workflows"
)

// testLinkSecret signs the task-page links of the tests.
var testLinkSecret = []byte("api-test-link-secret")

func withLinkSecret(s *Server) { s.LinkSecret = testLinkSecret }

// pagePath returns the signed path of task's page.
func pagePath(task *store.Task) string {
	return tasklink.Path(task.ID) + "?sig=" + tasklink.Sign(testLinkSecret, task.ID, task.Key)
}

// completePath returns the signed path of task's completion form.
func completePath(task *store.Task) string {
	return tasklink.Path(task.ID) + "/complete?sig=" + tasklink.Sign(testLinkSecret, task.ID, task.Key)
}

// postForm posts the completion form of a task page.
func (ts *testServer) postForm(path string, form url.Values) response {
	ts.t.Helper()
	return ts.do(http.MethodPost, path, []byte(form.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

// expectPage fails the test unless resp is an HTML page with status whose
// text contains every word.
func (r response) expectPage(t *testing.T, status int, words ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, expected %d; body %s", r.status, status, r.body)
	}
	if contentType := r.header.Get("Content-Type"); contentType != "text/html; charset=utf-8" {
		t.Errorf("content type %q, expected HTML", contentType)
	}
	text := html.UnescapeString(string(r.body))
	for _, word := range words {
		if !strings.Contains(text, word) {
			t.Errorf("page lacks %q:\n%s", word, text)
		}
	}
}

func TestTaskPageSignature(t *testing.T) {
	ts := newTestServer(t, "sqlite", withLinkSecret)
	task := seedTask(t, ts, "page-sig", "Moses Frase", "lead_reminder", "lead:page-sig", "")
	other := seedTask(t, ts, "page-sig-other", "Moses Frase", "lead_reminder", "lead:page-sig-other", "")
	sig := tasklink.Sign(testLinkSecret, task.ID, task.Key)
	id := strconv.FormatInt(task.ID, 10)

	ts.do(http.MethodGet, pagePath(task), nil, nil).expectPage(t, http.StatusOK, "title page-sig", "Moses Frase")

	cases := []struct{ name, path string }{
		{"no signature", "/t/" + id},
		{"empty signature", "/t/" + id + "?sig="},
		{"tampered signature", "/t/" + id + "?sig=" + "x" + sig[1:]},
		{"signature of another task", "/t/" + strconv.FormatInt(other.ID, 10) + "?sig=" + sig},
		{"unknown task", "/t/424242?sig=" + sig},
		{"id not a number", "/t/abc?sig=" + sig},
		{"signed by another secret", "/t/" + id + "?sig=" + tasklink.Sign([]byte("other"), task.ID, task.Key)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := ts.do(http.MethodGet, tc.path, nil, nil)
			resp.expectPage(t, http.StatusForbidden, "链接无效")
			if strings.Contains(string(resp.body), "title page-sig") {
				t.Errorf("rejected page shows the task:\n%s", resp.body)
			}
		})
	}

	t.Run("form with tampered signature", func(t *testing.T) {
		path := "/t/" + id + "/complete?sig=" + "x" + sig[1:]
		ts.postForm(path, url.Values{"by": {"Moses Frase"}}).expectPage(t, http.StatusForbidden, "链接无效")
		stored, err := ts.store.GetTask(context.Background(), task.ID)
		if err != nil || stored.State != store.TaskOpen {
			t.Errorf("task after a rejected form: %+v, err %v; expected it open", stored, err)
		}
	})

	t.Run("old API link still needs the token", func(t *testing.T) {
		tokenServer := newTestServer(t, "sqlite", func(s *Server) { withLinkSecret(s); s.Token = "api-token" })
		oldTask := seedTask(t, tokenServer, "page-old", "Moses Frase", "lead_reminder", "lead:page-old", "")
		path := "/api/v1/tasks/" + strconv.FormatInt(oldTask.ID, 10)
		if resp := tokenServer.do(http.MethodGet, path, nil, nil); resp.status != http.StatusUnauthorized {
			t.Errorf("old link without the token: status %d, expected 401", resp.status)
		}
		if resp := tokenServer.do(http.MethodGet, path, nil, http.Header{"Authorization": {"Bearer api-token"}}); resp.status != http.StatusOK {
			t.Errorf("old link with the token: status %d, expected 200; body %s", resp.status, resp.body)
		}
		tokenServer.do(http.MethodGet, pagePath(oldTask), nil, nil).expectPage(t, http.StatusOK, "title page-old")
	})

	t.Run("no link secret", func(t *testing.T) {
		unsigned := newTestServer(t, "sqlite", nil)
		unsignedTask := seedTask(t, unsigned, "page-unsigned", "Moses Frase", "lead_reminder", "lead:page-unsigned", "")
		path := tasklink.Path(unsignedTask.ID) + "?sig=" + tasklink.Sign(nil, unsignedTask.ID, unsignedTask.Key)
		unsigned.do(http.MethodGet, path, nil, nil).expectPage(t, http.StatusForbidden)
	})
}

func TestTaskPageLanguages(t *testing.T) {
	ts := newTestServer(t, "sqlite", withLinkSecret)
	task := seedTask(t, ts, "page-lang", "Moses Frase", "lead_reminder", "lead:page-lang", "")
	// seedTask's due time is testNow plus 48 hours, 2026-12-06 10:00 UTC,
	// shown in the default notify.time_zone, Asia/Shanghai.
	due := "2026-12-06 18:00 (UTC+08:00)"
	id := strconv.FormatInt(task.ID, 10)
	sig := tasklink.Sign(testLinkSecret, task.ID, task.Key)

	cases := []struct {
		name, query, acceptLanguage string
		words                       []string
	}{
		{"default Chinese", "", "", []string{"负责人", "截止时间", "待处理", "标记为已完成", due,
			`action="` + id + `/complete?sig=` + sig + `"`, `href="` + id + `?lang=en&sig=` + sig + `"`}},
		{"lang en", "&lang=en", "", []string{"Assignee", "Due", "Open", "Mark as done", due,
			`action="` + id + `/complete?lang=en&sig=` + sig + `"`, `href="` + id + `?lang=zh-CN&sig=` + sig + `"`}},
		{"English browser", "", "en-US,en;q=0.9", []string{"Assignee", "Mark as done"}},
		{"lang zh-CN in an English browser", "&lang=zh-CN", "en-US", []string{"负责人", "标记为已完成"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.acceptLanguage != "" {
				header.Set("Accept-Language", tc.acceptLanguage)
			}
			resp := ts.do(http.MethodGet, pagePath(task)+tc.query, nil, header)
			resp.expectPage(t, http.StatusOK, append(tc.words, "title page-lang", "body page-lang", "Moses Frase", "lead:page-lang")...)
		})
	}
}

func TestTaskPageComplete(t *testing.T) {
	ts := newTestServer(t, "sqlite", withLinkSecret)
	workflowID := startIdleWorkflow(t)
	task := seedTask(t, ts, "page-complete", "Moses Frase", "lead_reminder", "lead:page-complete", workflowID)

	resp := ts.postForm(completePath(task), url.Values{"by": {"Moses Frase"}, "note": {"called the customer"}})
	resp.expectPage(t, http.StatusOK, "任务已完成，流程将继续。", "已完成", "Moses Frase", "called the customer", "返回任务")
	if strings.Contains(string(resp.body), "<form") {
		t.Errorf("page after the completion still has the form:\n%s", resp.body)
	}
	stored, err := ts.store.GetTask(context.Background(), task.ID)
	if err != nil || stored.State != store.TaskDone || stored.CompletedBy != "Moses Frase" || stored.Note != "called the customer" {
		t.Fatalf("task after the form: %+v, err %v; expected done by Moses Frase with the note", stored, err)
	}

	// A repeat keeps the first completion and, as the API does, signals it
	// again.
	ts.postForm(completePath(task)+"&lang=en", url.Values{"by": {"Moses Frase"}, "note": {"again"}}).
		expectPage(t, http.StatusOK, "Moses Frase completed this task at 2026-12-04 18:00 (UTC+08:00), so nothing changed.")

	signals := signalsOf[workflows.TaskCompletion](t, workflowID, workflows.SignalTaskCompleted)
	if len(signals) != 2 {
		t.Fatalf("%d task-completed signals, expected 2 (the completion and its repeat)", len(signals))
	}
	for i, signal := range signals {
		if signal.TaskID != task.ID || signal.By != "Moses Frase" || signal.Note != "called the customer" || !signal.At.Equal(testNow) {
			t.Errorf("signal %d = %+v, expected task %d completed by Moses Frase at %v", i, signal, task.ID, testNow)
		}
	}
}

func TestTaskPageCompleteRejected(t *testing.T) {
	ts := newTestServer(t, "sqlite", withLinkSecret)
	seedSalesAgents(t, ts.store)
	ctx := context.Background()
	expectOpen := func(t *testing.T, task *store.Task) {
		t.Helper()
		stored, err := ts.store.GetTask(ctx, task.ID)
		if err != nil || stored.State != store.TaskOpen {
			t.Errorf("task after a rejected form: %+v, err %v; expected it open", stored, err)
		}
	}

	t.Run("someone else", func(t *testing.T) {
		task := seedTask(t, ts, "page-other", "Moses Frase", "lead_reminder", "lead:page-other", "")
		resp := ts.postForm(completePath(task)+"&lang=en", url.Values{"by": {"Anna Snelling"}})
		resp.expectPage(t, http.StatusForbidden,
			"Anna Snelling may not complete this task: only its assignee Moses Frase or their manager Cara Losch may.",
			`value="Anna Snelling"`, "<form")
		expectOpen(t, task)
	})

	t.Run("manager", func(t *testing.T) {
		task := seedTask(t, ts, "page-manager", "Moses Frase", "lead_reminder", "lead:page-manager", "")
		ts.postForm(completePath(task), url.Values{"by": {"Cara Losch"}}).expectPage(t, http.StatusOK, "任务已完成。", "Cara Losch")
	})

	t.Run("assignee without manager", func(t *testing.T) {
		task := seedTask(t, ts, "page-alone", "Lin Xiaoyan", "lead_reminder", "lead:page-alone", "")
		ts.postForm(completePath(task), url.Values{"by": {"Zhou Min"}}).
			expectPage(t, http.StatusForbidden, "Zhou Min 无权完成此任务：只有负责人 Lin Xiaoyan 可以完成。")
		expectOpen(t, task)
	})

	t.Run("missing by", func(t *testing.T) {
		task := seedTask(t, ts, "page-no-by", "Moses Frase", "lead_reminder", "lead:page-no-by", "")
		ts.postForm(completePath(task), url.Values{"by": {"  "}, "note": {"kept"}}).
			expectPage(t, http.StatusBadRequest, "请填写完成人姓名。", "kept")
		expectOpen(t, task)
	})

	t.Run("oversized form", func(t *testing.T) {
		task := seedTask(t, ts, "page-oversized", "Moses Frase", "lead_reminder", "lead:page-oversized", "")
		ts.postForm(completePath(task), url.Values{"by": {"Moses Frase"}, "note": {strings.Repeat("x", maxFormBytes)}}).
			expectPage(t, http.StatusBadRequest, "无法完成请求", "提交的表单无法读取")
		expectOpen(t, task)
	})

	t.Run("cancelled task", func(t *testing.T) {
		task := seedTask(t, ts, "page-cancelled", "Moses Frase", "lead_alert", "lead:page-cancelled", "")
		if _, err := store.CancelTasks(ctx, ts.store.DB, "lead:page-cancelled", nil, "lead reassigned", testNow); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		resp := ts.postForm(completePath(task), url.Values{"by": {"Moses Frase"}})
		resp.expectPage(t, http.StatusConflict, "此任务已取消，无需再完成。", "已取消", "lead reassigned")
		if strings.Contains(string(resp.body), "<form") {
			t.Errorf("page of a cancelled task has the form:\n%s", resp.body)
		}
	})
}

// failingSignals is a Temporal client whose signals fail as they do while
// the Temporal server is down.
type failingSignals struct {
	client.Client
}

func (failingSignals) SignalWorkflow(context.Context, string, string, string, any) error {
	return errors.New("connection refused")
}

func TestTaskPageSignalFailureKeepsForm(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(s *Server) {
		withLinkSecret(s)
		s.Temporal = failingSignals{Client: s.Temporal}
	})
	task := seedTask(t, ts, "page-503", "Moses Frase", "lead_reminder", "lead:page-503", "task-test-unreachable")

	resp := ts.postForm(completePath(task), url.Values{"by": {"Moses Frase"}, "note": {"called"}})
	resp.expectPage(t, http.StatusServiceUnavailable, "任务已标记为完成，但流程暂时未能收到通知。请稍后再次提交。", "已完成", "<form")
	stored, err := ts.store.GetTask(context.Background(), task.ID)
	if err != nil || stored.State != store.TaskDone {
		t.Errorf("task after the failed signal: %+v, err %v; expected it done", stored, err)
	}
}
