package sms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ordo-project/ordo/internal/notify"
)

// Template is a provider template and where its parameters come from.
type Template struct {
	// ID is the provider's template: Aliyun's TemplateCode (SMS_123456)
	// or Tencent's TemplateId (1234567).
	ID string
	// Params fill the template in order. Aliyun reads them by Name,
	// Tencent by position.
	Params []ParamSource
}

// ParamSource fills one template parameter from the message.
type ParamSource struct {
	// Name is the parameter's name in the provider template; empty means
	// From.
	Name string
	// From is the key in the message's params, e.g. contract_no, or
	// "$recipient" for the recipient's name.
	From string
}

// SourceRecipient fills a parameter with the message's recipient name.
const SourceRecipient = "$recipient"

func (t Template) validate() error {
	if strings.TrimSpace(t.ID) == "" {
		return errors.New("missing template id")
	}
	seen := map[string]bool{}
	for i, p := range t.Params {
		if strings.TrimSpace(p.From) == "" {
			return fmt.Errorf("params[%d]: from is missing", i)
		}
		name := p.name()
		if seen[name] {
			return fmt.Errorf("params[%d]: name %q used twice", i, name)
		}
		seen[name] = true
	}
	return nil
}

func (p ParamSource) name() string {
	if p.Name != "" {
		return p.Name
	}
	return p.From
}

// request builds the provider request of msg. Its errors are permanent:
// they name what the task or the configuration must change.
func (c *Channel) request(msg notify.Message) (Request, error) {
	if strings.TrimSpace(msg.Key) == "" {
		return Request{}, errors.New("message without a key: the SMS channel deduplicates on it")
	}
	if strings.TrimSpace(msg.Address) == "" {
		return Request{}, fmt.Errorf("%s: %w", msg.Recipient, notify.ErrNoAddress)
	}
	phone, err := NormalizePhone(msg.Address)
	if err != nil {
		return Request{}, fmt.Errorf("%s: %w", msg.Recipient, err)
	}
	template, ok := c.templates[msg.Template]
	if !ok {
		return Request{}, fmt.Errorf("template %q has no provider template: add notify.sms.templates.%s with the provider's template id and params",
			msg.Template, msg.Template)
	}
	params := make([]Param, 0, len(template.Params))
	var missing []string
	for _, source := range template.Params {
		value := msg.Params[source.From]
		if source.From == SourceRecipient {
			value = msg.Recipient
		}
		if strings.TrimSpace(value) == "" {
			missing = append(missing, source.From)
			continue
		}
		params = append(params, Param{Name: source.name(), Value: value})
	}
	if len(missing) > 0 {
		return Request{}, fmt.Errorf("template %s: the message lacks params %s that notify.sms.templates.%s.params maps: pass them with the task or change the mapping",
			msg.Template, strings.Join(missing, ", "), msg.Template)
	}
	return Request{
		Phone: phone, SignName: c.signName, TemplateID: template.ID, Params: params,
		OutID: notify.StableID(msg.Key + "\x00" + phone),
	}, nil
}

// NormalizePhone returns number in E.164 form. Mainland China mobile
// numbers may be given with or without +86 or 0086; other numbers need
// their + and country code. Spaces, dashes and brackets are ignored.
func NormalizePhone(number string) (string, error) {
	cleaned := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\t':
			return -1
		}
		return r
	}, number)
	switch {
	case strings.HasPrefix(cleaned, "0086"):
		cleaned = "+86" + cleaned[4:]
	case len(cleaned) == 13 && strings.HasPrefix(cleaned, "86"):
		cleaned = "+" + cleaned
	case len(cleaned) == 11 && strings.HasPrefix(cleaned, "1"):
		cleaned = "+86" + cleaned
	}
	if !strings.HasPrefix(cleaned, "+") || !digits(cleaned[1:]) {
		return "", fmt.Errorf("invalid phone number %s: give a mainland mobile number such as 13800138000 or an international one such as +85291234567",
			notify.MaskPhone(number))
	}
	if national, ok := strings.CutPrefix(cleaned, "+86"); ok {
		if len(national) != 11 || national[0] != '1' || national[1] < '3' {
			return "", fmt.Errorf("invalid phone number %s: a mainland mobile number has 11 digits starting with 13 to 19", notify.MaskPhone(number))
		}
		return cleaned, nil
	}
	if n := len(cleaned) - 1; n < 7 || n > 15 {
		return "", fmt.Errorf("invalid phone number %s: E.164 numbers have 7 to 15 digits", notify.MaskPhone(number))
	}
	return cleaned, nil
}

// nationalForm returns the number as Aliyun takes it: 11 digits for
// mainland China, country code and number without + otherwise.
func nationalForm(e164 string) string {
	if national, ok := strings.CutPrefix(e164, "+86"); ok {
		return national
	}
	return strings.TrimPrefix(e164, "+")
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
