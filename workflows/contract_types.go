package workflows

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
)

// ContractToCashName is the registered workflow type name.
const ContractToCashName = "ContractToCash"

// Signal, query and update names of the contract-to-cash workflow.
const (
	SignalPayment             = activities.PaymentSignalName
	SignalProductionCompleted = "production-completed"
	SignalInvoiceUpdated      = "invoice-updated"
	SignalCancel              = "cancel"
	SignalResume              = "resume"
	QueryStatus               = "status"
)

// ContractToCashInput is everything the chain needs, fixed when it starts:
// rule changes made later do not affect a running chain.
type ContractToCashInput struct {
	ContractNo string              `json:"contract_no"`
	Customer   connectors.Customer `json:"customer"`
	SalesAgent string              `json:"sales_agent"`
	SignedOn   time.Time           `json:"signed_on"`
	Currency   string              `json:"currency"`
	Product    ProductLine         `json:"product"`
	// Total is the tax-inclusive contract amount.
	Total   decimal.Decimal `json:"total"`
	Plan    []Instalment    `json:"plan"`
	Invoice InvoiceSettings `json:"invoice"`
	Options ChainOptions    `json:"options"`
	// Resume carries the state of a previous run after continue-as-new.
	Resume *ChainStatus `json:"resume,omitempty"`
}

// ProductLine is the single product line of a contract.
type ProductLine struct {
	Number    string          `json:"number"`
	Name      string          `json:"name"`
	Quantity  decimal.Decimal `json:"quantity"`
	UnitPrice decimal.Decimal `json:"unit_price"`
	TaxRate   decimal.Decimal `json:"tax_rate"`
	TaxCode   string          `json:"tax_code"`
	// InvoiceName and Unit are printed on the invoice.
	InvoiceName string `json:"invoice_name"`
	Unit        string `json:"unit"`
}

// Instalment is one entry of a contract's payment plan.
type Instalment struct {
	Seq     int             `json:"seq"`
	Label   string          `json:"label"`
	Trigger string          `json:"trigger"`
	Amount  decimal.Decimal `json:"amount"`
}

// InvoiceSettings selects the kind of invoice to issue.
type InvoiceSettings struct {
	Kind       string `json:"kind"`
	BuyerTaxID string `json:"buyer_tax_id,omitempty"`
}

// ChainOptions are the timing rules of a chain.
type ChainOptions struct {
	ProductionPollInitial time.Duration `json:"production_poll_initial"`
	ProductionPollMax     time.Duration `json:"production_poll_max"`
	InvoicePollInitial    time.Duration `json:"invoice_poll_initial"`
	InvoicePollMax        time.Duration `json:"invoice_poll_max"`
	ActivityTimeout       time.Duration `json:"activity_timeout"`
	RetryMaxAttempts      int32         `json:"retry_max_attempts"`
	RetryMaxInterval      time.Duration `json:"retry_max_interval"`
	// SearchAttributes enables upserts of OrdoState, which needs the
	// attribute registered on the namespace.
	SearchAttributes bool `json:"search_attributes"`
	// LocalActivities runs the calls to outside systems as local
	// activities.
	LocalActivities bool `json:"local_activities"`
}

// PaymentSignal delivers money matched to the contract. A repeated
// allocation id is ignored.
type PaymentSignal = activities.PaymentSignal

// ProductionCompletedSignal reports a finished production order, usually
// from the ERP's callback.
type ProductionCompletedSignal struct {
	Number      string    `json:"number"`
	CompletedAt time.Time `json:"completed_at"`
}

// InvoiceUpdatedSignal reports a change of an invoice request, usually
// from the e-invoice service's callback.
type InvoiceUpdatedSignal struct {
	Invoice connectors.Invoice `json:"invoice"`
}

// CancelSignal asks the chain to stop and compensate what it did.
type CancelSignal struct {
	Reason      string `json:"reason"`
	RequestedBy string `json:"requested_by"`
}

// ResumeSignal tells a parked chain that the cause was fixed.
type ResumeSignal struct {
	By   string `json:"by"`
	Note string `json:"note"`
}

// StepStatus is the progress of one step as the workflow sees it.
type StepStatus struct {
	Name       string          `json:"name"`
	State      string          `json:"state"`
	ExternalNo string          `json:"external_no,omitempty"`
	Amount     decimal.Decimal `json:"amount"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// Parked describes why a chain waits for a person.
type Parked struct {
	Step      string    `json:"step"`
	Error     string    `json:"error"`
	ErrorType string    `json:"error_type"`
	Since     time.Time `json:"since"`
	Reference string    `json:"reference"`
}

// ChainStatus is the answer to QueryStatus and the state carried over a
// continue-as-new.
type ChainStatus struct {
	ContractNo            string            `json:"contract_no"`
	State                 string            `json:"state"`
	Steps                 []StepStatus      `json:"steps"`
	Total                 decimal.Decimal   `json:"total"`
	Paid                  decimal.Decimal   `json:"paid"`
	InstalmentPaid        []decimal.Decimal `json:"instalment_paid"`
	Parked                *Parked           `json:"parked,omitempty"`
	ParkCount             int               `json:"park_count"`
	Cancel                *CancelSignal     `json:"cancel,omitempty"`
	Allocations           []string          `json:"allocations"`
	ReceiptIDs            []string          `json:"receipt_ids"`
	Documents             ChainDocuments    `json:"documents"`
	ProductionCompletedAt *time.Time        `json:"production_completed_at,omitempty"`
	// InvoiceFailures counts invoice requests the service rejected after
	// accepting them; each retry uses a new serial number.
	InvoiceFailures int `json:"invoice_failures"`
	// Verification is the outcome of the signing verification, nil in
	// chains started before it existed.
	Verification *SigningVerification `json:"verification,omitempty"`
}

// ChainDocuments are the outside documents a chain created.
type ChainDocuments struct {
	Customer        *connectors.Document `json:"customer,omitempty"`
	SalesOrder      *connectors.Document `json:"sales_order,omitempty"`
	ProductionOrder *connectors.Document `json:"production_order,omitempty"`
	Delivery        *connectors.Document `json:"delivery,omitempty"`
	Receivable      *connectors.Document `json:"receivable,omitempty"`
	WriteOff        *connectors.Document `json:"write_off,omitempty"`
	Invoice         *connectors.Invoice  `json:"invoice,omitempty"`
	RedInvoice      *connectors.Invoice  `json:"red_invoice,omitempty"`
}
