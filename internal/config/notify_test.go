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
