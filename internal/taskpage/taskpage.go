// Package taskpage renders the HTML page that the link of a task's
// notification opens: the task, its state and a form to complete it. It
// is plain server-rendered HTML for the webviews of WeCom, DingTalk and
// Feishu, in Simplified Chinese by default and in English on request.
package taskpage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/store"
)

//go:embed page.html
var pageSource string

//go:embed messages/*.yaml
var messageFiles embed.FS

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// locales are the page's locales, the default first, in the order the
// Accept-Language matcher takes them.
var locales = []string{notify.LocaleChinese, notify.LocaleEnglish}

var matcher = language.NewMatcher([]language.Tag{language.Make(notify.LocaleChinese), language.English})

// loadBundle parses the embedded message files once.
var loadBundle = sync.OnceValues(func() (*i18n.Bundle, error) {
	return notify.LoadMessages(messageFiles, "messages/*.yaml")
})

// labelIDs are the texts without params that the template shows.
var labelIDs = []string{
	"page_title", "assignee", "due", "state", "subject", "created", "completed", "note", "cancelled",
	"form_heading", "form_by", "form_note", "form_submit", "switch_language", "back",
}

// Locale returns the page's locale for r: the lang query parameter when
// it names a supported language, else the best match of the
// Accept-Language header, else Simplified Chinese. explicit is true when
// the lang parameter chose it, so links can keep the choice.
func Locale(r *http.Request) (locale string, explicit bool) {
	if lang := r.URL.Query().Get("lang"); lang != "" {
		if tag, err := language.Parse(lang); err == nil {
			if _, index, confidence := matcher.Match(tag); confidence != language.No {
				return locales[index], true
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return notify.LocaleChinese, false
	}
	_, index, confidence := matcher.Match(tags...)
	if confidence == language.No {
		return notify.LocaleChinese, false
	}
	return locales[index], false
}

// OtherLocale returns the locale that the page's language link switches to.
func OtherLocale(locale string) string {
	if locale == notify.LocaleEnglish {
		return notify.LocaleChinese
	}
	return notify.LocaleEnglish
}

// Text returns the text id of the page's message files in locale, filled
// with data.
func Text(locale, id string, data map[string]string) (string, error) {
	bundle, err := loadBundle()
	if err != nil {
		return "", err
	}
	text, err := i18n.NewLocalizer(bundle, locale).Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return "", fmt.Errorf("render task page text %s in %s: %w", id, locale, err)
	}
	return text, nil
}

// Page is the content of one rendering of the task page.
type Page struct {
	Locale string
	// Location is the time zone of the times shown; nil means UTC.
	Location *time.Location
	// Task is the task shown. A nil Task renders an error page with
	// Heading and Message.
	Task             *store.Task
	Heading, Message string
	// Notice, when set, is the outcome of a completion, shown above the
	// task.
	Notice *Notice
	// ShowForm shows the completion form, filled with By and Note.
	ShowForm bool
	By, Note string
	// ActionURL is where the form posts, BackURL (optional) leads to the
	// task page and SwitchURL (optional) to this page in OtherLocale. They
	// are relative, so the page works under a path prefix of a proxy.
	ActionURL, BackURL, SwitchURL string
}

// Notice is the outcome of a completion. Bad marks a rejection or
// failure.
type Notice struct {
	Text string
	Bad  bool
}

// view is the template's data.
type view struct {
	Page
	Labels                             map[string]string
	StateText, Due, Created, Completed string
	Cancelled                          string
}

// Write renders p and writes it with status. The response is not cached
// and sends no referrer, because the page's URL carries the signature.
func Write(w http.ResponseWriter, status int, p Page) error {
	var body bytes.Buffer
	data, err := p.view()
	if err == nil {
		err = pageTemplate.Execute(&body, data)
	}
	if err != nil {
		return fmt.Errorf("render task page: %w", err)
	}
	header := w.Header()
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("Referrer-Policy", "no-referrer")
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'")
	w.WriteHeader(status)
	_, err = w.Write(body.Bytes())
	return err
}

func (p Page) view() (view, error) {
	if p.Location == nil {
		p.Location = time.UTC
	}
	v := view{Page: p, Labels: make(map[string]string, len(labelIDs))}
	for _, id := range labelIDs {
		text, err := Text(p.Locale, id, nil)
		if err != nil {
			return view{}, err
		}
		v.Labels[id] = text
	}
	task := p.Task
	if task == nil {
		return v, nil
	}

	var err error
	if v.StateText, err = Text(p.Locale, "state_"+task.State, nil); err != nil {
		return view{}, err
	}
	v.Created = p.formatTime(task.CreatedAt)
	if task.DueAt != nil {
		v.Due = p.formatTime(*task.DueAt)
	}
	if task.CompletedAt != nil {
		data := map[string]string{"by": task.CompletedBy, "at": p.formatTime(*task.CompletedAt)}
		if v.Completed, err = Text(p.Locale, "completed_value", data); err != nil {
			return view{}, err
		}
	}
	if task.CancelledAt != nil {
		if v.Cancelled, err = Text(p.Locale, "cancelled_value", map[string]string{"at": p.formatTime(*task.CancelledAt)}); err != nil {
			return view{}, err
		}
	}
	return v, nil
}

func (p Page) formatTime(t time.Time) string {
	return FormatTime(t, p.Location)
}

// FormatTime shows t in location the way notifications show deadlines,
// followed by the zone's UTC offset, e.g. "2026-12-07 18:00 (UTC+08:00)".
func FormatTime(t time.Time, location *time.Location) string {
	if location == nil {
		location = time.UTC
	}
	return t.In(location).Format(notify.DeadlineFormat + " (UTC-07:00)")
}
