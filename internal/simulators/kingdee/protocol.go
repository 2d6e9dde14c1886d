package kingdee

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SessionLostMessage is the message Kingdee sends when a call arrives
// without a valid session. Clients log in again and replay the call.
const SessionLostMessage = "会话信息已丢失，请重新登录"

// errorCodeFailed is the ErrorCode of every failed reply. Kingdee uses 500
// in the reply body for failures that arrive with HTTP status 200.
const errorCodeFailed = 500

// msgCodeSessionLost is the MsgCode of a session-lost reply.
//
// NOTE: the value 1 is unverified against a real Kingdee, so the connector
// recognises a lost session by SessionLostMessage instead.
const msgCodeSessionLost = 1

// replyError is one entry of ResponseStatus.Errors.
type replyError struct {
	FieldName string `json:"FieldName"`
	Message   string `json:"Message"`
	// DIndex is the position of the model in a BatchSave or of the
	// document in a Numbers or Ids list.
	DIndex int `json:"DIndex"`
}

// successEntity is one entry of ResponseStatus.SuccessEntitys.
type successEntity struct {
	ID     int64  `json:"Id"`
	Number string `json:"Number"`
	DIndex int    `json:"DIndex"`
}

type responseStatus struct {
	ErrorCode       int             `json:"ErrorCode"`
	IsSuccess       bool            `json:"IsSuccess"`
	Errors          []replyError    `json:"Errors"`
	SuccessEntitys  []successEntity `json:"SuccessEntitys"`
	SuccessMessages []any           `json:"SuccessMessages"`
	MsgCode         int             `json:"MsgCode"`
}

type result struct {
	ResponseStatus responseStatus `json:"ResponseStatus"`
	// ID and Number echo the document a single Save created or updated.
	ID     any    `json:"Id"`
	Number string `json:"Number"`
	// Result carries the document of a View reply.
	Result         map[string]any `json:"Result,omitempty"`
	NeedReturnData []any          `json:"NeedReturnData"`
}

// reply is the envelope of every DynamicFormService response except
// ExecuteBillQuery.
type reply struct {
	Result result `json:"Result"`
}

// loginReply is the response of ValidateUser and LoginByAppSecret.
type loginReply struct {
	LoginResultType int            `json:"LoginResultType"`
	Message         string         `json:"Message"`
	KDSVCSessionID  string         `json:"KDSVCSessionId"`
	IsSuccessByAPI  bool           `json:"IsSuccessByAPI"`
	Context         map[string]any `json:"Context,omitempty"`
}

// Login result types.
const (
	loginOK          = 1
	loginBadPassword = 0
	loginFailure     = -1
)

func successReply(entities []successEntity) reply {
	if entities == nil {
		entities = []successEntity{}
	}
	r := reply{Result: result{
		ResponseStatus: responseStatus{
			IsSuccess:       true,
			Errors:          []replyError{},
			SuccessEntitys:  entities,
			SuccessMessages: []any{},
		},
		ID:             "",
		NeedReturnData: []any{},
	}}
	if len(entities) == 1 {
		r.Result.ID = entities[0].ID
		r.Result.Number = entities[0].Number
	}
	return r
}

func failureReply(errs []replyError, entities []successEntity) reply {
	if entities == nil {
		entities = []successEntity{}
	}
	return reply{Result: result{
		ResponseStatus: responseStatus{
			ErrorCode:       errorCodeFailed,
			IsSuccess:       false,
			Errors:          errs,
			SuccessEntitys:  entities,
			SuccessMessages: []any{},
		},
		ID:             "",
		NeedReturnData: []any{},
	}}
}

// messageReply is a failure with one message that names no field.
func messageReply(message string) reply {
	return failureReply([]replyError{{Message: message}}, nil)
}

func sessionLostReply() reply {
	r := messageReply(SessionLostMessage)
	r.Result.ResponseStatus.MsgCode = msgCodeSessionLost
	return r
}

// wrapForQuery puts an error reply where ExecuteBillQuery puts rows, the
// way Kingdee reports query failures: [[{"Result": {...}}]].
func wrapForQuery(r reply) [][]any {
	return [][]any{{r}}
}

// apiRequest is a DynamicFormService call in either wire form.
type apiRequest struct {
	FormID   string
	OpNumber string
	Data     map[string]any
}

// errBadRequest marks a body the simulator cannot read.
var errBadRequest = errors.New("invalid request body")

// parseFormRequest reads a DynamicFormService body. The object form is
// {"formid": ..., "data": {...}}, plus "opNumber" for ExcuteOperation.
// Older clients send {"parameters": [formid, data]} or, for
// ExcuteOperation, [formid, opNumber, data]. Data may be an object or a
// JSON string that contains one.
func parseFormRequest(body []byte, withOpNumber bool) (apiRequest, error) {
	envelope, err := decodeObject(body)
	if err != nil {
		return apiRequest{}, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	var req apiRequest
	if params, ok := fieldOf(envelope, "parameters"); ok {
		list, ok := params.([]any)
		if !ok {
			return apiRequest{}, fmt.Errorf("%w: parameters is not an array", errBadRequest)
		}
		want := 2
		if withOpNumber {
			want = 3
		}
		if len(list) < want {
			return apiRequest{}, fmt.Errorf("%w: parameters has %d items, expected %d", errBadRequest, len(list), want)
		}
		req.FormID, _ = list[0].(string)
		if withOpNumber {
			req.OpNumber, _ = list[1].(string)
		}
		req.Data, err = dataObject(list[want-1])
	} else {
		formID, _ := fieldOf(envelope, "formid")
		req.FormID, _ = formID.(string)
		opNumber, _ := fieldOf(envelope, "opNumber")
		req.OpNumber, _ = opNumber.(string)
		data, _ := fieldOf(envelope, "data")
		req.Data, err = dataObject(data)
	}
	if err != nil {
		return apiRequest{}, err
	}
	if strings.TrimSpace(req.FormID) == "" {
		return apiRequest{}, fmt.Errorf("%w: formid is missing", errBadRequest)
	}
	return req, nil
}

// parseQueryRequest reads an ExecuteBillQuery body: {"data": {...}} or
// {"parameters": [{...}]}, the query possibly as a JSON string.
func parseQueryRequest(body []byte) (map[string]any, error) {
	envelope, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if params, ok := fieldOf(envelope, "parameters"); ok {
		list, ok := params.([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%w: parameters must be an array holding the query", errBadRequest)
		}
		return dataObject(list[0])
	}
	data, ok := fieldOf(envelope, "data")
	if !ok {
		// Some clients post the query object itself.
		return envelope, nil
	}
	return dataObject(data)
}

func dataObject(value any) (map[string]any, error) {
	switch v := value.(type) {
	case map[string]any:
		return v, nil
	case string:
		object, err := decodeObject([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("%w: data string is not a JSON object: %v", errBadRequest, err)
		}
		return object, nil
	case nil:
		return nil, fmt.Errorf("%w: data is missing", errBadRequest)
	}
	return nil, fmt.Errorf("%w: data is neither an object nor a JSON string", errBadRequest)
}

// loginRequest holds the credentials of a login call.
type loginRequest struct {
	AccountID string
	Username  string
	// Secret is the password for ValidateUser and the app secret for
	// LoginByAppSecret.
	Secret string
	AppID  string
}

// parseLoginRequest reads ValidateUser ([acctID, user, password, lcid]) or
// LoginByAppSecret ([acctID, user, appID, appSecret, lcid]) parameters,
// positional or named.
func parseLoginRequest(body []byte, byAppSecret bool) (loginRequest, error) {
	envelope, err := decodeObject(body)
	if err != nil {
		return loginRequest{}, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	text := func(value any) string {
		switch v := value.(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		return ""
	}
	if params, ok := fieldOf(envelope, "parameters"); ok {
		list, ok := params.([]any)
		want := 3
		if byAppSecret {
			want = 4
		}
		if !ok || len(list) < want {
			return loginRequest{}, fmt.Errorf("%w: login parameters must be an array of at least %d items", errBadRequest, want)
		}
		req := loginRequest{AccountID: text(list[0]), Username: text(list[1])}
		if byAppSecret {
			req.AppID, req.Secret = text(list[2]), text(list[3])
		} else {
			req.Secret = text(list[2])
		}
		return req, nil
	}
	named := func(key string) string {
		value, _ := fieldOf(envelope, key)
		return text(value)
	}
	req := loginRequest{AccountID: named("acctid"), Username: named("username")}
	if byAppSecret {
		req.AppID, req.Secret = named("appid"), named("appsecret")
	} else {
		req.Secret = named("password")
	}
	return req, nil
}

// targetList reads the documents a Submit, Audit, UnAudit, Delete or
// ExcuteOperation names: "Numbers" as an array or comma-separated text,
// else "Ids" the same way.
func targetList(data map[string]any) (numbers []string, ids []int64, err error) {
	if value, ok := fieldOf(data, "Numbers"); ok {
		numbers = textList(value)
	}
	if len(numbers) > 0 {
		return numbers, nil, nil
	}
	if value, ok := fieldOf(data, "Ids"); ok {
		for _, text := range textList(value) {
			id, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: id %q is not a number", errBadRequest, text)
			}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil, fmt.Errorf("%w: name the documents in Numbers or Ids", errBadRequest)
	}
	return nil, ids, nil
}

func textList(value any) []string {
	var items []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	switch v := value.(type) {
	case string:
		for _, part := range strings.Split(v, ",") {
			add(part)
		}
	case []any:
		for _, item := range v {
			switch x := item.(type) {
			case string:
				add(x)
			case json.Number:
				add(x.String())
			}
		}
	case json.Number:
		add(v.String())
	}
	return items
}
