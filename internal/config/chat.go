package config

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// DingTalk configures the DingTalk (钉钉) internal app that sends
// notifications as work notices. The channel exists when Enabled is set;
// the other fields default to ordo dev's simulator, so enabling is all a
// developer does.
type DingTalk struct {
	Enabled bool `yaml:"enabled"`
	// BaseURL is the API root: https://oapi.dingtalk.com, or ordo dev's
	// simulator.
	BaseURL string `yaml:"base_url"`
	// AppKey, AppSecret and AgentID identify the app (AppKey, AppSecret,
	// AgentId on its page in the developer console). Give AppSecret by
	// env or file.
	AppKey    string     `yaml:"app_key"`
	AppSecret Credential `yaml:"app_secret"`
	AgentID   int64      `yaml:"agent_id"`
	// Users maps a person's name, as the rules name them, to their
	// DingTalk user id. A person not listed is addressed by their name.
	Users map[string]string `yaml:"users"`
	// ButtonText is the action card's button label, default 查看任务.
	ButtonText string `yaml:"button_text"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
	// ResultWait bounds how long a send waits for DingTalk's delivery
	// result before the activity tries again.
	ResultWait time.Duration `yaml:"result_wait"`
}

// Configured reports whether the DingTalk channel is set up.
func (d DingTalk) Configured() bool { return d.Enabled }

// Feishu configures the Feishu (飞书) self-built app that sends
// notifications as interactive cards. The channel exists when Enabled is
// set; the other fields default to ordo dev's simulator.
type Feishu struct {
	Enabled bool `yaml:"enabled"`
	// BaseURL is the API root: https://open.feishu.cn, or ordo dev's
	// simulator.
	BaseURL string `yaml:"base_url"`
	// AppID and AppSecret identify the app. Give AppSecret by env or file.
	AppID     string     `yaml:"app_id"`
	AppSecret Credential `yaml:"app_secret"`
	// ReceiveIDType is the kind of the ids in Users: user_id or open_id.
	ReceiveIDType string `yaml:"receive_id_type"`
	// Users maps a person's name, as the rules name them, to their Feishu
	// user id or open id. A person not listed is addressed by their name.
	Users map[string]string `yaml:"users"`
	// ButtonText is the card's button label, default 查看任务.
	ButtonText string `yaml:"button_text"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
}

// Configured reports whether the Feishu channel is set up.
func (f Feishu) Configured() bool { return f.Enabled }

// SimDingTalk configures the DingTalk API simulator. It starts only when
// notify.dingtalk is enabled, and accepts that app's credentials.
type SimDingTalk struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"`
	// DeliveryDelay is how long a work notice stays in progress.
	DeliveryDelay time.Duration `yaml:"delivery_delay"`
}

// SimFeishu configures the Feishu API simulator. It starts only when
// notify.feishu is enabled, and accepts that app's credentials.
type SimFeishu struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"`
}

// validateChat checks notify.dingtalk and notify.feishu when they are
// enabled, and their simulators' addresses when the simulators are.
func (c *Config) validateChat(add func(key, format string, args ...any)) {
	d := c.Notify.DingTalk
	if c.Sim.DingTalk.Enabled && !isHostPort(c.Sim.DingTalk.Address) {
		add("simulators.dingtalk.address", "%q is not host:port, e.g. 127.0.0.1:8095", c.Sim.DingTalk.Address)
	}
	if c.Sim.DingTalk.DeliveryDelay < 0 {
		add("simulators.dingtalk.delivery_delay", "must not be negative")
	}
	if d.Configured() {
		if !isHTTPURL(d.BaseURL) {
			add("notify.dingtalk.base_url", "%q is not an http(s) URL such as https://oapi.dingtalk.com", d.BaseURL)
		}
		if d.AppKey == "" {
			add("notify.dingtalk.app_key", "is missing: copy the app's AppKey from the DingTalk developer console")
		}
		if !d.AppSecret.set() {
			add("notify.dingtalk.app_secret", "is missing: set env or file to where the app's AppSecret is kept")
		}
		if d.AgentID <= 0 {
			add("notify.dingtalk.agent_id", "must be the app's positive AgentId, e.g. 2000001")
		}
		if n := utf8.RuneCountInString(d.ButtonText); n > 20 {
			add("notify.dingtalk.button_text", "%q has %d characters: keep it under 20", d.ButtonText, n)
		}
		if d.Timeout <= 0 {
			add("notify.dingtalk.timeout", "must be a positive duration such as 15s")
		}
		if d.ResultWait <= 0 {
			add("notify.dingtalk.result_wait", "must be a positive duration such as 30s")
		}
		emptyIDs(add, "notify.dingtalk.users", "DingTalk user id", d.Users)
	}

	f := c.Notify.Feishu
	if c.Sim.Feishu.Enabled && !isHostPort(c.Sim.Feishu.Address) {
		add("simulators.feishu.address", "%q is not host:port, e.g. 127.0.0.1:8096", c.Sim.Feishu.Address)
	}
	if !f.Configured() {
		return
	}
	if !isHTTPURL(f.BaseURL) {
		add("notify.feishu.base_url", "%q is not an http(s) URL such as https://open.feishu.cn", f.BaseURL)
	}
	if f.AppID == "" {
		add("notify.feishu.app_id", "is missing: copy the app's App ID from the Feishu developer console")
	}
	if !f.AppSecret.set() {
		add("notify.feishu.app_secret", "is missing: set env or file to where the app's App Secret is kept")
	}
	if f.ReceiveIDType != "user_id" && f.ReceiveIDType != "open_id" {
		add("notify.feishu.receive_id_type", "%q is not user_id or open_id", f.ReceiveIDType)
	}
	if n := utf8.RuneCountInString(f.ButtonText); n > 20 {
		add("notify.feishu.button_text", "%q has %d characters: keep it under 20", f.ButtonText, n)
	}
	if f.Timeout <= 0 {
		add("notify.feishu.timeout", "must be a positive duration such as 15s")
	}
	emptyIDs(add, "notify.feishu.users", "Feishu "+f.ReceiveIDType, f.Users)
}

func (c Credential) set() bool { return c.Value != "" || c.Env != "" || c.File != "" }

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func emptyIDs(add func(key, format string, args ...any), key, what string, users map[string]string) {
	for _, name := range sortedKeys(users) {
		if strings.TrimSpace(users[name]) == "" {
			add(key+"."+name, "is empty: give the person's %s", what)
		}
	}
}
