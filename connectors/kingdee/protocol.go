package kingdee

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ordo-project/ordo/connectors"
)

// sessionLostMessage is the message Kingdee returns, with ErrorCode 500,
// for a call whose session expired or was never opened.
const sessionLostMessage = "会话信息已丢失，请重新登录"

// loginSucceeded is the LoginResultType of a successful login. 0 is a bad
// password and -1 a failure such as an unknown data center or app secret.
const loginSucceeded = 1

// flexText decodes a JSON string, number or null into text. Kingdee sends
// ids and codes as either, depending on the form and version.
type flexText string

func (t *flexText) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*t = ""
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*t = flexText(s)
	default:
		*t = flexText(data)
	}
	return nil
}

type wireError struct {
	FieldName flexText `json:"FieldName"`
	Message   string   `json:"Message"`
	DIndex    int      `json:"DIndex"`
}

type wireEntity struct {
	ID     flexText `json:"Id"`
	Number string   `json:"Number"`
	DIndex int      `json:"DIndex"`
}

type wireStatus struct {
	ErrorCode      flexText     `json:"ErrorCode"`
	IsSuccess      bool         `json:"IsSuccess"`
	Errors         []wireError  `json:"Errors"`
	SuccessEntitys []wireEntity `json:"SuccessEntitys"`
	MsgCode        int          `json:"MsgCode"`
}

type wireResult struct {
	ResponseStatus *wireStatus     `json:"ResponseStatus"`
	ID             flexText        `json:"Id"`
	Number         string          `json:"Number"`
	Result         json.RawMessage `json:"Result"`
}

type wireReply struct {
	Result *wireResult `json:"Result"`
}

type wireLogin struct {
	LoginResultType int    `json:"LoginResultType"`
	Message         string `json:"Message"`
	KDSVCSessionID  string `json:"KDSVCSessionId"`
}

func protocolError(operation, message string, err error) *connectors.Error {
	return &connectors.Error{
		Kind:      connectors.KindProtocol,
		Connector: ConnectorName,
		Operation: operation,
		Message:   message,
		Err:       err,
	}
}

func decodeLogin(raw []byte) (wireLogin, error) {
	var login wireLogin
	if err := json.Unmarshal(raw, &login); err != nil {
		return wireLogin{}, protocolError("Login", "undecodable login response: "+snippet(raw), err)
	}
	return login, nil
}

// statusOf finds the ResponseStatus in a response, either in the object
// form {"Result": {"ResponseStatus": ...}} or wrapped the way
// ExecuteBillQuery wraps errors: [[{"Result": {"ResponseStatus": ...}}]].
func statusOf(raw []byte) (*wireStatus, bool) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, false
	}
	if trimmed[0] == '[' {
		var rows [][]json.RawMessage
		if err := json.Unmarshal(trimmed, &rows); err != nil || len(rows) == 0 || len(rows[0]) != 1 {
			return nil, false
		}
		trimmed = bytes.TrimSpace(rows[0][0])
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return nil, false
		}
	}
	var reply wireReply
	if err := json.Unmarshal(trimmed, &reply); err != nil || reply.Result == nil || reply.Result.ResponseStatus == nil {
		return nil, false
	}
	return reply.Result.ResponseStatus, true
}

// sessionLost reports whether a response is Kingdee's lost-session error.
func sessionLost(raw []byte) bool {
	status, ok := statusOf(raw)
	if !ok || status.IsSuccess {
		return false
	}
	for _, e := range status.Errors {
		if strings.Contains(e.Message, sessionLostMessage) {
			return true
		}
	}
	return false
}

// decodeWrite decodes the response of Save, Submit, Audit, UnAudit, Delete,
// View and ExcuteOperation. A failed response becomes a classified error.
func decodeWrite(operation string, raw []byte) (*wireResult, error) {
	var reply wireReply
	if err := json.Unmarshal(raw, &reply); err != nil {
		return nil, protocolError(operation, "undecodable response: "+snippet(raw), err)
	}
	if reply.Result == nil || reply.Result.ResponseStatus == nil {
		return nil, protocolError(operation, "response has no Result.ResponseStatus: "+snippet(raw), nil)
	}
	if !reply.Result.ResponseStatus.IsSuccess {
		return nil, statusError(operation, reply.Result.ResponseStatus)
	}
	return reply.Result, nil
}

// rowPattern finds the line number Kingdee writes into messages about an
// entry line ("第2行").
var rowPattern = regexp.MustCompile(`第\s*(\d+)\s*行`)

// statusError classifies a failed ResponseStatus. Field errors are
// validation errors, and so is any other refusal of a Save or a query. A
// document that does not exist is not found. Any other refusal of a status
// change (delete an audited document, audit a draft) is a conflict with the
// document's state.
func statusError(operation string, status *wireStatus) *connectors.Error {
	e := &connectors.Error{
		Connector: ConnectorName,
		Operation: operation,
		Code:      string(status.ErrorCode),
	}
	var messages []string
	for _, item := range status.Errors {
		if item.FieldName == "" {
			messages = append(messages, item.Message)
			continue
		}
		index := -1
		if match := rowPattern.FindStringSubmatch(item.Message); match != nil {
			if n, err := strconv.Atoi(match[1]); err == nil && n > 0 {
				index = n - 1
			}
		}
		e.Fields = append(e.Fields, connectors.FieldError{Field: string(item.FieldName), Message: item.Message, Index: index})
	}
	e.Message = strings.Join(messages, "; ")
	if e.Message == "" && len(e.Fields) == 0 {
		e.Message = "request rejected without a message"
	}

	rejectsRequest := strings.HasPrefix(operation, "Save ") || strings.HasPrefix(operation, "ExecuteBillQuery ")
	switch {
	case sessionLostIn(messages):
		e.Kind = connectors.KindTransient
	case len(e.Fields) > 0:
		e.Kind = connectors.KindValidation
	case notFoundIn(messages):
		e.Kind = connectors.KindNotFound
	case rejectsRequest:
		e.Kind = connectors.KindValidation
	default:
		e.Kind = connectors.KindConflict
	}
	return e
}

func sessionLostIn(messages []string) bool {
	for _, m := range messages {
		if strings.Contains(m, sessionLostMessage) {
			return true
		}
	}
	return false
}

// notFoundIn recognises "单据…不存在" (document does not exist).
//
// NOTE: Kingdee has no documented code for a missing document, so this
// matches the message text.
func notFoundIn(messages []string) bool {
	for _, m := range messages {
		if strings.Contains(m, "不存在") {
			return true
		}
	}
	return false
}

// isDuplicateNumber reports whether a Save failed because the number is
// taken: a field error on the number field.
func isDuplicateNumber(err error, numberField string) bool {
	ce, ok := err.(*connectors.Error)
	if !ok || ce.Kind != connectors.KindValidation {
		return false
	}
	for _, f := range ce.Fields {
		if strings.EqualFold(f.Field, numberField) {
			return true
		}
	}
	return false
}

// decodeRows decodes an ExecuteBillQuery response: a bare two-dimensional
// array of values. An error object in place of the rows becomes a
// classified error.
func decodeRows(operation string, raw []byte) ([][]any, error) {
	trimmed := bytes.TrimSpace(raw)
	if status, ok := statusOf(trimmed); ok {
		if !status.IsSuccess {
			return nil, statusError(operation, status)
		}
		if len(trimmed) > 0 && trimmed[0] == '{' {
			return nil, protocolError(operation, "query returned an object instead of rows: "+snippet(raw), nil)
		}
	}
	decoder := json.NewDecoder(bytes.NewReader(trimmed))
	decoder.UseNumber()
	var rows [][]any
	if err := decoder.Decode(&rows); err != nil {
		return nil, protocolError(operation, "undecodable query rows: "+snippet(raw), err)
	}
	return rows, nil
}

// cellText returns a query cell as text: strings as they are, numbers in
// their JSON form, null as "".
func cellText(value any) string {
	switch v := value.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	encoded, _ := json.Marshal(value)
	return string(encoded)
}

// quote makes a filter literal, doubling quotes inside it.
func quote(value string) string {
	return "'" + strings.ReplaceAll(value, "'", "''") + "'"
}

func validationError(operation, field, message string) *connectors.Error {
	return &connectors.Error{
		Kind:      connectors.KindValidation,
		Connector: ConnectorName,
		Operation: operation,
		Fields:    []connectors.FieldError{{Field: field, Message: message, Index: -1}},
	}
}

func notFoundError(operation, formID, number string) *connectors.Error {
	return &connectors.Error{
		Kind:      connectors.KindNotFound,
		Connector: ConnectorName,
		Operation: operation,
		Message:   fmt.Sprintf("%s %s does not exist", formID, number),
	}
}
