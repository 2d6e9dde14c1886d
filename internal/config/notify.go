package config

import (
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ordo-project/ordo/internal/notify"
)

// Notify configures how tasks notify people.
type Notify struct {
	// Locale is the language of task titles and notification texts: zh-CN
	// (Simplified Chinese, the default) or en.
	Locale string `yaml:"locale"`
	// TimeZone is the IANA zone that deadlines in notification texts are
	// shown in, e.g. Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// Channels notify the assignee of a task that names no channels.
	Channels []string `yaml:"channels"`
	SMTP     SMTP     `yaml:"smtp"`
	WeCom    WeCom    `yaml:"wecom"`
	DingTalk DingTalk `yaml:"dingtalk"`
	Feishu   Feishu   `yaml:"feishu"`
	SMS      SMS      `yaml:"sms"`
}

// WeCom configures the WeCom (企业微信) app that sends notifications as
// text cards. The channel exists when CorpID is set.
type WeCom struct {
	// BaseURL is the API root: https://qyapi.weixin.qq.com, or ordo dev's
	// simulator. Apps created after 2022-06-20 may call it only from the
	// trusted IP addresses listed on the app's page.
	BaseURL string `yaml:"base_url"`
	// CorpID, AgentID and Secret are the company id (企业ID) and the app's
	// AgentId and Secret. Give Secret by env or file.
	CorpID  string     `yaml:"corp_id"`
	AgentID int64      `yaml:"agent_id"`
	Secret  Credential `yaml:"secret"`
	// Users maps a person's name, as the rules name them, to their WeCom
	// user id. A person not listed is addressed by their name.
	Users map[string]string `yaml:"users"`
	// ButtonText is the card's button label, at most 4 characters; empty
	// shows WeCom's default 详情.
	ButtonText string `yaml:"button_text"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
}

// Configured reports whether the WeCom channel is set up.
func (w WeCom) Configured() bool { return w.CorpID != "" }

// SimWeCom configures the WeCom API simulator. It starts only when
// notify.wecom is configured, and accepts that app's credentials.
type SimWeCom struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"`
	// SilentDrop drops messages over a member's 30-a-minute limit with a
	// success reply, as WeCom does; off, the simulator returns 45009.
	SilentDrop bool `yaml:"silent_drop"`
}

// SMTP configures the mail server the email channel sends through.
type SMTP struct {
	// Address is the server as host:port. ordo dev's sink listens on
	// 127.0.0.1:2525.
	Address string `yaml:"address"`
	// From is the sender, e.g. "ordo <ordo@example.com>". Its domain ends
	// every Message-ID.
	From string `yaml:"from"`
	// Username, when set, authenticates with Password.
	Username string     `yaml:"username"`
	Password Credential `yaml:"password"`
	// TLS is none (plain SMTP, only for a server on the same host),
	// starttls or tls (implicit TLS, usually port 465).
	TLS string `yaml:"tls"`
	// Timeout bounds connecting and each SMTP command.
	Timeout time.Duration `yaml:"timeout"`
}

// SimSMTP configures the SMTP sink simulator.
type SimSMTP struct {
	// Enabled starts the sink under ordo dev. Turn it off to send the dev
	// stack's mail to a real server in notify.smtp.
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"`
}

// Location returns the time zone of TimeZone, which Validate checked.
func (n Notify) Location() (*time.Location, error) {
	location, err := time.LoadLocation(n.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("notify.time_zone: %q is not an IANA time zone such as Asia/Shanghai: %w", n.TimeZone, err)
	}
	return location, nil
}

// validateNotify checks the notify section and the SMTP sink simulator.
func (c *Config) validateNotify(add func(key, format string, args ...any)) {
	n := c.Notify
	if !slices.Contains(notify.Locales, n.Locale) {
		add("notify.locale", "%q is not supported: use %s", n.Locale, strings.Join(notify.Locales, " or "))
	}
	if _, err := time.LoadLocation(n.TimeZone); err != nil || n.TimeZone == "" {
		add("notify.time_zone", "%q is not an IANA time zone such as Asia/Shanghai", n.TimeZone)
	}
	if len(n.Channels) == 0 {
		add("notify.channels", "needs at least one channel, e.g. [email, log]")
	}
	known := []string{notify.ChannelEmail, notify.ChannelLog, notify.ChannelSMS, notify.ChannelWeCom, notify.ChannelDingTalk, notify.ChannelFeishu}
	for i, channel := range n.Channels {
		key := fmt.Sprintf("notify.channels[%d]", i)
		switch {
		case !slices.Contains(known, channel):
			add(key, "%q is not a channel: use %s", channel, strings.Join(known, ", "))
		case channel == notify.ChannelWeCom && !n.WeCom.Configured():
			add(key, "wecom is not configured: set notify.wecom.corp_id, agent_id and secret, or remove wecom")
		case channel == notify.ChannelDingTalk && !n.DingTalk.Configured():
			add(key, "dingtalk is not enabled: set notify.dingtalk.enabled: true, or remove dingtalk")
		case channel == notify.ChannelFeishu && !n.Feishu.Configured():
			add(key, "feishu is not enabled: set notify.feishu.enabled: true, or remove feishu")
		}
	}
	c.validateWeCom(add)
	c.validateChat(add)
	c.validateSMS(add)

	if !isHostPort(n.SMTP.Address) {
		add("notify.smtp.address", "%q is not host:port, e.g. smtp.example.com:587", n.SMTP.Address)
	}
	if _, err := netmail.ParseAddress(n.SMTP.From); err != nil {
		add("notify.smtp.from", "%q is not an email address such as \"ordo <ordo@example.com>\"", n.SMTP.From)
	}
	switch n.SMTP.TLS {
	case notify.TLSNone, notify.TLSStartTLS, notify.TLSImplicit:
	default:
		add("notify.smtp.tls", "%q is not none, starttls or tls", n.SMTP.TLS)
	}
	if n.SMTP.Timeout <= 0 {
		add("notify.smtp.timeout", "must be a positive duration such as 15s")
	}
	if c.Sim.SMTP.Enabled && !isHostPort(c.Sim.SMTP.Address) {
		add("simulators.smtp.address", "%q is not host:port, e.g. 127.0.0.1:2525", c.Sim.SMTP.Address)
	}
}

// validateWeCom checks notify.wecom when it is configured, and the
// simulator's address when the simulator is enabled.
func (c *Config) validateWeCom(add func(key, format string, args ...any)) {
	w := c.Notify.WeCom
	if c.Sim.WeCom.Enabled && !isHostPort(c.Sim.WeCom.Address) {
		add("simulators.wecom.address", "%q is not host:port, e.g. 127.0.0.1:8094", c.Sim.WeCom.Address)
	}
	if !w.Configured() {
		return
	}
	if u, err := url.Parse(w.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("notify.wecom.base_url", "%q is not an http(s) URL such as https://qyapi.weixin.qq.com", w.BaseURL)
	}
	if w.AgentID <= 0 {
		add("notify.wecom.agent_id", "must be the app's positive AgentId, e.g. 1000002")
	}
	if w.Secret.Value == "" && w.Secret.Env == "" && w.Secret.File == "" {
		add("notify.wecom.secret", "is missing: set env or file to where the app's Secret is kept")
	}
	if n := utf8.RuneCountInString(w.ButtonText); n > 4 {
		add("notify.wecom.button_text", "%q has %d characters: WeCom allows 4", w.ButtonText, n)
	}
	if w.Timeout <= 0 {
		add("notify.wecom.timeout", "must be a positive duration such as 15s")
	}
	for name, id := range w.Users {
		if strings.TrimSpace(id) == "" {
			add("notify.wecom.users."+name, "is empty: give the person's WeCom user id")
		}
	}
}

func isHostPort(address string) bool {
	host, port, err := net.SplitHostPort(address)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}
