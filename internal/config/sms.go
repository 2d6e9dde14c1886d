package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
)

// SMS providers of notify.sms.provider.
const (
	SMSProviderAliyun  = "aliyun"
	SMSProviderTencent = "tencent"
)

// SMS configures the SMS channel: the provider, its credentials and the
// provider template of each ordo SMS template. With no provider, SMS are
// written to the log instead of sent.
type SMS struct {
	// Provider is aliyun (Dysmsapi) or tencent (Tencent Cloud SMS); empty
	// logs SMS instead of sending them.
	Provider string `yaml:"provider"`
	// BaseURL is the API root: https://dysmsapi.aliyuncs.com,
	// https://sms.tencentcloudapi.com, or ordo dev's simulator.
	BaseURL string `yaml:"base_url"`
	// AccessKeyID is Aliyun's AccessKey ID or Tencent's SecretId;
	// AccessKeySecret the AccessKey secret or SecretKey. Give the secret
	// by env or file.
	AccessKeyID     string     `yaml:"access_key_id"`
	AccessKeySecret Credential `yaml:"access_key_secret"`
	// Region is Aliyun's RegionId (default cn-hangzhou) or Tencent's
	// region (default ap-guangzhou).
	Region string `yaml:"region"`
	// SDKAppID is Tencent's SmsSdkAppId, e.g. 1400006666.
	SDKAppID string `yaml:"sdk_app_id"`
	// SignName is the approved SMS signature (签名).
	SignName string `yaml:"sign_name"`
	// Templates maps ordo's SMS template names, e.g. renewal_sms, to the
	// provider's templates.
	Templates map[string]SMSTemplate `yaml:"templates"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
	// ResolveAfter is how long after a request without a response the
	// provider's records count as complete. It must exceed Timeout.
	ResolveAfter time.Duration `yaml:"resolve_after"`
}

// SMSTemplate is a provider template and where its parameters come from.
type SMSTemplate struct {
	// ID is Aliyun's TemplateCode (SMS_123456) or Tencent's TemplateId.
	ID string `yaml:"id"`
	// Params fill the template in order: Aliyun by name, Tencent by
	// position.
	Params []SMSParam `yaml:"params"`
}

// SMSParam fills one template parameter.
type SMSParam struct {
	// Name is the parameter in the Aliyun template; empty means From.
	Name string `yaml:"name"`
	// From is the task param that fills it, e.g. contract_no, or
	// $recipient for the recipient's name.
	From string `yaml:"from"`
}

// Configured reports whether SMS are sent through a provider.
func (s SMS) Configured() bool { return s.Provider != "" }

// SimSMS configures the SMS provider simulator. It starts only when
// notify.sms is configured, and accepts that provider's credentials and
// templates.
type SimSMS struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"`
	// DailyLimit is the number of SMS one number may receive a day.
	DailyLimit int `yaml:"daily_limit"`
}

// validateSMS checks notify.sms when a provider is set, and the
// simulator's address when the simulator is enabled.
func (c *Config) validateSMS(add func(key, format string, args ...any)) {
	s := c.Notify.SMS
	if c.Sim.SMS.Enabled && !isHostPort(c.Sim.SMS.Address) {
		add("simulators.sms.address", "%q is not host:port, e.g. 127.0.0.1:8097", c.Sim.SMS.Address)
	}
	if c.Sim.SMS.DailyLimit < 0 {
		add("simulators.sms.daily_limit", "must not be negative")
	}
	if !s.Configured() {
		return
	}

	if s.Provider != SMSProviderAliyun && s.Provider != SMSProviderTencent {
		add("notify.sms.provider", "%q is not aliyun or tencent; leave it empty to log SMS instead", s.Provider)
		return
	}
	if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("notify.sms.base_url", "%q is not an http(s) URL such as https://dysmsapi.aliyuncs.com", s.BaseURL)
	}
	if s.AccessKeyID == "" {
		add("notify.sms.access_key_id", "is missing: give the AccessKey ID (Aliyun) or SecretId (Tencent)")
	}
	if s.AccessKeySecret.Value == "" && s.AccessKeySecret.Env == "" && s.AccessKeySecret.File == "" {
		add("notify.sms.access_key_secret", "is missing: set env or file to where the AccessKey secret or SecretKey is kept")
	}
	if s.Provider == SMSProviderTencent && (s.SDKAppID == "" || !isDigits(s.SDKAppID)) {
		add("notify.sms.sdk_app_id", "%q is not the SMS application's SmsSdkAppId, e.g. 1400006666", s.SDKAppID)
	}

	if strings.TrimSpace(s.SignName) == "" {
		add("notify.sms.sign_name", "is missing: give the SMS signature the provider approved")
	}
	if s.Timeout <= 0 {
		add("notify.sms.timeout", "must be a positive duration such as 10s")
	}
	if s.ResolveAfter <= s.Timeout {
		add("notify.sms.resolve_after", "%s must exceed notify.sms.timeout (%s), e.g. 2m", s.ResolveAfter, s.Timeout)
	}
	if len(s.Templates) == 0 {
		add("notify.sms.templates", "needs at least renewal_sms with the provider's template id")
	}
	validateSMSTemplates(s.Templates, add)
}

// validateSMSTemplates checks that each template is an ordo template with
// a provider id and params that name their source once.
func validateSMSTemplates(templates map[string]SMSTemplate, add func(key, format string, args ...any)) {
	known := sortedKeys(notify.TemplateParams)
	for _, name := range sortedKeys(templates) {
		key := "notify.sms.templates." + name
		if !slices.Contains(known, name) {
			add(key, "%q is not an ordo template: use one of %s", name, strings.Join(known, ", "))
		}
		template := templates[name]
		if strings.TrimSpace(template.ID) == "" {
			add(key+".id", "is missing: give the provider's template code or id")
		}
		names := map[string]bool{}
		for i, param := range template.Params {
			paramKey := fmt.Sprintf("%s.params[%d]", key, i)
			if strings.TrimSpace(param.From) == "" {
				add(paramKey+".from", "is missing: name the task param that fills it, e.g. contract_no")
				continue
			}
			name := param.Name
			if name == "" {
				name = param.From
			}
			if names[name] {
				add(paramKey+".name", "%q is used twice in this template", name)
			}
			names[name] = true
		}
	}
}
