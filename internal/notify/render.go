package notify

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Locales of the message files. Simplified Chinese is the default.
const (
	LocaleChinese = "zh-CN"
	LocaleEnglish = "en"
)

// Locales lists the supported locales, the default first.
var Locales = []string{LocaleChinese, LocaleEnglish}

// DeadlineFormat is the layout of a deadline filled from the due time.
const DeadlineFormat = "2006-01-02 15:04"

// ErrUnknownTemplate means a request names a template that has no texts.
var ErrUnknownTemplate = errors.New("unknown notification template")

//go:embed messages/*.yaml
var messageFiles embed.FS

// loadBundle parses the embedded message files once.
var loadBundle = sync.OnceValues(func() (*i18n.Bundle, error) {
	return LoadMessages(messageFiles, "messages/*.yaml")
})

// LoadMessages returns a bundle of the YAML message files in files whose
// paths match pattern, with Simplified Chinese as the default language.
func LoadMessages(files fs.FS, pattern string) (*i18n.Bundle, error) {
	bundle := i18n.NewBundle(language.Make(LocaleChinese))
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	paths, err := fs.Glob(files, pattern)
	if err != nil {
		return nil, fmt.Errorf("list message files %s: %w", pattern, err)
	}
	for _, path := range paths {
		if _, err := bundle.LoadMessageFileFS(files, path); err != nil {
			return nil, fmt.Errorf("load message file %s: %w", path, err)
		}
	}
	return bundle, nil
}

// Renderer fills notification templates in one locale. It is safe for
// concurrent use.
type Renderer struct {
	locale    string
	localizer *i18n.Localizer
	location  *time.Location
}

// NewRenderer returns a renderer for locale, one of Locales. Deadlines
// filled from a due time are shown in location; nil means UTC.
func NewRenderer(locale string, location *time.Location) (*Renderer, error) {
	if !slices.Contains(Locales, locale) {
		return nil, fmt.Errorf("unsupported notification locale %q: use %s", locale, strings.Join(Locales, " or "))
	}
	bundle, err := loadBundle()
	if err != nil {
		return nil, err
	}
	if location == nil {
		location = time.UTC
	}
	return &Renderer{locale: locale, localizer: i18n.NewLocalizer(bundle, locale), location: location}, nil
}

// Locale returns the renderer's locale.
func (r *Renderer) Locale() string { return r.locale }

// Rendered is a filled template.
type Rendered struct {
	Title string
	Body  string
	// Missing lists the params of the template that were absent or empty
	// and were rendered as placeholders, in the template's order.
	Missing []string
}

// Render fills the title and body of template with params. A due time
// fills the deadline param when the caller did not pass it. A missing
// param never fails the rendering: it shows as a placeholder, and
// Rendered.Missing names it so the caller can log it. Only an unknown
// template is an error.
func (r *Renderer) Render(template string, params map[string]string, due *time.Time) (Rendered, error) {
	names, ok := TemplateParams[template]
	if !ok {
		return Rendered{}, fmt.Errorf("%w %q: use one of %s", ErrUnknownTemplate, template, strings.Join(TemplateNames(), ", "))
	}
	data := make(map[string]string, len(params)+1)
	for name, value := range params {
		data[name] = value
	}
	if strings.TrimSpace(data[ParamDeadline]) == "" && due != nil && slices.Contains(names, ParamDeadline) {
		data[ParamDeadline] = due.In(r.location).Format(DeadlineFormat)
	}
	// Workflows pass times as RFC 3339 in UTC; people read them in the
	// configured time zone.
	for name, value := range data {
		if t, err := time.Parse(time.RFC3339, value); err == nil {
			data[name] = t.In(r.location).Format(DeadlineFormat)
		}
	}

	var rendered Rendered
	for _, name := range names {
		if strings.TrimSpace(data[name]) != "" {
			continue
		}
		rendered.Missing = append(rendered.Missing, name)
		placeholder, err := r.localize("missing_param", map[string]string{"name": name})
		if err != nil {
			return Rendered{}, err
		}
		data[name] = placeholder
	}

	var err error
	if rendered.Title, err = r.localize(template+".title", data); err != nil {
		return Rendered{}, err
	}
	if rendered.Body, err = r.localize(template+".body", data); err != nil {
		return Rendered{}, err
	}
	return rendered, nil
}

func (r *Renderer) localize(id string, data map[string]string) (string, error) {
	text, err := r.localizer.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		// A text missing from one locale, or a template that does not
		// parse, is a defect of the message files, which a test catches.
		return "", fmt.Errorf("render message %s in %s: %w", id, r.locale, err)
	}
	return text, nil
}

// TemplateNames returns the template keys in alphabetical order.
func TemplateNames() []string {
	names := make([]string, 0, len(TemplateParams))
	for name := range TemplateParams {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
