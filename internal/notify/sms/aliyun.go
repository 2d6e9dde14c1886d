package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// Aliyun API facts: Dysmsapi 2017-05-25, RPC style, signature version 1.0.
const (
	aliyunVersion       = "2017-05-25"
	aliyunDefaultURL    = "https://dysmsapi.aliyuncs.com"
	aliyunDefaultRegion = "cn-hangzhou"
	// Aliyun's QuerySendDetails pages hold at most 50 records.
	aliyunPageSize = 50
)

// Aliyun SendStatus values of QuerySendDetails.
const (
	aliyunStatusWaiting   = 1
	aliyunStatusFailed    = 2
	aliyunStatusDelivered = 3
)

// AliyunConfig configures the Aliyun client.
type AliyunConfig struct {
	// BaseURL defaults to https://dysmsapi.aliyuncs.com.
	BaseURL         string
	AccessKeyID     string
	AccessKeySecret string
	// RegionID defaults to cn-hangzhou.
	RegionID string
	HTTP     HTTPConfig
	// Location is the time zone of QuerySendDetails' SendDate, default
	// Asia/Shanghai, where Aliyun keeps its dates.
	Location *time.Location
	// Clock defaults to time.Now.
	Clock func() time.Time
}

// Aliyun calls Dysmsapi SendSms and QuerySendDetails.
type Aliyun struct {
	cfg  AliyunConfig
	http *resty.Client
}

var _ Provider = (*Aliyun)(nil)

// NewAliyun validates cfg and returns the client.
func NewAliyun(cfg AliyunConfig) (*Aliyun, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = aliyunDefaultURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Host == "" {
		return nil, fmt.Errorf("aliyun SMS: invalid base URL %q", cfg.BaseURL)
	}
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" {
		return nil, errors.New("aliyun SMS: missing AccessKey id or secret")
	}
	if cfg.RegionID == "" {
		cfg.RegionID = aliyunDefaultRegion
	}
	if cfg.Location == nil {
		location, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("aliyun SMS: load Asia/Shanghai: %w", err)
		}
		cfg.Location = location
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Aliyun{cfg: cfg, http: newHTTPClient(strings.TrimRight(cfg.BaseURL, "/"), cfg.HTTP)}, nil
}

// Name returns "aliyun".
func (a *Aliyun) Name() string { return ProviderAliyun }

// AbsenceProvesNotSent returns true: QuerySendDetails lists an SMS from
// the moment Aliyun accepts it.
func (a *Aliyun) AbsenceProvesNotSent() bool { return true }

type aliyunReply struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	BizID     string `json:"BizId"`
	RequestID string `json:"RequestId"`
}

// Send calls SendSms and returns the BizId.
func (a *Aliyun) Send(ctx context.Context, req Request) (string, error) {
	params := url.Values{}
	params.Set("PhoneNumbers", nationalForm(req.Phone))
	params.Set("SignName", req.SignName)
	params.Set("TemplateCode", req.TemplateID)
	params.Set("OutId", req.OutID)
	if len(req.Params) > 0 {
		values := make(map[string]string, len(req.Params))
		for _, p := range req.Params {
			values[p.Name] = p.Value
		}
		encoded, err := json.Marshal(values)
		if err != nil {
			return "", &RejectedError{Provider: ProviderAliyun, Message: "encode TemplateParam: " + err.Error(), Permanent: true}
		}
		params.Set("TemplateParam", string(encoded))
	}
	var reply aliyunReply
	if err := a.call(ctx, "SendSms", params, &reply); err != nil {
		return "", err
	}
	return reply.BizID, nil
}

type aliyunDetailsReply struct {
	aliyunReply
	TotalCount int `json:"TotalCount"`
	Details    struct {
		Items []struct {
			PhoneNum   string `json:"PhoneNum"`
			SendStatus int    `json:"SendStatus"`
			ErrCode    string `json:"ErrCode"`
			OutID      string `json:"OutId"`
		} `json:"SmsSendDetailDTO"`
	} `json:"SmsSendDetailDTOs"`
}

// Find pages through QuerySendDetails of the number on the day of the
// attempt and on today, in Aliyun's time zone, for req.OutID.
func (a *Aliyun) Find(ctx context.Context, req Request, attemptedAt time.Time) (Record, bool, error) {
	days := []string{attemptedAt.In(a.cfg.Location).Format("20060102")}
	if today := a.cfg.Clock().In(a.cfg.Location).Format("20060102"); today != days[0] {
		days = append(days, today)
	}
	for _, day := range days {
		for page := 1; ; page++ {
			params := url.Values{}
			params.Set("PhoneNumber", nationalForm(req.Phone))
			params.Set("SendDate", day)
			params.Set("PageSize", strconv.Itoa(aliyunPageSize))
			params.Set("CurrentPage", strconv.Itoa(page))
			var reply aliyunDetailsReply
			if err := a.call(ctx, "QuerySendDetails", params, &reply); err != nil {
				return Record{}, false, err
			}
			for _, item := range reply.Details.Items {
				if item.OutID != req.OutID {
					continue
				}
				record := Record{}
				if item.SendStatus == aliyunStatusFailed {
					record.Failed, record.Reason = true, "SendStatus 2 (failed), ErrCode "+item.ErrCode
				}
				return record, true, nil
			}
			if len(reply.Details.Items) < aliyunPageSize || page*aliyunPageSize >= reply.TotalCount {
				break
			}
		}
	}
	return Record{}, false, nil
}

// call signs and posts one RPC request and decodes the reply into out,
// whose embedded aliyunReply carries Code.
func (a *Aliyun) call(ctx context.Context, action string, params url.Values, out interface{ code() aliyunReply }) error {
	params.Set("Action", action)
	params.Set("Version", aliyunVersion)
	params.Set("Format", "JSON")
	params.Set("RegionId", a.cfg.RegionID)
	params.Set("AccessKeyId", a.cfg.AccessKeyID)
	params.Set("SignatureMethod", "HMAC-SHA1")
	params.Set("SignatureVersion", "1.0")
	params.Set("SignatureNonce", randomHex(32))
	params.Set("Timestamp", a.cfg.Clock().UTC().Format("2006-01-02T15:04:05Z"))
	params.Set("Signature", AliyunSignature(http.MethodPost, params, a.cfg.AccessKeySecret))

	response, err := a.http.R().SetContext(ctx).SetFormDataFromValues(params).Post("/")
	if err != nil {
		return fmt.Errorf("aliyun %s: %w", action, err)
	}
	status := response.StatusCode()
	if err := json.Unmarshal(response.Body(), out); err != nil {
		if status == http.StatusGatewayTimeout || status < 500 {
			// An unreadable reply gives no information about the SMS.
			return fmt.Errorf("aliyun %s: unreadable reply with HTTP %d: %w", action, status, err)
		}
		return &RejectedError{Provider: ProviderAliyun, HTTPStatus: status, Message: strings.TrimSpace(string(response.Body()))}
	}
	reply := out.code()
	if reply.Code == "OK" && status == http.StatusOK {
		return nil
	}
	if reply.Code == "" {
		return fmt.Errorf("aliyun %s: reply with HTTP %d and no Code", action, status)
	}
	if reply.Code == "isp.SYSTEM_ERROR" {
		// Aliyun failed inside and does not say at which step, so the SMS
		// may have been accepted: the next attempt queries first.
		return fmt.Errorf("aliyun %s: %s: %s", action, reply.Code, reply.Message)
	}
	return &RejectedError{
		Provider: ProviderAliyun, HTTPStatus: status, Code: reply.Code, Message: reply.Message,
		Permanent: !aliyunRetryable(reply.Code),
	}
}

func (r *aliyunReply) code() aliyunReply        { return *r }
func (r *aliyunDetailsReply) code() aliyunReply { return r.aliyunReply }

// aliyunRetryable reports whether a request rejected with code may succeed
// later. Throttling and Aliyun's own failures (isp.*) may. Bad numbers,
// templates, params, signatures and keys and an empty balance may not.
// Neither may the carriers' per-number limit (isv.BUSINESS_LIMIT_CONTROL,
// about 50 a day per number, template and signature) within the retries
// of one task.
func aliyunRetryable(code string) bool {
	switch {
	case strings.HasPrefix(code, "Throttling"),
		strings.HasPrefix(code, "isp."),
		code == "ServiceUnavailable", code == "InternalError", code == "SignatureNonceUsed":
		return true
	}
	return false
}
