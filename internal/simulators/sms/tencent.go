package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/notify/sms"
	"github.com/ordo-project/ordo/internal/simulators"
)

// tencentError replies with a Tencent API 3.0 error, which comes with HTTP
// 200.
func tencentError(w http.ResponseWriter, code, message string) {
	writeJSON(w, http.StatusOK, map[string]any{"Response": map[string]any{
		"Error": map[string]any{"Code": code, "Message": message}, "RequestId": randomHex(32),
	}})
}

// tencent serves an API 3.0 request: it checks the TC3-HMAC-SHA256
// signature and the timestamp, then runs the action.
func (s *Simulator) tencent(w http.ResponseWriter, r *http.Request) {
	action := r.Header.Get("X-TC-Action")
	fault := s.nextFault(action == "SendSms")
	if s.applyFault(w, fault, func(w http.ResponseWriter) {
		tencentError(w, "RequestLimitExceeded", "The request frequency exceeds the limit.")
	}) {
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		tencentError(w, "InvalidParameter", "unreadable body")
		return
	}
	now := s.cfg.Clock()
	if code, message := s.tencentAuth(r, payload, now); code != "" {
		tencentError(w, code, message)
		return
	}
	if r.Header.Get("X-TC-Version") != "2021-01-11" {
		tencentError(w, "NoSuchVersion", "The API version does not exist.")
		return
	}
	switch action {
	case "SendSms":
		s.tencentSend(w, r.Context(), payload, now, fault)
	case "PullSmsSendStatusByPhoneNumber":
		s.tencentPull(w, r.Context(), payload, now)
	default:
		tencentError(w, "InvalidAction", "The API does not exist.")
	}
}

// tencentAuth verifies the Authorization header and returns an error code
// and message, or "" when the request is signed with the configured key.
func (s *Simulator) tencentAuth(r *http.Request, payload []byte, now time.Time) (string, string) {
	timestamp, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return "MissingParameter", "X-TC-Timestamp is missing or not a number"
	}
	if now.Sub(time.Unix(timestamp, 0)).Abs() > 5*time.Minute {
		return "AuthFailure.SignatureExpire", "The signature expired: the timestamp is more than 5 minutes from the server time."
	}
	authorization, ok := strings.CutPrefix(r.Header.Get("Authorization"), sms.TC3Algorithm+" ")
	if !ok {
		return "AuthFailure.InvalidAuthorization", "Authorization does not use TC3-HMAC-SHA256."
	}

	fields := map[string]string{}
	for _, part := range strings.Split(authorization, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[name] = value
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 4 || scope[2] != "sms" || scope[3] != "tc3_request" {
		return "AuthFailure.InvalidAuthorization", "Credential must be SecretId/date/sms/tc3_request."
	}
	if s.cfg.SecretID == "" || scope[0] != s.cfg.SecretID {
		return "AuthFailure.SecretIdNotFound", "The SecretId is not found."
	}
	if scope[1] != time.Unix(timestamp, 0).UTC().Format(time.DateOnly) {
		return "AuthFailure.SignatureFailure", "The date in Credential is not the UTC date of X-TC-Timestamp."
	}

	signed := strings.Split(fields["SignedHeaders"], ";")
	headers := map[string]string{}
	for _, name := range signed {
		if name == "host" {
			headers[name] = r.Host
			continue
		}
		headers[name] = r.Header.Get(name)
	}
	if headers["content-type"] == "" || !strings.Contains(fields["SignedHeaders"], "host") {
		return "AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host."
	}
	expected := sms.TC3Signature(s.cfg.SecretKey, "sms", timestamp, sms.TC3CanonicalRequest(headers, signed, payload))
	if fields["Signature"] != expected {
		return "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
	}
	return "", ""
}

type tencentSendRequest struct {
	PhoneNumberSet   []string `json:"PhoneNumberSet"`
	SmsSdkAppID      string   `json:"SmsSdkAppId"`
	SignName         string   `json:"SignName"`
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet"`
	SessionContext   string   `json:"SessionContext"`
}

func (s *Simulator) tencentSend(w http.ResponseWriter, ctx context.Context, payload []byte, now time.Time, fault simulators.Fault) {
	var request tencentSendRequest
	decoder := json.NewDecoder(bytes.NewReader(payload))
	if err := decoder.Decode(&request); err != nil {
		tencentError(w, "InvalidParameter", "The request body is not valid JSON: "+err.Error())
		return
	}
	if request.SmsSdkAppID != s.cfg.SDKAppID {
		tencentError(w, "InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
		return
	}
	if len(request.PhoneNumberSet) == 0 || len(request.PhoneNumberSet) > 200 {
		tencentError(w, "LimitExceeded.PhoneNumberCountLimit", "PhoneNumberSet must hold 1 to 200 numbers.")
		return
	}
	if !s.signApproved(request.SignName) {
		tencentError(w, "FailedOperation.SignatureIncorrectOrUnapproved", "The signature is not approved.")
		return
	}
	template, ok := s.cfg.Templates[request.TemplateID]
	if !ok {
		tencentError(w, "FailedOperation.TemplateIncorrectOrUnapproved", "The template is not approved.")
		return
	}
	if len(request.TemplateParamSet) != len(template.Params) {
		tencentError(w, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "TemplateParamSet does not match the template's parameters.")
		return
	}
	params, _ := json.Marshal(request.TemplateParamSet)
	pairs := make([]string, 0, 2*len(request.TemplateParamSet))
	for i, value := range request.TemplateParamSet {
		pairs = append(pairs, "{"+strconv.Itoa(i+1)+"}", value)
	}
	text := "【" + request.SignName + "】" + strings.NewReplacer(pairs...).Replace(template.Text)

	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	statuses := make([]map[string]any, 0, len(request.PhoneNumberSet))
	for _, phone := range request.PhoneNumberSet {
		row := Message{
			Provider: sms.ProviderTencent, Phone: phone, SignName: request.SignName, TemplateID: request.TemplateID,
			Params: string(params), Text: text, OutID: request.SessionContext, ReceivedAt: now.UTC(),
		}
		code, message, err := s.tencentCheck(ctx, phone, now)
		if err != nil {
			tencentError(w, "InternalError", err.Error())
			return
		}
		if code == "" {
			row.Outcome, row.ProviderID, code, message = OutcomeDelivered, randomDigits(4)+":"+randomDigits(20), "Ok", "send success"
		} else {
			row.Outcome, row.Code = OutcomeRejected, code
		}
		if err := s.insert(ctx, &row); err != nil {
			tencentError(w, "InternalError", err.Error())
			return
		}
		statuses = append(statuses, map[string]any{
			"SerialNo": row.ProviderID, "PhoneNumber": phone, "Fee": 1, "SessionContext": request.SessionContext,
			"Code": code, "Message": message, "IsoCode": "CN",
		})
	}
	if fault == simulators.FaultLostReply {
		simulators.LoseReply(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"Response": map[string]any{"SendStatusSet": statuses, "RequestId": randomHex(32)}})
}

// tencentCheck returns the per-number status code of an SMS to phone, or ""
// when it is sent.
func (s *Simulator) tencentCheck(ctx context.Context, phone string, now time.Time) (string, string, error) {
	if code, ok := s.nextCode(); ok {
		return code, "injected by the simulator", nil
	}
	if normalized, err := sms.NormalizePhone(phone); err != nil || normalized != phone || s.isInvalid(phone) {
		return "InvalidParameterValue.IncorrectPhoneNumber", "invalid mobile number", nil
	}
	over, err := s.overDailyLimit(ctx, sms.ProviderTencent, phone, now)
	if err != nil {
		return "", "", err
	}
	if over {
		return "LimitExceeded.PhoneNumberDailyLimit", "the number reached its daily limit", nil
	}
	return "", "", nil
}

type tencentPullRequest struct {
	BeginTime   int64  `json:"BeginTime"`
	EndTime     int64  `json:"EndTime"`
	Offset      int    `json:"Offset"`
	Limit       int    `json:"Limit"`
	PhoneNumber string `json:"PhoneNumber"`
	SmsSdkAppID string `json:"SmsSdkAppId"`
}

// tencentPull serves PullSmsSendStatusByPhoneNumber: the receipts of the
// SMS delivered to one number between BeginTime and EndTime, once
// ReceiptDelay has passed since each was sent.
func (s *Simulator) tencentPull(w http.ResponseWriter, ctx context.Context, payload []byte, now time.Time) {
	var request tencentPullRequest
	if err := json.Unmarshal(payload, &request); err != nil {
		tencentError(w, "InvalidParameter", "The request body is not valid JSON: "+err.Error())
		return
	}
	if request.SmsSdkAppID != s.cfg.SDKAppID {
		tencentError(w, "InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
		return
	}
	if request.Limit < 1 || request.Limit > 100 || request.Offset != 0 {
		tencentError(w, "InvalidParameterValue", "Limit must be 1 to 100 and Offset 0.")
		return
	}
	sent, err := delivered(ctx, s.cfg.DB, sms.ProviderTencent, request.PhoneNumber, time.Unix(request.BeginTime, 0), time.Unix(request.EndTime, 0))
	if err != nil {
		tencentError(w, "InternalError", err.Error())
		return
	}
	receipts := []map[string]any{}
	for _, message := range sent {
		received := message.ReceivedAt.Add(s.cfg.ReceiptDelay)
		if received.After(now) || len(receipts) == request.Limit {
			continue
		}
		receipts = append(receipts, map[string]any{
			"UserReceiveTime": received.Unix(), "CountryCode": "86", "SubscriberNumber": strings.TrimPrefix(message.Phone, "+86"),
			"PhoneNumber": message.Phone, "SerialNo": message.ProviderID, "ReportStatus": "SUCCESS",
			"Description": "DELIVRD", "SessionContext": message.OutID,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"Response": map[string]any{"PullSmsSendStatusSet": receipts, "RequestId": randomHex(32)}})
}
