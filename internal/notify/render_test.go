package notify

import (
	"errors"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// sampleParams returns a distinct value for every param of template.
func sampleParams(template string) map[string]string {
	params := map[string]string{}
	for _, name := range TemplateParams[template] {
		params[name] = "<" + name + "-value>"
	}
	return params
}

func newTestRenderer(t *testing.T, locale string) *Renderer {
	t.Helper()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatalf("load Asia/Shanghai: %v", err)
	}
	r, err := NewRenderer(locale, shanghai)
	if err != nil {
		t.Fatalf("new renderer for %s: %v", locale, err)
	}
	return r
}

func TestRenderEveryTemplate(t *testing.T) {
	for _, locale := range Locales {
		r := newTestRenderer(t, locale)
		for _, template := range TemplateNames() {
			t.Run(locale+"/"+template, func(t *testing.T) {
				params := sampleParams(template)
				got, err := r.Render(template, params, nil)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				if len(got.Missing) != 0 {
					t.Errorf("missing params %v with every param given", got.Missing)
				}
				if strings.TrimSpace(got.Title) == "" || strings.TrimSpace(got.Body) == "" {
					t.Fatalf("title %q, body %q; expected both", got.Title, got.Body)
				}
				text := got.Title + "\n" + got.Body
				for name, value := range params {
					if !strings.Contains(text, value) {
						t.Errorf("param %s does not appear in the text:\n%s", name, text)
					}
				}
				if strings.Contains(text, "<no value>") || strings.Contains(text, "{{") {
					t.Errorf("text has an unfilled field:\n%s", text)
				}
			})
		}
	}
}

func TestRenderLanguages(t *testing.T) {
	params := map[string]string{
		"lead_id": "1C1I7A6R", "account": "Acme Corporation", "product": "GTX Basic",
		"rep": "Moses Frase", "deadline": "2026-12-05 18:00",
	}
	zh, err := newTestRenderer(t, LocaleChinese).Render(TemplateLeadReminder, params, nil)
	if err != nil {
		t.Fatalf("render zh-CN: %v", err)
	}
	if zh.Title != "请联系线索 1C1I7A6R（Acme Corporation）" {
		t.Errorf("zh-CN title = %q", zh.Title)
	}
	if !strings.Contains(zh.Body, "请在 2026-12-05 18:00 前联系客户") {
		t.Errorf("zh-CN body = %q, expected the deadline sentence", zh.Body)
	}

	en, err := newTestRenderer(t, LocaleEnglish).Render(TemplateLeadReminder, params, nil)
	if err != nil {
		t.Fatalf("render en: %v", err)
	}
	if en.Title != "Contact lead 1C1I7A6R (Acme Corporation)" {
		t.Errorf("en title = %q", en.Title)
	}
	if !strings.Contains(en.Body, "Contact the customer by 2026-12-05 18:00") {
		t.Errorf("en body = %q, expected the deadline sentence", en.Body)
	}
}

func TestRenderMissingParam(t *testing.T) {
	params := sampleParams(TemplateLeadReminder)
	delete(params, "account")
	params["product"] = "  "

	zh, err := newTestRenderer(t, LocaleChinese).Render(TemplateLeadReminder, params, nil)
	if err != nil {
		t.Fatalf("render with missing params: %v", err)
	}
	if !slices.Equal(zh.Missing, []string{"account", "product"}) {
		t.Errorf("missing = %v, expected [account product]", zh.Missing)
	}
	if !strings.Contains(zh.Title, "【缺少account】") || !strings.Contains(zh.Body, "【缺少product】") {
		t.Errorf("zh-CN placeholders not visible: title %q, body %q", zh.Title, zh.Body)
	}

	en, err := newTestRenderer(t, LocaleEnglish).Render(TemplateLeadReminder, params, nil)
	if err != nil {
		t.Fatalf("render en with missing params: %v", err)
	}
	if !strings.Contains(en.Body, "[missing account]") {
		t.Errorf("en placeholder not visible: %q", en.Body)
	}
}

func TestRenderDeadlineFromDue(t *testing.T) {
	params := sampleParams(TemplateTicketNew)
	delete(params, ParamDeadline)
	due := time.Date(2026, 12, 5, 2, 30, 0, 0, time.UTC)

	got, err := newTestRenderer(t, LocaleChinese).Render(TemplateTicketNew, params, &due)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if len(got.Missing) != 0 {
		t.Errorf("missing = %v, expected the deadline filled from the due time", got.Missing)
	}
	// 02:30 UTC is 10:30 in Asia/Shanghai (UTC+8).
	if !strings.Contains(got.Body, "2026-12-05 10:30") {
		t.Errorf("body %q does not show the due time in Asia/Shanghai", got.Body)
	}

	params[ParamDeadline] = "explicit deadline"
	got, err = newTestRenderer(t, LocaleChinese).Render(TemplateTicketNew, params, &due)
	if err != nil {
		t.Fatalf("render with a deadline: %v", err)
	}
	if !strings.Contains(got.Body, "explicit deadline") {
		t.Errorf("body %q: a passed deadline must win over the due time", got.Body)
	}
}

func TestRenderRejectsUnknownNames(t *testing.T) {
	_, err := newTestRenderer(t, LocaleChinese).Render("no_such_template", nil, nil)
	if !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: error %v, expected ErrUnknownTemplate", err)
	}
	if _, err := NewRenderer("fr", nil); err == nil {
		t.Errorf("locale fr: expected an error")
	}
}

// fieldPattern matches one param reference such as {{.lead_id}}.
var fieldPattern = regexp.MustCompile(`\{\{\s*\.([a-z_]+)\s*\}\}`)

func TestMessageFilesMatchParams(t *testing.T) {
	paths, err := fs.Glob(messageFiles, "messages/*.yaml")
	if err != nil {
		t.Fatalf("list message files: %v", err)
	}
	if len(paths) != len(Locales) {
		t.Fatalf("message files %v, expected one per locale %v", paths, Locales)
	}
	for _, path := range paths {
		data, err := fs.ReadFile(messageFiles, path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		var file map[string]any
		if err := yaml.Unmarshal(data, &file); err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		for template, params := range TemplateParams {
			texts, ok := file[template].(map[string]any)
			if !ok {
				t.Errorf("%s: template %s is missing", path, template)
				continue
			}
			for _, part := range []string{"title", "body"} {
				text, _ := texts[part].(string)
				if text == "" {
					t.Errorf("%s: %s.%s is missing", path, template, part)
					continue
				}
				refs := fieldPattern.FindAllStringSubmatch(text, -1)
				if strings.Count(text, "{{") != len(refs) {
					t.Errorf("%s: %s.%s uses template actions other than {{.param}}: %q", path, template, part, text)
				}
				for _, ref := range refs {
					if !slices.Contains(params, ref[1]) {
						t.Errorf("%s: %s.%s uses param %s, which TemplateParams does not list", path, template, part, ref[1])
					}
				}
			}
		}
		for key := range file {
			if _, ok := TemplateParams[key]; !ok && key != "missing_param" {
				t.Errorf("%s: %s is not a template of TemplateParams", path, key)
			}
		}
	}
}

func TestRenderShowsPassedTimesInZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRenderer("zh-CN", shanghai)
	if err != nil {
		t.Fatalf("renderer: %v", err)
	}
	params := map[string]string{}
	for _, name := range TemplateParams[TemplateLeadReminder] {
		params[name] = "x"
	}
	params[ParamDeadline] = "2026-12-05T01:30:55Z"
	rendered, err := r.Render(TemplateLeadReminder, params, nil)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if !strings.Contains(rendered.Body, "2026-12-05 09:30") {
		t.Errorf("body %q does not show the deadline in Asia/Shanghai (09:30)", rendered.Body)
	}
}
