package config

import (
	"strings"
	"testing"
)

func TestNotifyRejects(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown locale", "notify:\n  locale: fr\n", "notify.locale"},
		{"unknown time zone", "notify:\n  time_zone: Mars/Olympus\n", "notify.time_zone"},
		{"no channels", "notify:\n  channels: []\n", "notify.channels"},
		{"unknown channel", "notify:\n  channels: [email, pager]\n", "notify.channels[1]"},
		{"address without port", "notify:\n  smtp:\n    address: smtp.example.com\n", "notify.smtp.address"},
		{"sender without domain", "notify:\n  smtp:\n    from: ordo\n", "notify.smtp.from"},
		{"unknown TLS mode", "notify:\n  smtp:\n    tls: ssl\n", "notify.smtp.tls"},
		{"zero timeout", "notify:\n  smtp:\n    timeout: 0s\n", "notify.smtp.timeout"},
		{"sink without port", "simulators:\n  smtp:\n    address: 127.0.0.1\n", "simulators.smtp.address"},
		{"wecom channel unconfigured", "notify:\n  channels: [wecom]\n  wecom:\n    corp_id: \"\"\n", "notify.channels[0]: wecom is not configured"},
		{"wecom base URL", "notify:\n  wecom:\n    base_url: qyapi.weixin.qq.com\n", "notify.wecom.base_url"},
		{"wecom agent id", "notify:\n  wecom:\n    agent_id: 0\n", "notify.wecom.agent_id"},
		{"wecom secret missing", "notify:\n  wecom:\n    secret:\n      value: \"\"\n", "notify.wecom.secret"},
		{"wecom button text", "notify:\n  wecom:\n    button_text: 查看任务详情\n", "notify.wecom.button_text"},
		{"wecom empty user id", "notify:\n  wecom:\n    users:\n      张伟: \"\"\n", "notify.wecom.users.张伟"},
		{"wecom simulator without port", "simulators:\n  wecom:\n    address: 127.0.0.1\n", "simulators.wecom.address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.yaml))
			if err == nil {
				t.Fatalf("configuration was accepted, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNotifyAccepts(t *testing.T) {
	cfg, err := Load(writeConfig(t, "notify:\n  locale: en\n  time_zone: UTC\n  channels: [log]\nsimulators:\n  smtp:\n    enabled: false\n    address: \"\"\n"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.Notify.Locale != "en" || len(cfg.Notify.Channels) != 1 || cfg.Sim.SMTP.Enabled {
		t.Errorf("notify = %+v, sink = %+v; the file was not applied", cfg.Notify, cfg.Sim.SMTP)
	}
	if cfg.Notify.SMTP.Address != "127.0.0.1:2525" {
		t.Errorf("smtp address = %q, expected the default", cfg.Notify.SMTP.Address)
	}
}
