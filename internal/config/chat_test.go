package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestChatRejects(t *testing.T) {
	dingtalk := "notify:\n  dingtalk:\n    enabled: true\n"
	feishu := "notify:\n  feishu:\n    enabled: true\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"dingtalk channel not enabled", "notify:\n  channels: [dingtalk]\n", "notify.channels[0]: dingtalk is not enabled"},
		{"feishu channel not enabled", "notify:\n  channels: [log, feishu]\n", "notify.channels[1]: feishu is not enabled"},
		{"dingtalk base URL", dingtalk + "    base_url: oapi.dingtalk.com\n", "notify.dingtalk.base_url"},
		{"dingtalk app key", dingtalk + "    app_key: \"\"\n", "notify.dingtalk.app_key"},
		{"dingtalk secret missing", dingtalk + "    app_secret:\n      value: \"\"\n", "notify.dingtalk.app_secret"},
		{"dingtalk agent id", dingtalk + "    agent_id: 0\n", "notify.dingtalk.agent_id"},
		{"dingtalk result wait", dingtalk + "    result_wait: 0s\n", "notify.dingtalk.result_wait"},
		{"dingtalk timeout", dingtalk + "    timeout: 0s\n", "notify.dingtalk.timeout"},
		{"dingtalk empty user id", dingtalk + "    users:\n      张伟: \" \"\n", "notify.dingtalk.users.张伟"},
		{"dingtalk simulator without port", "simulators:\n  dingtalk:\n    address: 127.0.0.1\n", "simulators.dingtalk.address"},
		{"feishu base URL", feishu + "    base_url: open.feishu.cn\n", "notify.feishu.base_url"},
		{"feishu app id", feishu + "    app_id: \"\"\n", "notify.feishu.app_id"},
		{"feishu secret missing", feishu + "    app_secret:\n      value: \"\"\n", "notify.feishu.app_secret"},
		{"feishu receive id type", feishu + "    receive_id_type: email\n", "notify.feishu.receive_id_type"},
		{"feishu empty user id", feishu + "    users:\n      张伟: \"\"\n", "notify.feishu.users.张伟"},
		{"feishu simulator without port", "simulators:\n  feishu:\n    address: localhost\n", "simulators.feishu.address"},
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

func TestChatOneLineEnables(t *testing.T) {
	cfg, err := Load(writeConfig(t, "notify:\n  channels: [email, wecom, dingtalk, feishu, log]\n  dingtalk: {enabled: true}\n  feishu: {enabled: true}\n"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !cfg.Notify.DingTalk.Configured() || !cfg.Notify.Feishu.Configured() || !cfg.Sim.DingTalk.Enabled || !cfg.Sim.Feishu.Enabled {
		t.Errorf("dingtalk %+v, feishu %+v: want both enabled with their simulators", cfg.Notify.DingTalk, cfg.Notify.Feishu)
	}
	if cfg.Notify.DingTalk.BaseURL != "http://127.0.0.1:8095" || cfg.Notify.Feishu.BaseURL != "http://127.0.0.1:8096" {
		t.Errorf("base URLs %q, %q: want the simulators'", cfg.Notify.DingTalk.BaseURL, cfg.Notify.Feishu.BaseURL)
	}
}

func TestChatBaseURLsFollowSimulators(t *testing.T) {
	cfg, err := Load(writeConfig(t, "simulators:\n  dingtalk:\n    address: 127.0.0.1:9195\n  feishu:\n    address: 127.0.0.1:9196\n"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.Notify.DingTalk.BaseURL != "http://127.0.0.1:9195" || cfg.Notify.Feishu.BaseURL != "http://127.0.0.1:9196" {
		t.Errorf("base URLs %q, %q: want them to follow the moved simulators", cfg.Notify.DingTalk.BaseURL, cfg.Notify.Feishu.BaseURL)
	}
}

func TestExampleConfigChat(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "deploy", "ordo.example.yaml"))
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	if cfg.Notify.DingTalk.AppSecret.Env != "ORDO_DINGTALK_APP_SECRET" || cfg.Notify.Feishu.AppSecret.Env != "ORDO_FEISHU_APP_SECRET" {
		t.Errorf("secrets = %+v, %+v: want environment variables", cfg.Notify.DingTalk.AppSecret, cfg.Notify.Feishu.AppSecret)
	}
	if cfg.Notify.DingTalk.BaseURL != "https://oapi.dingtalk.com" || cfg.Notify.Feishu.Users["张伟"] != "1a2b3c4d" {
		t.Errorf("dingtalk %+v, feishu %+v: the example was not applied", cfg.Notify.DingTalk, cfg.Notify.Feishu)
	}
}
