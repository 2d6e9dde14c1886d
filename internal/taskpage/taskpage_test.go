package taskpage

import (
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/internal/store"
)

func TestMessageFilesHaveSameKeys(t *testing.T) {
	keys := map[string][]string{}
	for _, locale := range locales {
		data, err := fs.ReadFile(messageFiles, "messages/"+locale+".yaml")
		if err != nil {
			t.Fatalf("read messages of %s: %v", locale, err)
		}
		var texts map[string]string
		if err := yaml.Unmarshal(data, &texts); err != nil {
			t.Fatalf("parse messages of %s: %v", locale, err)
		}
		for key := range texts {
			keys[locale] = append(keys[locale], key)
		}
		slices.Sort(keys[locale])
	}
	if !slices.Equal(keys[locales[0]], keys[locales[1]]) {
		t.Errorf("message keys differ:\n%s: %v\n%s: %v", locales[0], keys[locales[0]], locales[1], keys[locales[1]])
	}
	for _, id := range labelIDs {
		if !slices.Contains(keys[locales[0]], id) {
			t.Errorf("label %s has no text", id)
		}
	}
}

func TestLocale(t *testing.T) {
	cases := []struct {
		name, query, acceptLanguage string
		locale                      string
		explicit                    bool
	}{
		{"default", "", "", "zh-CN", false},
		{"lang en", "lang=en", "", "en", true},
		{"lang zh-CN", "lang=zh-CN", "en-US,en;q=0.9", "zh-CN", true},
		{"lang wins over header", "lang=en", "zh-CN,zh;q=0.9", "en", true},
		{"unknown lang falls back to header", "lang=xx-invalid-tag", "en-GB", "en", false},
		{"English header", "", "en-US,en;q=0.9", "en", false},
		{"Chinese header", "", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", false},
		{"unsupported header", "", "de-DE", "zh-CN", false},
		{"malformed header", "", ";;;", "zh-CN", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/t/1?"+tc.query, nil)
			if tc.acceptLanguage != "" {
				r.Header.Set("Accept-Language", tc.acceptLanguage)
			}
			locale, explicit := Locale(r)
			if locale != tc.locale || explicit != tc.explicit {
				t.Errorf("Locale = %s, explicit %v; expected %s, explicit %v", locale, explicit, tc.locale, tc.explicit)
			}
		})
	}
}

func testTask() *store.Task {
	due := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return &store.Task{
		ID: 7, Key: "k", Kind: "lead_reminder", Assignee: "Moses Frase", Subject: "lead:E2E",
		Title: "请联系线索 E2E（Acme <Corporation>）", Body: "第一行\n第二行", DueAt: &due, State: store.TaskOpen,
		CreatedAt: time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC),
	}
}

func render(t *testing.T, page Page) (int, http.Header, string) {
	t.Helper()
	recorder := httptest.NewRecorder()
	if err := Write(recorder, http.StatusOK, page); err != nil {
		t.Fatalf("write page: %v", err)
	}
	return recorder.Code, recorder.Header(), recorder.Body.String()
}

// renderText renders page and returns its HTML with the character
// references replaced, as a browser shows the text.
func renderText(t *testing.T, page Page) (int, http.Header, string) {
	t.Helper()
	status, header, body := render(t, page)
	return status, header, html.UnescapeString(body)
}

func TestWriteLanguages(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatalf("load Asia/Shanghai: %v", err)
	}
	cases := []struct {
		locale string
		words  []string
	}{
		{"zh-CN", []string{`lang="zh-CN"`, "负责人", "截止时间", "待处理", "标记为已完成", "English"}},
		{"en", []string{`lang="en"`, "Assignee", "Due", "Open", "Mark as done", "中文"}},
	}
	for _, tc := range cases {
		t.Run(tc.locale, func(t *testing.T) {
			status, header, body := renderText(t, Page{
				Locale: tc.locale, Location: shanghai, Task: testTask(), ShowForm: true, By: "Moses Frase",
				ActionURL: "7/complete?sig=S", SwitchURL: "7?sig=S&lang=x",
			})
			if status != http.StatusOK || header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("status %d, content type %q; expected 200 and HTML", status, header.Get("Content-Type"))
			}
			words := append(tc.words,
				"Moses Frase", "lead:E2E", "第一行\n第二行",
				"2026-12-07 18:00 (UTC+08:00)", "2026-12-05 10:00 (UTC+08:00)",
				`action="7/complete?sig=S"`, `href="7?sig=S&lang=x"`, `value="Moses Frase"`,
			)
			for _, word := range words {
				if !strings.Contains(body, word) {
					t.Errorf("page in %s lacks %q:\n%s", tc.locale, word, body)
				}
			}
		})
	}
}

func TestWriteEscapesTaskText(t *testing.T) {
	_, _, body := render(t, Page{Locale: "zh-CN", Task: testTask()})
	if strings.Contains(body, "<Corporation>") || !strings.Contains(body, "&lt;Corporation&gt;") {
		t.Errorf("the title's angle brackets are not escaped:\n%s", body)
	}
}

func TestWriteDoneTask(t *testing.T) {
	task := testTask()
	completed := time.Date(2026, 12, 6, 1, 30, 0, 0, time.UTC)
	task.State, task.CompletedAt, task.CompletedBy, task.Note = store.TaskDone, &completed, "Cara Losch", "called"
	_, _, body := renderText(t, Page{Locale: "en", Task: task, Notice: &Notice{Text: "The task is done."}})
	for _, word := range []string{"Done", "by Cara Losch at 2026-12-06 01:30 (UTC+00:00)", "called", "The task is done."} {
		if !strings.Contains(body, word) {
			t.Errorf("page of a done task lacks %q:\n%s", word, body)
		}
	}
	if strings.Contains(body, "<form") {
		t.Errorf("page of a done task has a form without ShowForm:\n%s", body)
	}
}

func TestWriteErrorPage(t *testing.T) {
	for _, locale := range locales {
		_, header, body := render(t, Page{Locale: locale, Heading: "heading text", Message: "link invalid"})
		if !strings.Contains(body, "<title>heading text</title>") || !strings.Contains(body, "<h1>heading text</h1>") ||
			!strings.Contains(body, "link invalid") || strings.Contains(body, "<form") {
			t.Errorf("error page in %s:\n%s", locale, body)
		}
		if header.Get("Cache-Control") != "no-store" || header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("headers %v, expected no caching and no referrer", header)
		}
	}
}
