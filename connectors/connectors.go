// Package connectors defines the capabilities ordo's activities need from
// outside systems: an ERP, an e-invoice service and a bank. Each capability
// is an interface whose methods take a context first; the subpackages
// implement them for concrete protocols.
//
// Every method that creates a document outside ordo is idempotent on the
// document number or serial number the caller passes in, which ordo derives
// from the contract number and the step. Calling it again after a timeout,
// a crash or a replay returns the existing document instead of creating a
// second one.
package connectors

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// DocumentKind names a business document independently of the ERP's own
// form identifiers.
type DocumentKind string

// Document kinds the contract-to-cash chain creates in the ERP.
const (
	KindCustomer        DocumentKind = "customer"
	KindSalesOrder      DocumentKind = "sales_order"
	KindProductionOrder DocumentKind = "production_order"
	KindDelivery        DocumentKind = "delivery"
	KindReceivable      DocumentKind = "receivable"
	KindWriteOff        DocumentKind = "write_off"
	// KindPriceList is a customer's price list entry written after an
	// approved price change.
	KindPriceList DocumentKind = "price_list"
)

// Document is a reference to a document in an outside system.
type Document struct {
	Kind DocumentKind `json:"kind"`
	// FormID is the outside system's form or object type, e.g. SAL_SaleOrder.
	FormID string `json:"form_id"`
	// Number is the business number, the idempotency key ordo chose.
	Number string `json:"number"`
	// ID is the outside system's internal identifier.
	ID string `json:"id"`
	// Status is the outside system's document status, e.g. "C" (audited).
	Status string `json:"status"`
	// Created is true when this call created the document and false when it
	// found an existing one.
	Created bool `json:"created"`
}

// Customer is the ERP master record for an account.
type Customer struct {
	Number  string `json:"number"`
	Name    string `json:"name"`
	Sector  string `json:"sector,omitempty"`
	Country string `json:"country,omitempty"`
	// ParentName is the group the customer belongs to, if any.
	ParentName string `json:"parent_name,omitempty"`
}

// OrderLine is one product line of an order, delivery or receivable.
// Amounts include VAT.
type OrderLine struct {
	ProductNumber string          `json:"product_number"`
	ProductName   string          `json:"product_name"`
	Quantity      decimal.Decimal `json:"quantity"`
	UnitPrice     decimal.Decimal `json:"unit_price"`
	TaxRate       decimal.Decimal `json:"tax_rate"`
	Amount        decimal.Decimal `json:"amount"`
}

// SalesOrder is the ERP sales order of a signed contract.
type SalesOrder struct {
	Number         string          `json:"number"`
	ContractNo     string          `json:"contract_no"`
	CustomerNumber string          `json:"customer_number"`
	Date           time.Time       `json:"date"`
	Currency       string          `json:"currency"`
	SalesAgent     string          `json:"sales_agent,omitempty"`
	Lines          []OrderLine     `json:"lines"`
	Total          decimal.Decimal `json:"total"`
}

// ProductionOrder asks the factory to build what a sales order sold.
type ProductionOrder struct {
	Number        string          `json:"number"`
	SalesOrderNo  string          `json:"sales_order_no"`
	ContractNo    string          `json:"contract_no"`
	ProductNumber string          `json:"product_number"`
	Quantity      decimal.Decimal `json:"quantity"`
	Date          time.Time       `json:"date"`
}

// ProductionStatus is the progress of a production order.
type ProductionStatus struct {
	Number    string `json:"number"`
	Status    string `json:"status"`
	Completed bool   `json:"completed"`
	// Cancelled is true once the order was closed without completion.
	Cancelled   bool      `json:"cancelled"`
	CompletedAt time.Time `json:"completed_at,omitempty"`
}

// Delivery is the outbound stock document that ships a sales order.
type Delivery struct {
	Number         string      `json:"number"`
	SalesOrderNo   string      `json:"sales_order_no"`
	ContractNo     string      `json:"contract_no"`
	CustomerNumber string      `json:"customer_number"`
	Date           time.Time   `json:"date"`
	Lines          []OrderLine `json:"lines"`
}

// Receivable is the accounts-receivable document for a delivered order.
type Receivable struct {
	Number         string          `json:"number"`
	SalesOrderNo   string          `json:"sales_order_no"`
	ContractNo     string          `json:"contract_no"`
	CustomerNumber string          `json:"customer_number"`
	Date           time.Time       `json:"date"`
	Currency       string          `json:"currency"`
	Total          decimal.Decimal `json:"total"`
}

// WriteOff settles a receivable with the receipts matched to it.
type WriteOff struct {
	Number         string          `json:"number"`
	ReceivableNo   string          `json:"receivable_no"`
	ContractNo     string          `json:"contract_no"`
	CustomerNumber string          `json:"customer_number"`
	Date           time.Time       `json:"date"`
	Currency       string          `json:"currency"`
	Amount         decimal.Decimal `json:"amount"`
	// ReceiptIDs are the bank lines the write-off settles.
	ReceiptIDs []string `json:"receipt_ids"`
}

// ERP is what the contract-to-cash chain needs from an ERP. Ensure methods
// look the document up by number first, create it if missing and drive it
// to the audited state, resuming from whichever step a previous attempt
// stopped at.
type ERP interface {
	UpsertCustomer(ctx context.Context, customer Customer) (Document, error)
	EnsureSalesOrder(ctx context.Context, order SalesOrder) (Document, error)
	EnsureProductionOrder(ctx context.Context, order ProductionOrder) (Document, error)
	GetProductionStatus(ctx context.Context, number string) (ProductionStatus, error)
	EnsureDelivery(ctx context.Context, delivery Delivery) (Document, error)
	EnsureReceivable(ctx context.Context, receivable Receivable) (Document, error)
	EnsureWriteOff(ctx context.Context, writeOff WriteOff) (Document, error)
	// CancelDocument reverses a document: un-audits and deletes it, or
	// force-closes it where the ERP no longer allows deletion. A document
	// that does not exist counts as cancelled.
	CancelDocument(ctx context.Context, kind DocumentKind, number string) error
}

// PriceChange is an approved unit price of one product for one customer.
type PriceChange struct {
	// Number is the idempotency key, derived from the approval ID.
	Number         string `json:"number"`
	ApprovalID     string `json:"approval_id"`
	CustomerNumber string `json:"customer_number"`
	ProductNumber  string `json:"product_number"`
	Currency       string `json:"currency"`
	// UnitPrice is the new tax-inclusive unit price.
	UnitPrice     decimal.Decimal `json:"unit_price"`
	EffectiveFrom time.Time       `json:"effective_from"`
	// ContractNo is the contract the change applies to, if any.
	ContractNo string `json:"contract_no,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// PriceLists writes approved price changes to an ERP. It is separate from
// ERP so that a connector without price lists still serves the
// contract-to-cash chain.
type PriceLists interface {
	// EnsurePriceChange creates and audits the price list entry, or finds
	// the one an earlier call created under the same Number.
	EnsurePriceChange(ctx context.Context, change PriceChange) (Document, error)
}

// Invoice kinds of fully digital VAT invoices (数电发票).
const (
	InvoiceKindSpecial  = "81"
	InvoiceKindOrdinary = "82"
)

// Invoice states reported by an e-invoice service.
const (
	InvoiceProcessing = "processing"
	InvoiceIssued     = "issued"
	InvoiceFailed     = "failed"
	// InvoiceReversed marks a blue invoice offset by a red-letter invoice.
	InvoiceReversed = "reversed"
)

// InvoiceLine is one line of a VAT invoice. Amount and Tax have two
// decimals; UnitPrice and Quantity may carry up to 13.
type InvoiceLine struct {
	Name      string          `json:"name"`
	TaxCode   string          `json:"tax_code"`
	Unit      string          `json:"unit,omitempty"`
	Quantity  decimal.Decimal `json:"quantity"`
	UnitPrice decimal.Decimal `json:"unit_price"`
	Amount    decimal.Decimal `json:"amount"`
	TaxRate   decimal.Decimal `json:"tax_rate"`
	Tax       decimal.Decimal `json:"tax"`
}

// InvoiceRequest asks the e-invoice service to issue a blue invoice.
type InvoiceRequest struct {
	// SerialNo is the request's idempotency key.
	SerialNo   string        `json:"serial_no"`
	ContractNo string        `json:"contract_no"`
	Kind       string        `json:"kind"`
	BuyerName  string        `json:"buyer_name"`
	BuyerTaxID string        `json:"buyer_tax_id,omitempty"`
	Currency   string        `json:"currency"`
	Lines      []InvoiceLine `json:"lines"`
	// TotalAmount, TotalTax and TotalInclusive equal the sums over Lines.
	TotalAmount    decimal.Decimal `json:"total_amount"`
	TotalTax       decimal.Decimal `json:"total_tax"`
	TotalInclusive decimal.Decimal `json:"total_inclusive"`
	Remark         string          `json:"remark,omitempty"`
}

// Invoice is the state of an invoice request.
type Invoice struct {
	SerialNo       string          `json:"serial_no"`
	Status         string          `json:"status"`
	InvoiceNo      string          `json:"invoice_no,omitempty"`
	IssuedAt       time.Time       `json:"issued_at,omitempty"`
	TotalInclusive decimal.Decimal `json:"total_inclusive"`
	FailureReason  string          `json:"failure_reason,omitempty"`
	// RedInvoiceNo is set on a reversed invoice.
	RedInvoiceNo string `json:"red_invoice_no,omitempty"`
}

// RedLetterRequest reverses an issued invoice with a red-letter invoice,
// after the confirmation form (红字确认单) the tax system requires.
type RedLetterRequest struct {
	SerialNo          string `json:"serial_no"`
	OriginalSerialNo  string `json:"original_serial_no"`
	OriginalInvoiceNo string `json:"original_invoice_no"`
	Reason            string `json:"reason"`
}

// EInvoice issues and reverses VAT invoices. Issuing is asynchronous: Issue
// returns a processing invoice and Get reports when it is issued.
type EInvoice interface {
	Issue(ctx context.Context, request InvoiceRequest) (Invoice, error)
	Get(ctx context.Context, serialNo string) (Invoice, error)
	RedLetter(ctx context.Context, request RedLetterRequest) (Invoice, error)
}

// BankLine is one line of a bank account statement.
type BankLine struct {
	// LineID is the bank's unique serial number of the line.
	LineID string `json:"line_id"`
	// BusinessDate is the booking date as the bank writes it, YYYYMMDD.
	BusinessDate string `json:"business_date"`
	// Amount is positive for money received and negative for money paid.
	Amount decimal.Decimal `json:"amount"`
	// AmountText is the amount exactly as the bank sent it.
	AmountText   string `json:"amount_text"`
	Currency     string `json:"currency"`
	PayerName    string `json:"payer_name"`
	PayerAccount string `json:"payer_account"`
	// Remark is free text that may carry a contract or invoice number.
	Remark string `json:"remark"`
}

// Bank lists statement lines of ordo's collection account.
type Bank interface {
	// ListLines returns up to limit lines after cursor, oldest first, and the
	// cursor to pass next time. An empty cursor starts from the beginning.
	ListLines(ctx context.Context, cursor string, limit int) (lines []BankLine, next string, err error)
}
