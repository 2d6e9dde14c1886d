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

// Tencent Cloud SMS API facts: API 3.0, version 2021-01-11.
const (
	tencentVersion       = "2021-01-11"
	tencentService       = "sms"
	tencentDefaultURL    = "https://sms.tencentcloudapi.com"
	tencentDefaultRegion = "ap-guangzhou"
	tencentContentType   = "application/json; charset=utf-8"
	// PullSmsSendStatusByPhoneNumber returns at most 100 receipts.
	tencentPullLimit = 100
	// tencentCodeOK is a SendStatus code of an accepted SMS.
	tencentCodeOK = "Ok"
)

// tencentSignedHeaders are the headers in the TC3 signature.
var tencentSignedHeaders = []string{"content-type", "host"}

// TencentConfig configures the Tencent Cloud client.
type TencentConfig struct {
	// BaseURL defaults to https://sms.tencentcloudapi.com.
	BaseURL   string
	SecretID  string
	SecretKey string
	// Region defaults to ap-guangzhou.
	Region string
	// SDKAppID is the SMS application's SmsSdkAppId, e.g. 1400006666.
	SDKAppID string
	HTTP     HTTPConfig
	// Clock defaults to time.Now.
	Clock func() time.Time
}

// Tencent calls Tencent Cloud SMS SendSms and
// PullSmsSendStatusByPhoneNumber.
type Tencent struct {
	cfg  TencentConfig
	host string
	http *resty.Client
}

var _ Provider = (*Tencent)(nil)

// NewTencent validates cfg and returns the client.
func NewTencent(cfg TencentConfig) (*Tencent, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = tencentDefaultURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("tencent SMS: invalid base URL %q", cfg.BaseURL)
	}
	if cfg.SecretID == "" || cfg.SecretKey == "" {
		return nil, errors.New("tencent SMS: missing SecretId or SecretKey")
	}
	if cfg.SDKAppID == "" {
		return nil, errors.New("tencent SMS: missing SmsSdkAppId")
	}
	if cfg.Region == "" {
		cfg.Region = tencentDefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Tencent{cfg: cfg, host: u.Host, http: newHTTPClient(strings.TrimRight(cfg.BaseURL, "/"), cfg.HTTP)}, nil
}

// Name returns "tencent".
func (t *Tencent) Name() string { return ProviderTencent }

// AbsenceProvesNotSent returns false: PullSmsSendStatusByPhoneNumber lists
// delivery receipts only, which may come hours after Tencent accepted the
// SMS.
func (t *Tencent) AbsenceProvesNotSent() bool { return false }

type tencentError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

type tencentSendReply struct {
	Response struct {
		Error         *tencentError `json:"Error"`
		SendStatusSet []struct {
			SerialNo       string `json:"SerialNo"`
			PhoneNumber    string `json:"PhoneNumber"`
			Code           string `json:"Code"`
			Message        string `json:"Message"`
			SessionContext string `json:"SessionContext"`
		} `json:"SendStatusSet"`
		RequestID string `json:"RequestId"`
	} `json:"Response"`
}

func (r *tencentSendReply) apiError() *tencentError { return r.Response.Error }

// Send calls SendSms for one number and returns the SerialNo.
func (t *Tencent) Send(ctx context.Context, req Request) (string, error) {
	values := make([]string, len(req.Params))
	for i, p := range req.Params {
		values[i] = p.Value
	}
	body := map[string]any{
		"PhoneNumberSet": []string{req.Phone}, "SmsSdkAppId": t.cfg.SDKAppID,
		"SignName": req.SignName, "TemplateId": req.TemplateID,
		"TemplateParamSet": values, "SessionContext": req.OutID,
	}
	var reply tencentSendReply
	if err := t.call(ctx, "SendSms", body, &reply); err != nil {
		return "", err
	}
	for _, status := range reply.Response.SendStatusSet {
		if status.PhoneNumber != req.Phone {
			continue
		}
		if status.Code == tencentCodeOK {
			return status.SerialNo, nil
		}
		return "", tencentRejection(http.StatusOK, status.Code, status.Message)
	}
	return "", fmt.Errorf("tencent SendSms: the reply %s has no status for the number", reply.Response.RequestID)
}

type tencentPullReply struct {
	Response struct {
		Error    *tencentError `json:"Error"`
		Receipts []struct {
			PhoneNumber    string `json:"PhoneNumber"`
			SerialNo       string `json:"SerialNo"`
			ReportStatus   string `json:"ReportStatus"`
			Description    string `json:"Description"`
			SessionContext string `json:"SessionContext"`
		} `json:"PullSmsSendStatusSet"`
	} `json:"Response"`
}

func (r *tencentPullReply) apiError() *tencentError { return r.Response.Error }

// Find pulls the number's receipts since a minute before the attempt and
// matches their SessionContext, which Tencent returns once its support
// enabled it for the application.
func (t *Tencent) Find(ctx context.Context, req Request, attemptedAt time.Time) (Record, bool, error) {
	body := map[string]any{
		"BeginTime": attemptedAt.Add(-time.Minute).Unix(), "EndTime": t.cfg.Clock().Add(time.Minute).Unix(),
		"Offset": 0, "Limit": tencentPullLimit, "PhoneNumber": req.Phone, "SmsSdkAppId": t.cfg.SDKAppID,
	}
	var reply tencentPullReply
	if err := t.call(ctx, "PullSmsSendStatusByPhoneNumber", body, &reply); err != nil {
		return Record{}, false, err
	}
	for _, receipt := range reply.Response.Receipts {
		if receipt.SessionContext != req.OutID {
			continue
		}
		record := Record{ProviderID: receipt.SerialNo}
		if receipt.ReportStatus != "SUCCESS" {
			record.Failed, record.Reason = true, receipt.ReportStatus+": "+receipt.Description
		}
		return record, true, nil
	}
	return Record{}, false, nil
}

// call signs and posts one API 3.0 request and decodes the reply.
func (t *Tencent) call(ctx context.Context, action string, body any, out interface{ apiError() *tencentError }) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return &RejectedError{Provider: ProviderTencent, Message: "encode request: " + err.Error(), Permanent: true}
	}
	timestamp := t.cfg.Clock().Unix()
	headers := map[string]string{"content-type": tencentContentType, "host": t.host}
	signature := TC3Signature(t.cfg.SecretKey, tencentService, timestamp, TC3CanonicalRequest(headers, tencentSignedHeaders, payload))

	response, err := t.http.R().SetContext(ctx).
		SetHeader("Content-Type", tencentContentType).
		SetHeader("X-TC-Action", action).
		SetHeader("X-TC-Version", tencentVersion).
		SetHeader("X-TC-Region", t.cfg.Region).
		SetHeader("X-TC-Timestamp", strconv.FormatInt(timestamp, 10)).
		SetHeader("Authorization", TC3Authorization(t.cfg.SecretID, tencentService, timestamp, tencentSignedHeaders, signature)).
		SetBody(payload).
		Post("/")
	if err != nil {
		return fmt.Errorf("tencent %s: %w", action, err)
	}
	status := response.StatusCode()
	if status >= 500 {
		if status == http.StatusGatewayTimeout {
			return fmt.Errorf("tencent %s: HTTP %d from a gateway: the request may have reached Tencent", action, status)
		}
		return &RejectedError{Provider: ProviderTencent, HTTPStatus: status, Message: strings.TrimSpace(string(response.Body()))}
	}
	if err := json.Unmarshal(response.Body(), out); err != nil {
		return fmt.Errorf("tencent %s: unreadable reply with HTTP %d: %w", action, status, err)
	}
	if apiErr := out.apiError(); apiErr != nil {
		if apiErr.Code == "InternalError.Timeout" {
			// Tencent timed out talking to the carrier: the SMS may
			// still arrive.
			return fmt.Errorf("tencent %s: %s: %s", action, apiErr.Code, apiErr.Message)
		}
		return tencentRejection(status, apiErr.Code, apiErr.Message)
	}
	if status != http.StatusOK {
		return fmt.Errorf("tencent %s: HTTP %d without an error code", action, status)
	}
	return nil
}

func tencentRejection(status int, code, message string) *RejectedError {
	return &RejectedError{
		Provider: ProviderTencent, HTTPStatus: status, Code: code, Message: message,
		Permanent: !tencentRetryable(code),
	}
}

// tencentRetryable reports whether a request rejected with code may
// succeed later: request-rate limits, the 30-second and one-hour limits
// per number, and Tencent's internal errors. Daily limits, FailedOperation
// (unapproved template or signature, empty balance), invalid parameters
// and authentication failures cannot succeed within one task's retries.
func tencentRetryable(code string) bool {
	switch code {
	case "RequestLimitExceeded", "LimitExceeded.DeliveryFrequencyLimit",
		"LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.PhoneNumberOneHourLimit":
		return true
	}
	return strings.HasPrefix(code, "InternalError") || strings.HasPrefix(code, "RequestLimitExceeded")
}
