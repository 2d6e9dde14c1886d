package einvoice

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
)

// Platform envelope codes that the connector branches on.
const (
	codeOK             = "0000"
	codeValidation     = "1001"
	codeSerialConflict = "1002"
	codeStateConflict  = "1003"
	codeNotFound       = "1004"
	codeNonceReused    = "2003"
	codeThrottled      = "3001"
)

// requestSigner adds the platform's authentication headers.
type requestSigner struct {
	appKey    string
	appSecret string
}

// sign sets X-App-Key, X-Timestamp, X-Nonce and X-Signature on request,
// which must have its final URL and body.
func (s requestSigner) sign(request *http.Request, now time.Time) error {
	var body []byte
	if request.GetBody != nil {
		reader, err := request.GetBody()
		if err != nil {
			return fmt.Errorf("read request body to sign: %w", err)
		}
		body, err = io.ReadAll(reader)
		if err != nil {
			return fmt.Errorf("read request body to sign: %w", err)
		}
	}
	nonceBytes := make([]byte, 16)
	if _, err := rand.Read(nonceBytes); err != nil {
		return fmt.Errorf("draw request nonce: %w", err)
	}
	timestamp := strconv.FormatInt(now.UnixMilli(), 10)
	nonce := hex.EncodeToString(nonceBytes)

	request.Header.Set("X-App-Key", s.appKey)
	request.Header.Set("X-Timestamp", timestamp)
	request.Header.Set("X-Nonce", nonce)
	request.Header.Set("X-Signature", RequestSignature(s.appSecret, request.Method, request.URL.RequestURI(), timestamp, nonce, body))
	return nil
}

// RequestSignature returns the hex HMAC-SHA256 that authenticates a
// platform request: over the method, request URI, timestamp, nonce and the
// hex SHA-256 of the body, one per line.
func RequestSignature(secret, method, requestURI, timestamp, nonce string, body []byte) string {
	bodyHash := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + "\n" + requestURI + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(bodyHash[:])))
	return hex.EncodeToString(mac.Sum(nil))
}

// issueWire is the body of POST /v1/invoices. Amounts are strings, so no
// value passes through a float.
type issueWire struct {
	SerialNo       string     `json:"serial_no"`
	ContractNo     string     `json:"contract_no,omitempty"`
	InvoiceKind    string     `json:"invoice_kind"`
	BuyerName      string     `json:"buyer_name"`
	BuyerTaxID     string     `json:"buyer_tax_id,omitempty"`
	Currency       string     `json:"currency,omitempty"`
	Lines          []lineWire `json:"lines"`
	TotalAmount    string     `json:"total_amount"`
	TotalTax       string     `json:"total_tax"`
	TotalInclusive string     `json:"total_inclusive"`
	Remark         string     `json:"remark,omitempty"`
}

type lineWire struct {
	Name      string `json:"name"`
	TaxCode   string `json:"tax_code"`
	Unit      string `json:"unit,omitempty"`
	Quantity  string `json:"quantity,omitempty"`
	UnitPrice string `json:"unit_price,omitempty"`
	Amount    string `json:"amount"`
	TaxRate   string `json:"tax_rate"`
	Tax       string `json:"tax"`
}

// issueWireFrom converts a request to the wire form. Amount and tax keep
// every decimal they have, so the platform, not the connector, rejects a
// value with more than two. A zero quantity or unit price is left out, the
// way a service line without quantity is written.
func issueWireFrom(request connectors.InvoiceRequest) issueWire {
	wire := issueWire{
		SerialNo:       request.SerialNo,
		ContractNo:     request.ContractNo,
		InvoiceKind:    request.Kind,
		BuyerName:      request.BuyerName,
		BuyerTaxID:     request.BuyerTaxID,
		Currency:       request.Currency,
		TotalAmount:    fixed(request.TotalAmount),
		TotalTax:       fixed(request.TotalTax),
		TotalInclusive: fixed(request.TotalInclusive),
		Remark:         request.Remark,
		Lines:          make([]lineWire, len(request.Lines)),
	}
	for i, line := range request.Lines {
		wire.Lines[i] = lineWire{
			Name:    line.Name,
			TaxCode: line.TaxCode,
			Unit:    line.Unit,
			Amount:  fixed(line.Amount),
			TaxRate: line.TaxRate.String(),
			Tax:     fixed(line.Tax),
		}
		if !line.Quantity.IsZero() {
			wire.Lines[i].Quantity = line.Quantity.String()
		}
		if !line.UnitPrice.IsZero() {
			wire.Lines[i].UnitPrice = line.UnitPrice.String()
		}
	}
	return wire
}

// fixed writes an amount with at least two decimals and all the decimals it
// has.
func fixed(d decimal.Decimal) string {
	if d.Exponent() < -2 {
		return d.String()
	}
	return d.StringFixed(2)
}

type redConfirmationWire struct {
	OriginalInvoiceNo string `json:"original_invoice_no"`
	Reason            string `json:"reason"`
}

type redIssueWire struct {
	SerialNo       string `json:"serial_no"`
	ConfirmationNo string `json:"confirmation_no"`
	Reason         string `json:"reason"`
}

// invoiceView is the platform's description of a blue or red request.
type invoiceView struct {
	SerialNo       string `json:"serial_no"`
	Status         string `json:"status"`
	Red            bool   `json:"red"`
	ContractNo     string `json:"contract_no"`
	InvoiceNo      string `json:"invoice_no"`
	IssuedAt       string `json:"issued_at"`
	TotalInclusive string `json:"total_inclusive"`
	FailureReason  string `json:"failure_reason"`
	RedInvoiceNo   string `json:"red_invoice_no"`
}

// invoice converts the view, failing with a protocol error on a status or
// value the connector does not know.
func (v invoiceView) invoice(operation string) (connectors.Invoice, error) {
	protocolErr := func(format string, args ...any) error {
		return &connectors.Error{Kind: connectors.KindProtocol, Connector: ConnectorName, Operation: operation,
			Message: fmt.Sprintf(format, args...)}
	}
	invoice := connectors.Invoice{
		SerialNo:      v.SerialNo,
		InvoiceNo:     v.InvoiceNo,
		FailureReason: v.FailureReason,
		RedInvoiceNo:  v.RedInvoiceNo,
	}
	switch v.Status {
	case "processing":
		invoice.Status = connectors.InvoiceProcessing
	case "issued":
		invoice.Status = connectors.InvoiceIssued
	case "failed":
		invoice.Status = connectors.InvoiceFailed
	case "reversed":
		invoice.Status = connectors.InvoiceReversed
	default:
		return connectors.Invoice{}, protocolErr("unknown invoice status %q of %s", v.Status, v.SerialNo)
	}
	if v.SerialNo == "" {
		return connectors.Invoice{}, protocolErr("invoice reply without serial_no")
	}
	total, err := decimal.NewFromString(v.TotalInclusive)
	if err != nil {
		return connectors.Invoice{}, protocolErr("total_inclusive %q of %s is not a number", v.TotalInclusive, v.SerialNo)
	}
	invoice.TotalInclusive = total
	if v.IssuedAt != "" {
		issuedAt, err := time.Parse(time.RFC3339, v.IssuedAt)
		if err != nil {
			return connectors.Invoice{}, protocolErr("issued_at %q of %s is not an RFC 3339 time", v.IssuedAt, v.SerialNo)
		}
		invoice.IssuedAt = issuedAt
	}
	return invoice, nil
}

type confirmationView struct {
	ConfirmationNo    string `json:"confirmation_no"`
	Status            string `json:"status"`
	OriginalInvoiceNo string `json:"original_invoice_no"`
}

type envelope struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

type fieldErrorsData struct {
	Errors []connectors.FieldError `json:"errors"`
}

// call sends one request, with resty's retries, and decodes the envelope's
// data into result.
func (c *Client) call(ctx context.Context, operation, method, path string, body, result any) error {
	request := c.http.R().SetContext(ctx)
	if body != nil {
		payload, err := json.Marshal(body)
		if err != nil {
			return &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: operation,
				Message: "encode request", Err: err}
		}
		request.SetHeader("Content-Type", "application/json; charset=utf-8").SetBody(payload)
	}
	response, err := request.Execute(method, path)
	if err != nil {
		return &connectors.Error{Kind: connectors.KindTransient, Connector: ConnectorName, Operation: operation,
			Message: "request failed", Err: err}
	}
	return decodeReply(operation, response, result)
}

// decodeReply classifies a reply by its HTTP status, then by the envelope
// code, and decodes data into result on success.
func decodeReply(operation string, response *resty.Response, result any) error {
	status := response.StatusCode()
	var reply envelope
	decodeErr := json.Unmarshal(response.Body(), &reply)

	failure := &connectors.Error{Connector: ConnectorName, Operation: operation, StatusCode: status}
	if decodeErr == nil {
		failure.Code = reply.Code
		failure.Message = reply.Message
	}

	switch {
	case status >= 500:
		failure.Kind = connectors.KindTransient
	case status == http.StatusTooManyRequests:
		failure.Kind = connectors.KindThrottled
	case nonceReused(status, response.Body()):
		failure.Kind = connectors.KindTransient
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		failure.Kind = connectors.KindAuth
	case status == http.StatusNotFound:
		failure.Kind = connectors.KindNotFound
	case status == http.StatusConflict:
		failure.Kind = connectors.KindConflict
	case status >= 400:
		failure.Kind = connectors.KindValidation
		failure.Fields = fieldErrors(reply.Data)
	case status < 200 || status > 299:
		failure.Kind = connectors.KindProtocol
		failure.Message = fmt.Sprintf("unexpected HTTP status %d", status)
	case decodeErr != nil:
		failure.Kind = connectors.KindProtocol
		failure.Message = "reply is not a JSON envelope"
		failure.Err = decodeErr
	case reply.Code != codeOK:
		failure.Kind = kindOfCode(reply.Code)
		failure.Fields = fieldErrors(reply.Data)
	default:
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(reply.Data, result); err != nil {
			failure.Kind = connectors.KindProtocol
			failure.Message = "reply data does not match the expected form"
			failure.Err = err
			return failure
		}
		return nil
	}
	if failure.Message == "" && decodeErr != nil {
		failure.Message = "reply is not a JSON envelope"
	}
	return failure
}

// kindOfCode classifies an error code sent with HTTP 200, which some
// gateways do.
func kindOfCode(code string) connectors.ErrorKind {
	switch code {
	case codeValidation:
		return connectors.KindValidation
	case codeSerialConflict, codeStateConflict:
		return connectors.KindConflict
	case codeNotFound:
		return connectors.KindNotFound
	case codeThrottled:
		return connectors.KindThrottled
	}
	if len(code) == 4 && code[0] == '2' {
		return connectors.KindAuth
	}
	if len(code) == 4 && code[0] == '5' {
		return connectors.KindTransient
	}
	return connectors.KindProtocol
}

func fieldErrors(data json.RawMessage) []connectors.FieldError {
	if len(data) == 0 {
		return nil
	}
	var parsed fieldErrorsData
	if err := json.Unmarshal(data, &parsed); err != nil {
		return nil
	}
	return parsed.Errors
}
