package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/sms"
	"github.com/ordo-project/ordo/internal/simulators"
	smssim "github.com/ordo-project/ordo/internal/simulators/sms"
	"github.com/ordo-project/ordo/internal/sqlitedb"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

const (
	accessKeyID = "LTAI-test"
	// secret is the credential of both providers; tests check that no
	// error contains it.
	secret     = "sms-secret-do-not-log"
	secretID   = "AKID-test"
	sdkAppID   = "1400006666"
	signName   = "ordo测试"
	templateID = "SMS_0001"
	phone      = "13800138000"
	e164       = "+8613800138000"
)

// templates maps renewal_sms to three provider params, one renamed.
var templates = map[string]sms.Template{
	notify.TemplateRenewalSMS: {ID: templateID, Params: []sms.ParamSource{
		{Name: "name", From: "customer"}, {From: "contract_no"}, {From: "end_date"},
	}},
}

// fixture is a channel of one provider against the simulator.
type fixture struct {
	provider string
	sim      *smssim.Simulator
	db       bun.IDB
	url      string
	// secret is what the client signs with.
	secret string
}

func start(t *testing.T, provider string, simConfig smssim.Config) *fixture {
	t.Helper()
	return startOn(t, provider, simConfig, storetest.Open(t, "sqlite").DB)
}

func startOn(t *testing.T, provider string, simConfig smssim.Config, db bun.IDB) *fixture {
	t.Helper()
	simDB, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sim.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simDB.Close() })
	simConfig.DB = simDB
	simConfig.AccessKeyID, simConfig.AccessKeySecret = accessKeyID, secret
	simConfig.SecretID, simConfig.SecretKey, simConfig.SDKAppID = secretID, secret, sdkAppID
	simConfig.SignNames = []string{signName}
	if simConfig.Templates == nil {
		simConfig.Templates = map[string]smssim.Template{templateID: {Params: []string{"name", "contract_no", "end_date"}}}
		if provider == sms.ProviderTencent {
			simConfig.Templates = map[string]smssim.Template{templateID: {Params: []string{"1", "2", "3"}}}
		}
	}
	if simConfig.Faults.Hang == 0 {
		simConfig.Faults.Hang = time.Second
	}
	sim, err := smssim.New(context.Background(), simConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return &fixture{provider: provider, sim: sim, db: db, url: sim.URL(), secret: secret}
}

// channel returns a new channel on the fixture's database, as a worker
// that starts anew builds it.
func (f *fixture) channel(t *testing.T) *sms.Channel {
	t.Helper()
	httpConfig := sms.HTTPConfig{Timeout: 300 * time.Millisecond}
	var provider sms.Provider
	var err error
	switch f.provider {
	case sms.ProviderAliyun:
		provider, err = sms.NewAliyun(sms.AliyunConfig{BaseURL: f.url, AccessKeyID: accessKeyID, AccessKeySecret: f.secret, HTTP: httpConfig})
	case sms.ProviderTencent:
		provider, err = sms.NewTencent(sms.TencentConfig{BaseURL: f.url, SecretID: secretID, SecretKey: f.secret, SDKAppID: sdkAppID, HTTP: httpConfig})
	}
	if err != nil {
		t.Fatal(err)
	}
	channel, err := sms.NewChannel(sms.Config{
		DB: f.db, Provider: provider, SignName: signName, Templates: templates, ResolveAfter: 700 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return channel
}

func message(key string) notify.Message {
	return notify.Message{
		Key: key, Recipient: "王芳", Address: phone, Template: notify.TemplateRenewalSMS,
		Body:   "rendered text the providers never see",
		Params: map[string]string{"customer": "华东机械", "contract_no": "CT-1", "end_date": "2027-01-31", "unused": "x"},
	}
}

// sendUntilSettled calls Send the way Temporal retries an activity: again
// after every retryable error, until it succeeds or fails permanently.
func sendUntilSettled(t *testing.T, channel *sms.Channel, msg notify.Message) (notify.Receipt, error, int) {
	t.Helper()
	var lastErr error
	for attempt := 1; attempt <= 30; attempt++ {
		receipt, err := channel.Send(context.Background(), msg)
		if err == nil || notify.IsPermanent(err) {
			return receipt, err, attempt
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error contains the secret: %v", err)
		}
		lastErr = err
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("Send did not settle in 30 attempts; last error: %v", lastErr)
	return notify.Receipt{}, nil, 0
}

func delivered(t *testing.T, sim *smssim.Simulator) []smssim.Message {
	t.Helper()
	messages, err := sim.Messages(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []smssim.Message
	for _, m := range messages {
		if m.Outcome == smssim.OutcomeDelivered {
			out = append(out, m)
		}
	}
	return out
}

func sendState(t *testing.T, db bun.IDB, key string) *sms.Send {
	t.Helper()
	send, err := sms.Lookup(context.Background(), db, key, e164)
	if err != nil {
		t.Fatalf("look up sms_sends row %s: %v", key, err)
	}
	return send
}

var providers = []string{sms.ProviderAliyun, sms.ProviderTencent}

func TestSendMapsTemplateParams(t *testing.T) {
	for _, provider := range providers {
		t.Run(provider, func(t *testing.T) {
			f := start(t, provider, smssim.Config{})
			channel := f.channel(t)
			receipt, err := channel.Send(context.Background(), message("renewal/1/sms"))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			sent := delivered(t, f.sim)
			if len(sent) != 1 {
				t.Fatalf("simulator delivered %d SMS, expected 1", len(sent))
			}
			got := sent[0]
			if got.Phone != e164 || got.SignName != signName || got.TemplateID != templateID {
				t.Errorf("SMS to %s signed %s with template %s", got.Phone, got.SignName, got.TemplateID)
			}
			if receipt.MessageID != got.ProviderID || receipt.MessageID == "" {
				t.Errorf("receipt %q, provider id %q", receipt.MessageID, got.ProviderID)
			}
			if got.OutID == "" {
				t.Error("SMS sent without OutId or SessionContext")
			}
			switch provider {
			case sms.ProviderAliyun:
				var params map[string]string
				if err := json.Unmarshal([]byte(got.Params), &params); err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"name": "华东机械", "contract_no": "CT-1", "end_date": "2027-01-31"}
				if len(params) != len(want) {
					t.Errorf("TemplateParam %v, expected %v", params, want)
				}
				for name, value := range want {
					if params[name] != value {
						t.Errorf("TemplateParam %s = %q, expected %q", name, params[name], value)
					}
				}
			case sms.ProviderTencent:
				if got.Params != `["华东机械","CT-1","2027-01-31"]` {
					t.Errorf("TemplateParamSet %s, expected the values in configured order", got.Params)
				}
			}

			again, err := channel.Send(context.Background(), message("renewal/1/sms"))
			if err != nil || again.MessageID != receipt.MessageID {
				t.Errorf("second send: receipt %q, error %v; expected the first receipt", again.MessageID, err)
			}
			if n := len(delivered(t, f.sim)); n != 1 {
				t.Errorf("simulator delivered %d SMS after a second send of one key, expected 1", n)
			}
		})
	}
}

// TestFaultsSettleWithoutDuplicates injects each fault into the first
// SendSms and retries until the send settles: the SMS arrives exactly once,
// except after a timeout on Tencent, whose outcome stays unknown and is
// recorded for the operator without a second SMS.
func TestFaultsSettleWithoutDuplicates(t *testing.T) {
	faults := []simulators.Fault{
		simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultTimeout, simulators.FaultLostReply,
	}
	for _, provider := range providers {
		for _, fault := range faults {
			t.Run(provider+"/"+string(fault), func(t *testing.T) {
				f := start(t, provider, smssim.Config{Faults: simulators.FaultConfig{Latency: 20 * time.Millisecond}})
				f.sim.InjectFaults(fault)
				channel := f.channel(t)
				key := "renewal/" + string(fault) + "/sms"

				_, err, attempts := sendUntilSettled(t, channel, message(key))
				sent := delivered(t, f.sim)
				state := sendState(t, f.db, key)

				if provider == sms.ProviderTencent && fault == simulators.FaultTimeout {
					if !notify.IsPermanent(err) || state.State != sms.StateUnknown {
						t.Fatalf("error %v, state %s; expected a permanent error and state unknown", err, state.State)
					}
					if len(sent) != 0 {
						t.Errorf("simulator delivered %d SMS, expected none", len(sent))
					}
					unknown, err := sms.ListByState(context.Background(), f.db, sms.StateUnknown)
					if err != nil || len(unknown) != 1 || unknown[0].Key != key {
						t.Errorf("unknown SMS %+v, error %v; expected the one of %s for the operator", unknown, err, key)
					}
					return
				}
				if err != nil {
					t.Fatalf("send after %d attempts: %v", attempts, err)
				}
				if attempts < 2 {
					t.Errorf("settled in %d attempt, expected the fault to fail the first", attempts)
				}
				if len(sent) != 1 {
					t.Errorf("simulator delivered %d SMS, expected exactly 1", len(sent))
				}
				if state.State != sms.StateSent {
					t.Errorf("state %s, expected sent", state.State)
				}
			})
		}
	}
}

// TestLostReplyResolvedAfterRestart sends once with a lost reply, builds a
// new channel on the same database as a restarted worker would, and checks
// that it finds the SMS instead of sending it again.
func TestLostReplyResolvedAfterRestart(t *testing.T) {
	storetest.RequirePostgres(t)
	for _, driver := range storetest.Drivers() {
		for _, provider := range providers {
			t.Run(driver+"/"+provider, func(t *testing.T) {
				f := startOn(t, provider, smssim.Config{}, storetest.Open(t, driver).DB)
				f.sim.InjectFaults(simulators.FaultLostReply)
				_, err := f.channel(t).Send(context.Background(), message("renewal/restart/sms"))
				if err == nil || notify.IsPermanent(err) {
					t.Fatalf("first send: %v, expected a retryable error", err)
				}
				if state := sendState(t, f.db, "renewal/restart/sms").State; state != sms.StateSending {
					t.Fatalf("state after a lost reply %s, expected sending", state)
				}

				restarted := f.channel(t)
				receipt, err := restarted.Send(context.Background(), message("renewal/restart/sms"))
				if err != nil {
					t.Fatalf("send after the restart: %v", err)
				}
				sent := delivered(t, f.sim)
				if len(sent) != 1 {
					t.Fatalf("simulator delivered %d SMS, expected 1", len(sent))
				}
				if provider == sms.ProviderTencent && receipt.MessageID != sent[0].ProviderID {
					t.Errorf("receipt %q, expected the SerialNo %q", receipt.MessageID, sent[0].ProviderID)
				}
				if state := sendState(t, f.db, "renewal/restart/sms").State; state != sms.StateSent {
					t.Errorf("state %s, expected sent", state)
				}

				if _, err := f.channel(t).Send(context.Background(), message("renewal/restart/sms")); err != nil {
					t.Fatalf("send after a second restart: %v", err)
				}
				if n := len(delivered(t, f.sim)); n != 1 {
					t.Errorf("simulator delivered %d SMS after a second restart, expected 1", n)
				}
			})
		}
	}
}

func TestPermanentRejections(t *testing.T) {
	cases := []struct {
		name string
		// setup changes the fixture before the channel is built.
		setup func(f *fixture)
		// codes are the provider codes the error must name.
		codes map[string]string
	}{
		{
			name:  "invalid number",
			setup: func(f *fixture) { f.sim.SetInvalidNumbers(e164) },
			codes: map[string]string{sms.ProviderAliyun: "isv.MOBILE_NUMBER_ILLEGAL", sms.ProviderTencent: "InvalidParameterValue.IncorrectPhoneNumber"},
		},
		{
			name:  "bad signature",
			setup: func(f *fixture) { f.secret = "wrong-" + secret },
			codes: map[string]string{sms.ProviderAliyun: "SignatureDoesNotMatch", sms.ProviderTencent: "AuthFailure.SignatureFailure"},
		},
		{
			name: "empty balance",
			setup: func(f *fixture) {
				if f.provider == sms.ProviderAliyun {
					f.sim.InjectCodes("isv.AMOUNT_NOT_ENOUGH")
				} else {
					f.sim.InjectCodes("FailedOperation.InsufficientBalanceInSmsPackage")
				}
			},
			codes: map[string]string{sms.ProviderAliyun: "isv.AMOUNT_NOT_ENOUGH", sms.ProviderTencent: "FailedOperation.InsufficientBalanceInSmsPackage"},
		},
		{
			name: "template params",
			setup: func(f *fixture) {
				if f.provider == sms.ProviderAliyun {
					f.sim.InjectCodes("isv.TEMPLATE_PARAMS_ILLEGAL")
				} else {
					f.sim.InjectCodes("InvalidParameterValue.TemplateParameterFormatError")
				}
			},
			codes: map[string]string{sms.ProviderAliyun: "isv.TEMPLATE_PARAMS_ILLEGAL", sms.ProviderTencent: "InvalidParameterValue.TemplateParameterFormatError"},
		},
	}
	for _, provider := range providers {
		for _, tc := range cases {
			t.Run(provider+"/"+tc.name, func(t *testing.T) {
				f := start(t, provider, smssim.Config{})
				tc.setup(f)
				channel := f.channel(t)
				_, err := channel.Send(context.Background(), message("renewal/bad/sms"))
				if !notify.IsPermanent(err) {
					t.Fatalf("error %v, expected a permanent error", err)
				}
				if !strings.Contains(err.Error(), tc.codes[provider]) {
					t.Errorf("error %q does not name %s", err, tc.codes[provider])
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains the secret: %v", err)
				}
				if state := sendState(t, f.db, "renewal/bad/sms").State; state != sms.StateFailed {
					t.Errorf("state %s, expected failed", state)
				}
				before, _ := f.sim.Messages(context.Background(), "")
				if _, err := channel.Send(context.Background(), message("renewal/bad/sms")); !notify.IsPermanent(err) {
					t.Errorf("second send: %v, expected the recorded permanent error", err)
				}
				after, _ := f.sim.Messages(context.Background(), "")
				if len(after) != len(before) {
					t.Errorf("second send reached the simulator: %d requests before, %d after", len(before), len(after))
				}
			})
		}
	}
}

func TestDailyLimitIsPermanent(t *testing.T) {
	codes := map[string]string{sms.ProviderAliyun: "isv.BUSINESS_LIMIT_CONTROL", sms.ProviderTencent: "LimitExceeded.PhoneNumberDailyLimit"}
	for _, provider := range providers {
		t.Run(provider, func(t *testing.T) {
			f := start(t, provider, smssim.Config{DailyLimit: 2})
			channel := f.channel(t)
			for _, key := range []string{"a/sms", "b/sms"} {
				if _, err := channel.Send(context.Background(), message(key)); err != nil {
					t.Fatalf("send %s: %v", key, err)
				}
			}
			_, err := channel.Send(context.Background(), message("c/sms"))
			if !notify.IsPermanent(err) || !strings.Contains(err.Error(), codes[provider]) {
				t.Fatalf("third SMS of the day: %v, expected a permanent %s", err, codes[provider])
			}
			if n := len(delivered(t, f.sim)); n != 2 {
				t.Errorf("simulator delivered %d SMS, expected 2", n)
			}
		})
	}
}

func TestMessageProblemsArePermanent(t *testing.T) {
	f := start(t, sms.ProviderAliyun, smssim.Config{})
	channel := f.channel(t)
	cases := []struct {
		name string
		edit func(*notify.Message)
		want string
	}{
		{"no phone", func(m *notify.Message) { m.Address = "" }, "no address"},
		{"bad phone", func(m *notify.Message) { m.Address = "12345" }, "invalid phone number"},
		{"unmapped template", func(m *notify.Message) { m.Template = "lead_alert" }, "notify.sms.templates.lead_alert"},
		{"missing param", func(m *notify.Message) { delete(m.Params, "contract_no") }, "lacks params contract_no"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := message("problem/" + tc.name)
			tc.edit(&msg)
			_, err := channel.Send(context.Background(), msg)
			if !notify.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, expected a permanent error containing %q", err, tc.want)
			}
		})
	}
	if n := len(delivered(t, f.sim)); n != 0 {
		t.Errorf("simulator delivered %d SMS, expected none", n)
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"13800138000", e164},
		{"138 0013 8000", e164},
		{"+86 138-0013-8000", e164},
		{"008613800138000", e164},
		{"8613800138000", e164},
		{"+85291234567", "+85291234567"},
		{"12800138000", ""},
		{"+861380013800", ""},
		{"0571-88888888", ""},
		{"", ""},
	}
	for _, tc := range cases {
		got, err := sms.NormalizePhone(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NormalizePhone(%q) = %q, expected an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; expected %q", tc.in, got, err, tc.want)
		}
	}
}

// TestSystemErrorIsResolvedByQuery injects Aliyun's isp.SYSTEM_ERROR, whose
// outcome is unknown: the next attempt queries, finds no SMS once
// ResolveAfter passed, and sends it.
func TestSystemErrorIsResolvedByQuery(t *testing.T) {
	f := start(t, sms.ProviderAliyun, smssim.Config{})
	f.sim.InjectCodes("isp.SYSTEM_ERROR")
	channel := f.channel(t)
	_, err := channel.Send(context.Background(), message("system-error/sms"))
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("first send: %v, expected a retryable error", err)
	}
	if state := sendState(t, f.db, "system-error/sms").State; state != sms.StateSending {
		t.Errorf("state %s, expected sending until the provider was queried", state)
	}
	if _, err, _ := sendUntilSettled(t, channel, message("system-error/sms")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if n := len(delivered(t, f.sim)); n != 1 {
		t.Errorf("simulator delivered %d SMS, expected 1", n)
	}
}

func TestRejectedErrorIsNotPermanentForThrottling(t *testing.T) {
	f := start(t, sms.ProviderTencent, smssim.Config{})
	f.sim.InjectCodes("LimitExceeded.PhoneNumberThirtySecondLimit")
	_, err := f.channel(t).Send(context.Background(), message("throttled/sms"))
	var rejected *sms.RejectedError
	if !errors.As(err, &rejected) || rejected.Permanent || notify.IsPermanent(err) {
		t.Fatalf("error %v, expected a retryable rejection", err)
	}
	if state := sendState(t, f.db, "throttled/sms").State; state != sms.StatePending {
		t.Errorf("state %s, expected pending so the next attempt sends without asking", state)
	}
}

// TestRandomFaultsDeliverEachOnce sends twelve SMS while the simulator
// fails 40% of all requests, lookups included, with every fault kind. Each
// SMS arrives exactly once, except that a Tencent SMS whose request timed
// out may end unknown, and then it never arrives twice.
func TestRandomFaultsDeliverEachOnce(t *testing.T) {
	for _, provider := range providers {
		t.Run(provider, func(t *testing.T) {
			f := start(t, provider, smssim.Config{DailyLimit: 100, Faults: simulators.FaultConfig{Rate: 0.4, Seed: 7, Hang: 500 * time.Millisecond}})
			channel := f.channel(t)
			unknown := 0
			for i := range 12 {
				key := "random/" + strconv.Itoa(i)
				_, err, _ := sendUntilSettled(t, channel, message(key))
				state := sendState(t, f.db, key).State
				switch {
				case err == nil && state == sms.StateSent:
				case provider == sms.ProviderTencent && state == sms.StateUnknown:
					unknown++
				default:
					t.Errorf("%s: error %v, state %s", key, err, state)
				}
			}
			perOutID := map[string]int{}
			for _, m := range delivered(t, f.sim) {
				perOutID[m.OutID]++
			}
			for outID, n := range perOutID {
				if n != 1 {
					t.Errorf("out id %s delivered %d times", outID, n)
				}
			}
			summary, err := f.sim.Summary(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("simulator summary %+v, %d unknown", summary, unknown)
			if len(perOutID)+unknown != 12 {
				t.Errorf("%d SMS delivered and %d unknown, expected 12 in all", len(perOutID), unknown)
			}
		})
	}
}
