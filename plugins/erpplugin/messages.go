package erpplugin

import "github.com/ordo-project/ordo/connectors"

// The request and response types below mirror the messages of erp.proto
// field by field; the JSON name of each Go field is the proto field name.
// contract_test.go checks the match.

type pingRequest struct{}

type pingResponse struct{}

type describeRequest struct{}

// DescribeResponse names the plugin's connector, its release and protocol.
type DescribeResponse struct {
	Connector       string `json:"connector"`
	Version         string `json:"version"`
	ProtocolVersion int    `json:"protocol_version"`
}

// wireError carries a *connectors.Error across the process boundary.
type wireError struct {
	Kind       string                  `json:"kind"`
	Connector  string                  `json:"connector"`
	Operation  string                  `json:"operation"`
	StatusCode int                     `json:"status_code"`
	Code       string                  `json:"code"`
	Message    string                  `json:"message"`
	Fields     []connectors.FieldError `json:"fields"`
}

type documentResponse struct {
	Document *connectors.Document `json:"document,omitempty"`
	Error    *wireError           `json:"error,omitempty"`
}

type upsertCustomerRequest struct {
	Customer connectors.Customer `json:"customer"`
}

type ensureSalesOrderRequest struct {
	Order connectors.SalesOrder `json:"order"`
}

type ensureProductionOrderRequest struct {
	Order connectors.ProductionOrder `json:"order"`
}

type getProductionStatusRequest struct {
	Number string `json:"number"`
}

type productionStatusResponse struct {
	Status *connectors.ProductionStatus `json:"status,omitempty"`
	Error  *wireError                   `json:"error,omitempty"`
}

type ensureDeliveryRequest struct {
	Delivery connectors.Delivery `json:"delivery"`
}

type ensureReceivableRequest struct {
	Receivable connectors.Receivable `json:"receivable"`
}

type ensureWriteOffRequest struct {
	WriteOff connectors.WriteOff `json:"write_off"`
}

type ensurePriceChangeRequest struct {
	Change connectors.PriceChange `json:"change"`
}

type getDocumentRequest struct {
	Kind   connectors.DocumentKind `json:"kind"`
	Number string                  `json:"number"`
}

type cancelDocumentRequest struct {
	Kind   connectors.DocumentKind `json:"kind"`
	Number string                  `json:"number"`
}

type cancelDocumentResponse struct {
	Error *wireError `json:"error,omitempty"`
}
