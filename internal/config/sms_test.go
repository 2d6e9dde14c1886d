package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSMSRejects(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown provider", "notify:\n  sms:\n    provider: twilio\n", "notify.sms.provider"},
		{"base URL", "notify:\n  sms:\n    base_url: dysmsapi.aliyuncs.com\n", "notify.sms.base_url"},
		{"access key id", "notify:\n  sms:\n    access_key_id: \"\"\n", "notify.sms.access_key_id"},
		{"secret missing", "notify:\n  sms:\n    access_key_secret:\n      value: \"\"\n", "notify.sms.access_key_secret"},
		{"tencent app id", "notify:\n  sms:\n    provider: tencent\n", "notify.sms.sdk_app_id"},
		{"sign name", "notify:\n  sms:\n    sign_name: \" \"\n", "notify.sms.sign_name"},
		{"timeout", "notify:\n  sms:\n    timeout: 0s\n", "notify.sms.timeout"},
		{"resolve after", "notify:\n  sms:\n    timeout: 30s\n    resolve_after: 20s\n", "notify.sms.resolve_after"},
		{"unknown template", "notify:\n  sms:\n    templates:\n      renewal_letter:\n        id: SMS_1\n", "notify.sms.templates.renewal_letter"},
		{"template id", "notify:\n  sms:\n    templates:\n      renewal_sms:\n        id: \"\"\n", "notify.sms.templates.renewal_sms.id"},
		{"param source", "notify:\n  sms:\n    templates:\n      renewal_sms:\n        id: SMS_1\n        params:\n          - {name: code}\n",
			"notify.sms.templates.renewal_sms.params[0].from"},
		{"param twice", "notify:\n  sms:\n    templates:\n      renewal_sms:\n        id: SMS_1\n        params:\n          - {from: end_date}\n          - {name: end_date, from: contract_no}\n",
			"notify.sms.templates.renewal_sms.params[1].name"},
		{"unknown param key", "notify:\n  sms:\n    templates:\n      renewal_sms:\n        id: SMS_1\n        params:\n          - {form: end_date}\n", "form"},
		{"unknown credential key", "notify:\n  sms:\n    access_key_secret: {vale: x}\n", "vale"},
		{"simulator without port", "simulators:\n  sms:\n    address: 127.0.0.1\n", "simulators.sms.address"},
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

func TestSMSAcceptsTencentWithSecretFile(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "sms-secret")
	if err := os.WriteFile(secretFile, []byte("tencent-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(writeConfig(t, `notify:
  sms:
    provider: tencent
    base_url: https://sms.tencentcloudapi.com
    access_key_id: AKID-1
    access_key_secret: {file: `+secretFile+`}
    sdk_app_id: "1400006666"
    sign_name: 华东机械
    templates:
      renewal_sms:
        id: "1234567"
        params: [{from: customer}, {from: end_date}]
`))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	s := cfg.Notify.SMS
	if s.Provider != SMSProviderTencent || s.Templates["renewal_sms"].ID != "1234567" || len(s.Templates["renewal_sms"].Params) != 2 {
		t.Errorf("notify.sms = %+v; the file was not applied", s)
	}
	if s.Timeout != 10*time.Second {
		t.Errorf("timeout %s, expected the default 10s", s.Timeout)
	}
	secret, err := s.AccessKeySecret.Resolve()
	if err != nil || secret != "tencent-key" {
		t.Errorf("secret resolved to %q, %v", secret, err)
	}
}

func TestSMSSecretEnvMissingIsNamed(t *testing.T) {
	cfg, err := Load(writeConfig(t, "notify:\n  sms:\n    access_key_secret: {env: ORDO_TEST_SMS_SECRET_UNSET}\n"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if _, err := cfg.Notify.SMS.AccessKeySecret.Resolve(); err == nil || !strings.Contains(err.Error(), "ORDO_TEST_SMS_SECRET_UNSET") {
		t.Errorf("resolve error %v, expected it to name the variable", err)
	}
}

func TestSMSBaseURLFollowsSimulator(t *testing.T) {
	cfg, err := Load(writeConfig(t, "simulators:\n  sms:\n    address: 127.0.0.1:18095\n"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.Notify.SMS.BaseURL != "http://127.0.0.1:18095" {
		t.Errorf("base URL %s, expected it to follow the simulator", cfg.Notify.SMS.BaseURL)
	}
}
