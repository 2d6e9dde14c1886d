package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/notify/sms"
	"github.com/ordo-project/ordo/internal/simulators"
)

// aliyunError replies with an Aliyun error code.
func aliyunError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"Code": code, "Message": message, "RequestId": randomHex(32)})
}

// aliyun serves an RPC request: it checks the signature, the timestamp and
// the nonce, then runs the action.
func (s *Simulator) aliyun(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		aliyunError(w, http.StatusBadRequest, "InvalidParameter", "unreadable form: "+err.Error())
		return
	}
	params := r.Form
	action := params.Get("Action")
	fault := s.nextFault(action == "SendSms")
	if s.applyFault(w, fault, func(w http.ResponseWriter) {
		aliyunError(w, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
	}) {
		return
	}

	if s.cfg.AccessKeyID == "" || params.Get("AccessKeyId") != s.cfg.AccessKeyID {
		aliyunError(w, http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	}
	signature := params.Get("Signature")
	unsigned := make(map[string][]string, len(params))
	for key, values := range params {
		if key != "Signature" {
			unsigned[key] = values
		}
	}
	if expected := sms.AliyunSignature(r.Method, unsigned, s.cfg.AccessKeySecret); signature != expected {
		aliyunError(w, http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	}
	now := s.cfg.Clock()
	stamp, err := time.Parse("2006-01-02T15:04:05Z", params.Get("Timestamp"))
	if err != nil || now.Sub(stamp).Abs() > 15*time.Minute {
		aliyunError(w, http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
		return
	}
	if params.Get("SignatureNonce") == "" || !s.useNonce(params.Get("SignatureNonce"), now) {
		aliyunError(w, http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
		return
	}
	if params.Get("Version") != "2017-05-25" {
		aliyunError(w, http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
		return
	}

	switch action {
	case "SendSms":
		s.aliyunSend(w, r.Context(), params.Get, now, fault)
	case "QuerySendDetails":
		s.aliyunQuery(w, r.Context(), params.Get)
	default:
		aliyunError(w, http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	}
}

func (s *Simulator) aliyunSend(w http.ResponseWriter, ctx context.Context, param func(string) string, now time.Time, fault simulators.Fault) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()

	message := Message{
		Provider: sms.ProviderAliyun, SignName: param("SignName"), TemplateID: param("TemplateCode"),
		Params: param("TemplateParam"), OutID: param("OutId"), ReceivedAt: now.UTC(),
	}
	numbers := strings.Split(param("PhoneNumbers"), ",")
	code, reason := s.aliyunCheck(ctx, &message, numbers, now)
	bizID := randomDigits(15) + "^0"
	for _, number := range numbers {
		row := message
		row.Phone = aliyunE164(strings.TrimSpace(number))
		if code == "" {
			row.Outcome, row.ProviderID = OutcomeDelivered, bizID
		} else {
			row.Outcome, row.Code = OutcomeRejected, code
		}
		if err := s.insert(ctx, &row); err != nil {
			aliyunError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
	}
	if code != "" {
		aliyunError(w, http.StatusOK, code, reason)
		return
	}
	if fault == simulators.FaultLostReply {
		simulators.LoseReply(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"Code": "OK", "Message": "OK", "BizId": bizID, "RequestId": randomHex(32)})
}

// aliyunCheck validates a SendSms request and fills the message's text. It
// returns an Aliyun error code and message, or "" when the SMS is sent.
func (s *Simulator) aliyunCheck(ctx context.Context, message *Message, numbers []string, now time.Time) (string, string) {
	if code, ok := s.nextCode(); ok {
		return code, "injected by the simulator"
	}
	if len(numbers) == 0 || len(numbers) > 1000 {
		return "isv.MOBILE_COUNT_OVER_LIMIT", "between 1 and 1000 numbers are allowed"
	}
	for _, number := range numbers {
		phone := aliyunE164(strings.TrimSpace(number))
		if _, err := sms.NormalizePhone(phone); err != nil || s.isInvalid(phone) {
			return "isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number"
		}
	}
	if !s.signApproved(message.SignName) {
		return "isv.SMS_SIGNATURE_ILLEGAL", "the signature is not approved"
	}
	template, ok := s.cfg.Templates[message.TemplateID]
	if !ok {
		return "isv.SMS_TEMPLATE_ILLEGAL", "the template is not approved"
	}

	values := map[string]string{}
	if message.Params != "" {
		var raw map[string]any
		if err := json.Unmarshal([]byte(message.Params), &raw); err != nil {
			return "isv.INVALID_JSON_PARAM", "TemplateParam is not a JSON object"
		}
		for name, value := range raw {
			text, isString := value.(string)
			if !isString {
				return "isv.INVALID_JSON_PARAM", "TemplateParam values must be strings"
			}
			values[name] = text
		}
	}
	if missing := missingNames(template.Params, values); missing != "" {
		return "isv.TEMPLATE_MISSING_PARAMETERS", "the template needs " + missing
	}
	if len(values) != len(template.Params) {
		return "isv.TEMPLATE_PARAMS_ILLEGAL", "TemplateParam holds names the template does not have"
	}

	for _, number := range numbers {
		over, err := s.overDailyLimit(ctx, sms.ProviderAliyun, aliyunE164(strings.TrimSpace(number)), now)
		if err != nil {
			return "isp.SYSTEM_ERROR", err.Error()
		}
		if over {
			return "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:" + strconv.Itoa(s.cfg.DailyLimit)
		}
	}

	pairs := make([]string, 0, 2*len(values))
	for name, value := range values {
		pairs = append(pairs, "${"+name+"}", value)
	}
	message.Text = "【" + message.SignName + "】" + strings.NewReplacer(pairs...).Replace(template.Text)
	return "", ""
}

func missingNames(names []string, values map[string]string) string {
	var missing []string
	for _, name := range names {
		if strings.TrimSpace(values[name]) == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return strings.Join(missing, ", ")
}

// aliyunQuery serves QuerySendDetails: the delivered SMS to one number on
// one day (Asia/Shanghai), newest first, a page at a time.
func (s *Simulator) aliyunQuery(w http.ResponseWriter, ctx context.Context, param func(string) string) {
	day, err := time.ParseInLocation("20060102", param("SendDate"), s.location)
	if err != nil {
		aliyunError(w, http.StatusOK, "isv.INVALID_PARAMETERS", "SendDate must be yyyyMMdd")
		return
	}
	size, err := strconv.Atoi(param("PageSize"))
	if err != nil || size < 1 || size > 50 {
		aliyunError(w, http.StatusOK, "isv.INVALID_PARAMETERS", "PageSize must be 1 to 50")
		return
	}
	page, err := strconv.Atoi(param("CurrentPage"))
	if err != nil || page < 1 {
		aliyunError(w, http.StatusOK, "isv.INVALID_PARAMETERS", "CurrentPage must be at least 1")
		return
	}

	sent, err := delivered(ctx, s.cfg.DB, sms.ProviderAliyun, aliyunE164(param("PhoneNumber")), day, day.AddDate(0, 0, 1))
	if err != nil {
		aliyunError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if bizID := param("BizId"); bizID != "" {
		var matching []Message
		for _, message := range sent {
			if message.ProviderID == bizID {
				matching = append(matching, message)
			}
		}
		sent = matching
	}

	items := []map[string]any{}
	for i := len(sent) - 1 - (page-1)*size; i >= 0 && len(items) < size; i-- {
		message := sent[i]
		items = append(items, map[string]any{
			"PhoneNum": strings.TrimPrefix(message.Phone, "+86"), "SendStatus": 3, "ErrCode": "DELIVERED",
			"TemplateCode": message.TemplateID, "Content": message.Text, "OutId": message.OutID,
			"SendDate":    message.ReceivedAt.In(s.location).Format(time.DateTime),
			"ReceiveDate": message.ReceivedAt.In(s.location).Format(time.DateTime),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"Code": "OK", "Message": "OK", "RequestId": randomHex(32), "TotalCount": len(sent),
		"SmsSendDetailDTOs": map[string]any{"SmsSendDetailDTO": items},
	})
}

// aliyunE164 returns an Aliyun number (11 digits for mainland China,
// country code and number otherwise) in E.164 form.
func aliyunE164(number string) string {
	if len(number) == 11 && strings.HasPrefix(number, "1") {
		return "+86" + number
	}
	if strings.HasPrefix(number, "+") {
		return number
	}
	return "+" + number
}
