package config

import (
	"fmt"
	"net"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

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
	known := []string{notify.ChannelEmail, notify.ChannelLog, notify.ChannelSMS}
	for i, channel := range n.Channels {
		if !slices.Contains(known, channel) {
			add(fmt.Sprintf("notify.channels[%d]", i), "%q is not a channel: use %s", channel, strings.Join(known, ", "))
		}
	}

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

func isHostPort(address string) bool {
	host, port, err := net.SplitHostPort(address)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}
