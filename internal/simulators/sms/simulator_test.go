package sms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/notify/sms"
	"github.com/ordo-project/ordo/internal/simulators"
	smssim "github.com/ordo-project/ordo/internal/simulators/sms"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

const (
	keyID    = "LTAI-sim"
	secretID = "AKID-sim"
	secret   = "sim-secret"
	appID    = "1400000001"
	sign     = "ordo"
	template = "SMS_1"
)

// clock is a settable time source shared by the simulator and clients.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func startSim(t *testing.T, cfg smssim.Config) *smssim.Simulator {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sim.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cfg.DB = db
	cfg.AccessKeyID, cfg.AccessKeySecret = keyID, secret
	cfg.SecretID, cfg.SecretKey, cfg.SDKAppID = secretID, secret, appID
	cfg.SignNames = []string{sign}
	cfg.Templates = map[string]smssim.Template{template: {Params: []string{"code"}, Text: "code ${code}"}}
	sim, err := smssim.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// aliyunParams returns signed SendSms parameters with one change applied
// after signing, when tamper is not nil.
func aliyunParams(now time.Time, nonce string, tamper func(url.Values)) url.Values {
	params := url.Values{}
	for key, value := range map[string]string{
		"Action": "SendSms", "Version": "2017-05-25", "Format": "JSON", "RegionId": "cn-hangzhou",
		"AccessKeyId": keyID, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": nonce,
		"Timestamp": now.UTC().Format("2006-01-02T15:04:05Z"), "PhoneNumbers": "13800138000",
		"SignName": sign, "TemplateCode": template, "TemplateParam": `{"code":"1234"}`, "OutId": "out-1",
	} {
		params.Set(key, value)
	}
	params.Set("Signature", sms.AliyunSignature(http.MethodPost, params, secret))
	if tamper != nil {
		tamper(params)
	}
	return params
}

func postAliyun(t *testing.T, sim *smssim.Simulator, params url.Values) (int, map[string]any) {
	t.Helper()
	response, err := http.PostForm(sim.URL()+"/", params)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(response.Body).Decode(&body); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return response.StatusCode, body
}

func TestAliyunVerifiesRequests(t *testing.T) {
	sim := startSim(t, smssim.Config{})
	now := time.Now()
	cases := []struct {
		name   string
		params url.Values
		status int
		code   string
	}{
		{"signed", aliyunParams(now, "n1", nil), http.StatusOK, "OK"},
		{"nonce reused", aliyunParams(now, "n1", nil), http.StatusBadRequest, "SignatureNonceUsed"},
		{"param changed after signing", aliyunParams(now, "n2", func(p url.Values) { p.Set("PhoneNumbers", "13900139000") }),
			http.StatusBadRequest, "SignatureDoesNotMatch"},
		{"wrong secret", aliyunParams(now, "n3", func(p url.Values) {
			p.Del("Signature")
			p.Set("Signature", sms.AliyunSignature(http.MethodPost, p, "other"))
		}), http.StatusBadRequest, "SignatureDoesNotMatch"},
		{"unknown key", aliyunParams(now, "n4", func(p url.Values) { p.Set("AccessKeyId", "LTAI-other") }),
			http.StatusNotFound, "InvalidAccessKeyId.NotFound"},
		{"old timestamp", aliyunParams(now.Add(-time.Hour), "n5", nil), http.StatusBadRequest, "InvalidTimeStamp.Expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postAliyun(t, sim, tc.params)
			if status != tc.status || body["Code"] != tc.code {
				t.Errorf("HTTP %d, Code %v; expected HTTP %d, Code %s", status, body["Code"], tc.status, tc.code)
			}
		})
	}
	messages, err := sim.Messages(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 1 || messages[0].Text != "【ordo】code 1234" || messages[0].Phone != "+8613800138000" {
		t.Errorf("simulator recorded %+v, expected only the signed request", messages)
	}
}

func TestAliyunChecksTemplateParams(t *testing.T) {
	sim := startSim(t, smssim.Config{})
	now := time.Now()
	cases := []struct {
		name, param, code string
	}{
		{"missing", `{}`, "isv.TEMPLATE_MISSING_PARAMETERS"},
		{"extra", `{"code":"1","other":"2"}`, "isv.TEMPLATE_PARAMS_ILLEGAL"},
		{"number value", `{"code":1234}`, "isv.INVALID_JSON_PARAM"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := aliyunParams(now, "p"+strconv.Itoa(i), func(p url.Values) {
				p.Set("TemplateParam", tc.param)
				p.Del("Signature")
				p.Set("Signature", sms.AliyunSignature(http.MethodPost, p, secret))
			})
			if _, body := postAliyun(t, sim, params); body["Code"] != tc.code {
				t.Errorf("Code %v, expected %s", body["Code"], tc.code)
			}
		})
	}
}

func postTencent(t *testing.T, sim *smssim.Simulator, timestamp int64, key string, payload []byte, tamper func(*http.Request)) string {
	t.Helper()
	u, _ := url.Parse(sim.URL())
	headers := map[string]string{"content-type": "application/json; charset=utf-8", "host": u.Host}
	signed := []string{"content-type", "host"}
	signature := sms.TC3Signature(key, "sms", timestamp, sms.TC3CanonicalRequest(headers, signed, payload))
	request, err := http.NewRequest(http.MethodPost, sim.URL()+"/", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", headers["content-type"])
	request.Header.Set("X-TC-Action", "SendSms")
	request.Header.Set("X-TC-Version", "2021-01-11")
	request.Header.Set("X-TC-Timestamp", strconv.FormatInt(timestamp, 10))
	request.Header.Set("Authorization", sms.TC3Authorization(secretID, "sms", timestamp, signed, signature))
	if tamper != nil {
		tamper(request)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var reply struct {
		Response struct {
			Error *struct {
				Code string `json:"Code"`
			} `json:"Error"`
			SendStatusSet []struct {
				Code string `json:"Code"`
			} `json:"SendStatusSet"`
		} `json:"Response"`
	}
	if err := json.NewDecoder(response.Body).Decode(&reply); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	if reply.Response.Error != nil {
		return reply.Response.Error.Code
	}
	if len(reply.Response.SendStatusSet) != 1 {
		t.Fatalf("reply has %d statuses, expected 1", len(reply.Response.SendStatusSet))
	}
	return reply.Response.SendStatusSet[0].Code
}

func TestTencentVerifiesRequests(t *testing.T) {
	sim := startSim(t, smssim.Config{})
	now := time.Now().Unix()
	payload := []byte(`{"PhoneNumberSet":["+8613800138000"],"SmsSdkAppId":"` + appID +
		`","SignName":"ordo","TemplateId":"SMS_1","TemplateParamSet":["1234"],"SessionContext":"out-1"}`)
	cases := []struct {
		name      string
		timestamp int64
		key       string
		tamper    func(*http.Request)
		code      string
	}{
		{"signed", now, secret, nil, "Ok"},
		{"wrong key", now, "other", nil, "AuthFailure.SignatureFailure"},
		{"body changed after signing", now, secret, func(r *http.Request) {
			changed := bytes.Replace(payload, []byte("1234"), []byte("9999"), 1)
			r.Body = io.NopCloser(bytes.NewReader(changed))
			r.ContentLength = int64(len(changed))
		}, "AuthFailure.SignatureFailure"},
		{"old timestamp", now - 3600, secret, nil, "AuthFailure.SignatureExpire"},
		{"unknown secret id", now, secret, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), secretID, "AKID-other", 1))
		}, "AuthFailure.SecretIdNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code := postTencent(t, sim, tc.timestamp, tc.key, payload, tc.tamper); code != tc.code {
				t.Errorf("code %s, expected %s", code, tc.code)
			}
		})
	}
	messages, err := sim.Messages(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 1 || messages[0].OutID != "out-1" || messages[0].Params != `["1234"]` {
		t.Errorf("simulator recorded %+v, expected only the signed request", messages)
	}
}

func TestDailyLimitResetsNextDay(t *testing.T) {
	c := &clock{now: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	sim := startSim(t, smssim.Config{DailyLimit: 2, Clock: c.Now})
	for _, provider := range []string{sms.ProviderAliyun, sms.ProviderTencent} {
		t.Run(provider, func(t *testing.T) {
			client := newProvider(t, provider, sim, c.Now)
			request := sms.Request{Phone: "+8613800138000", SignName: sign, TemplateID: template, Params: []sms.Param{{Name: "code", Value: "1"}}}
			for i := range 2 {
				request.OutID = fmt.Sprintf("%s-%d", provider, i)
				if _, err := client.Send(context.Background(), request); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			request.OutID = provider + "-over"
			_, err := client.Send(context.Background(), request)
			rejected, ok := err.(*sms.RejectedError)
			if !ok || !rejected.Permanent {
				t.Fatalf("third SMS of the day: %v, expected a permanent rejection", err)
			}
			c.Add(24 * time.Hour)
			if _, err := client.Send(context.Background(), request); err != nil {
				t.Errorf("first SMS of the next day: %v", err)
			}
		})
	}
}

func newProvider(t *testing.T, provider string, sim *smssim.Simulator, now func() time.Time) sms.Provider {
	t.Helper()
	var client sms.Provider
	var err error
	if provider == sms.ProviderAliyun {
		client, err = sms.NewAliyun(sms.AliyunConfig{BaseURL: sim.URL(), AccessKeyID: keyID, AccessKeySecret: secret, Clock: now})
	} else {
		client, err = sms.NewTencent(sms.TencentConfig{BaseURL: sim.URL(), SecretID: secretID, SecretKey: secret, SDKAppID: appID, Clock: now})
	}
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestQueryFindsSendsOnLaterPages sends more SMS to one number than one
// QuerySendDetails page holds and finds the oldest by its OutId.
func TestQueryFindsSendsOnLaterPages(t *testing.T) {
	sim := startSim(t, smssim.Config{DailyLimit: 100})
	client := newProvider(t, sms.ProviderAliyun, sim, nil)
	started := time.Now()
	request := sms.Request{Phone: "+8613800138000", SignName: sign, TemplateID: template, Params: []sms.Param{{Name: "code", Value: "1"}}}
	for i := range 55 {
		request.OutID = fmt.Sprintf("out-%02d", i)
		if _, err := client.Send(context.Background(), request); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	request.OutID = "out-00"
	if _, found, err := client.Find(context.Background(), request, started); err != nil || !found {
		t.Errorf("find the oldest SMS: found %v, error %v", found, err)
	}
	request.OutID = "out-missing"
	if _, found, err := client.Find(context.Background(), request, started); err != nil || found {
		t.Errorf("find an SMS never sent: found %v, error %v", found, err)
	}
}

func TestFaultRateAppliesToEveryRequest(t *testing.T) {
	sim := startSim(t, smssim.Config{Faults: simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultServerError}, Seed: 1}})
	client := newProvider(t, sms.ProviderTencent, sim, nil)
	request := sms.Request{Phone: "+8613800138000", SignName: sign, TemplateID: template, Params: []sms.Param{{Value: "1"}}, OutID: "x"}
	for i := range 3 {
		_, err := client.Send(context.Background(), request)
		rejected, ok := err.(*sms.RejectedError)
		if !ok || rejected.HTTPStatus != http.StatusInternalServerError || rejected.Permanent {
			t.Errorf("send %d: %v, expected a retryable HTTP 500", i, err)
		}
	}
	sim.Faults().SetConfig(simulators.FaultConfig{})
	if _, err := client.Send(context.Background(), request); err != nil {
		t.Errorf("send without faults: %v", err)
	}
}
