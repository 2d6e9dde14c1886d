package store

import (
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
)

// Account is a CRM customer account.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	Name string `bun:"name,pk" json:"name"`
	// CustomerNo is the account's number in the ERP, derived from the name.
	CustomerNo      string              `bun:"customer_no" json:"customer_no"`
	Sector          string              `bun:"sector" json:"sector"`
	YearEstablished *int                `bun:"year_established" json:"year_established,omitempty"`
	RevenueMUSD     decimal.NullDecimal `bun:"revenue_musd" json:"revenue_musd"`
	Employees       *int                `bun:"employees" json:"employees,omitempty"`
	OfficeLocation  string              `bun:"office_location" json:"office_location"`
	SubsidiaryOf    string              `bun:"subsidiary_of" json:"subsidiary_of"`
	// ContactName and ContactPhone are the customer's contact, who
	// receives the renewal SMS. The CRM export carries neither.
	ContactName  string    `bun:"contact_name" json:"contact_name,omitempty"`
	ContactPhone string    `bun:"contact_phone" json:"contact_phone,omitempty"`
	ContentHash  string    `bun:"content_hash" json:"-"`
	CreatedAt    time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at" json:"updated_at"`
}

// Product is a product of the CRM catalogue.
type Product struct {
	bun.BaseModel `bun:"table:products"`

	Name        string              `bun:"name,pk" json:"name"`
	ProductNo   string              `bun:"product_no" json:"product_no"`
	Series      string              `bun:"series" json:"series"`
	SalesPrice  decimal.NullDecimal `bun:"sales_price" json:"sales_price"`
	ContentHash string              `bun:"content_hash" json:"-"`
	CreatedAt   time.Time           `bun:"created_at" json:"created_at"`
	UpdatedAt   time.Time           `bun:"updated_at" json:"updated_at"`
}

// SalesAgent is a sales rep with their manager and region.
type SalesAgent struct {
	bun.BaseModel `bun:"table:sales_agents"`

	Name           string    `bun:"name,pk" json:"name"`
	Manager        string    `bun:"manager" json:"manager"`
	RegionalOffice string    `bun:"regional_office" json:"regional_office"`
	ContentHash    string    `bun:"content_hash" json:"-"`
	CreatedAt      time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time `bun:"updated_at" json:"updated_at"`
}

// Deal stages of the CRM pipeline.
const (
	StageProspecting = "Prospecting"
	StageEngaging    = "Engaging"
	StageWon         = "Won"
	StageLost        = "Lost"
)

// Opportunity is a CRM deal as imported, whatever its stage.
type Opportunity struct {
	bun.BaseModel `bun:"table:opportunities"`

	OpportunityID string              `bun:"opportunity_id,pk" json:"opportunity_id"`
	SalesAgent    string              `bun:"sales_agent" json:"sales_agent"`
	ProductName   string              `bun:"product_name" json:"product_name"`
	AccountName   string              `bun:"account_name" json:"account_name"`
	DealStage     string              `bun:"deal_stage" json:"deal_stage"`
	EngageDate    *time.Time          `bun:"engage_date" json:"engage_date,omitempty"`
	CloseDate     *time.Time          `bun:"close_date" json:"close_date,omitempty"`
	CloseValue    decimal.NullDecimal `bun:"close_value" json:"close_value"`
	Currency      string              `bun:"currency" json:"currency"`
	ContentHash   string              `bun:"content_hash" json:"-"`
	CreatedAt     time.Time           `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time           `bun:"updated_at" json:"updated_at"`
}

// Lead states.
const (
	LeadOpen      = "open"
	LeadContacted = "contacted"
	LeadClosed    = "closed"
)

// Rules a lead's SLA clock applies.
const (
	// LeadSLAFirstContact: the rep must make the first contact by the
	// deadline.
	LeadSLAFirstContact = "first_contact"
	// LeadSLAFollowUp: the rep must follow up by the deadline, counted from
	// the last contact.
	LeadSLAFollowUp = "follow_up"
)

// States of a lead's SLA clock.
const (
	// SLAStarting: the workflow has not computed its first deadline yet.
	SLAStarting = "starting"
	// SLAWaiting: the clock runs and the rep has not been reminded.
	SLAWaiting = "waiting"
	// SLAReminded: the rep was reminded and the deadline has not passed.
	SLAReminded = "reminded"
	// SLAOverdue: the deadline passed and the supervisor was alerted.
	SLAOverdue = "overdue"
	// SLAUntimed: the rules set no deadline for the clock's kind, so the
	// workflow only waits for a contact, a reassignment or the closing.
	SLAUntimed = "untimed"
	// SLAContacted: the rep made the first contact and no follow-up rule
	// applies, so the workflow ended.
	SLAContacted = "contacted"
	// SLAClosed: the lead closed and the workflow ended.
	SLAClosed = "closed"
	// SLACancelled: an operator cancelled the workflow in Temporal.
	SLACancelled = "cancelled"
)

// Lead is an open deal assigned to a rep who must contact the customer.
type Lead struct {
	bun.BaseModel `bun:"table:leads"`

	OpportunityID  string     `bun:"opportunity_id,pk" json:"opportunity_id"`
	SalesAgent     string     `bun:"sales_agent" json:"sales_agent"`
	AccountName    string     `bun:"account_name" json:"account_name"`
	ProductName    string     `bun:"product_name" json:"product_name"`
	Stage          string     `bun:"stage" json:"stage"`
	State          string     `bun:"state" json:"state"`
	AssignedAt     time.Time  `bun:"assigned_at" json:"assigned_at"`
	FirstContactAt *time.Time `bun:"first_contact_at" json:"first_contact_at,omitempty"`
	// Supervisor is the rep's manager in the sales-team data when the lead
	// was assigned; the SLA alert goes to them.
	Supervisor         string     `bun:"supervisor" json:"supervisor,omitempty"`
	LastContactAt      *time.Time `bun:"last_contact_at" json:"last_contact_at,omitempty"`
	LastContactBy      string     `bun:"last_contact_by" json:"last_contact_by,omitempty"`
	LastContactChannel string     `bun:"last_contact_channel" json:"last_contact_channel,omitempty"`

	// WorkflowID names the lead's LeadSLA workflow. WorkflowStartedAt,
	// WorkflowRep and CloseSignalledAt record what ordo sent it: the start,
	// the rep of the last start or reassignment, and when the closing of
	// the lead was signalled.
	WorkflowID        string     `bun:"workflow_id" json:"workflow_id,omitempty"`
	WorkflowStartedAt *time.Time `bun:"workflow_started_at" json:"workflow_started_at,omitempty"`
	WorkflowRep       string     `bun:"workflow_rep" json:"-"`
	CloseSignalledAt  *time.Time `bun:"close_signalled_at" json:"-"`

	// The SLA fields are the workflow's own view of its current clock. They
	// give the rule it applies (LeadSLAFirstContact or LeadSLAFollowUp), its
	// state, the rep it runs for and the rules version. The times are when
	// the clock started, when the rep is reminded and when the deadline
	// passes.
	SLAKind         string     `bun:"sla_kind" json:"sla_kind,omitempty"`
	SLAState        string     `bun:"sla_state" json:"sla_state,omitempty"`
	SLARep          string     `bun:"sla_rep" json:"sla_rep,omitempty"`
	SLARulesVersion int        `bun:"sla_rules_version" json:"sla_rules_version,omitempty"`
	SLAStartedAt    *time.Time `bun:"sla_started_at" json:"sla_started_at,omitempty"`
	SLARemindAt     *time.Time `bun:"sla_remind_at" json:"sla_remind_at,omitempty"`
	SLADeadline     *time.Time `bun:"sla_deadline" json:"sla_deadline,omitempty"`
	RemindedAt      *time.Time `bun:"reminded_at" json:"reminded_at,omitempty"`
	AlertedAt       *time.Time `bun:"alerted_at" json:"alerted_at,omitempty"`

	ContentHash string    `bun:"content_hash" json:"-"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at" json:"updated_at"`
}

// Contract states, in the order a chain normally passes them.
const (
	ContractSigned         = "signed"
	ContractScheduled      = "scheduled"
	ContractInProduction   = "in_production"
	ContractDelivered      = "delivered"
	ContractInvoiced       = "invoiced"
	ContractPaid           = "paid"
	ContractClosed         = "closed"
	ContractNeedsAttention = "needs_attention"
	ContractCancelling     = "cancelling"
	ContractCancelled      = "cancelled"
)

// Contract sources.
const (
	SourceCRMImport = "crm_import"
	SourceWebhook   = "webhook"
)

// Contract is a signed contract and the summary of its chain.
type Contract struct {
	bun.BaseModel `bun:"table:contracts"`

	ContractNo    string          `bun:"contract_no,pk" json:"contract_no"`
	OpportunityID *string         `bun:"opportunity_id" json:"opportunity_id,omitempty"`
	AccountName   string          `bun:"account_name" json:"account_name"`
	CustomerNo    string          `bun:"customer_no" json:"customer_no"`
	ProductName   string          `bun:"product_name" json:"product_name"`
	ProductNo     string          `bun:"product_no" json:"product_no"`
	SalesAgent    string          `bun:"sales_agent" json:"sales_agent"`
	Quantity      decimal.Decimal `bun:"quantity" json:"quantity"`
	UnitPrice     decimal.Decimal `bun:"unit_price" json:"unit_price"`
	// Amount is the tax-inclusive contract total.
	Amount   decimal.Decimal `bun:"amount" json:"amount"`
	Currency string          `bun:"currency" json:"currency"`
	// TaxRate is the VAT rate in force on the signing date.
	TaxRate decimal.Decimal `bun:"tax_rate" json:"tax_rate"`
	// InvoiceTaxRate is the VAT rate of the last invoice requested for the
	// contract, which is the rate in force on the day it was prepared. It is
	// null until an invoice is requested.
	InvoiceTaxRate    decimal.NullDecimal `bun:"invoice_tax_rate" json:"invoice_tax_rate"`
	TaxCode           string              `bun:"tax_code" json:"tax_code"`
	SignedOn          time.Time           `bun:"signed_on" json:"signed_on"`
	Source            string              `bun:"source" json:"source"`
	State             string              `bun:"state" json:"state"`
	StateReason       string              `bun:"state_reason" json:"state_reason,omitempty"`
	PaidAmount        decimal.Decimal     `bun:"paid_amount" json:"paid_amount"`
	WorkflowID        string              `bun:"workflow_id" json:"workflow_id"`
	WorkflowStartedAt *time.Time          `bun:"workflow_started_at" json:"workflow_started_at,omitempty"`
	ClosedAt          *time.Time          `bun:"closed_at" json:"closed_at,omitempty"`
	// EndDate is the last day of the contract term, nil until the
	// contract-signed event, the API or the renewal planner sets it.
	EndDate *time.Time `bun:"end_date" json:"end_date,omitempty"`
	// RenewalState is one of the Renewal* constants.
	RenewalState string `bun:"renewal_state" json:"renewal_state"`
	// RenewalRemindAt is when the renewal reminder fires or fired.
	RenewalRemindAt *time.Time `bun:"renewal_remind_at" json:"renewal_remind_at,omitempty"`
	ContentHash     string     `bun:"content_hash" json:"-"`
	CreatedAt       time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at" json:"updated_at"`
}

// Step states.
const (
	StepPending     = "pending"
	StepRunning     = "running"
	StepDone        = "done"
	StepFailed      = "failed"
	StepCompensated = "compensated"
	StepSkipped     = "skipped"
)

// ContractStep is the recorded progress of one step of a contract's chain.
type ContractStep struct {
	bun.BaseModel `bun:"table:contract_steps"`

	ContractNo string `bun:"contract_no,pk" json:"-"`
	Step       string `bun:"step,pk" json:"step"`
	// Seq orders the steps for display.
	Seq        int                 `bun:"seq" json:"seq"`
	State      string              `bun:"state" json:"state"`
	ExternalNo string              `bun:"external_no" json:"external_no,omitempty"`
	ExternalID string              `bun:"external_id" json:"external_id,omitempty"`
	Amount     decimal.NullDecimal `bun:"amount" json:"amount"`
	Attempts   int                 `bun:"attempts" json:"attempts"`
	Detail     string              `bun:"detail" json:"detail,omitempty"`
	StartedAt  *time.Time          `bun:"started_at" json:"started_at,omitempty"`
	FinishedAt *time.Time          `bun:"finished_at" json:"finished_at,omitempty"`
	UpdatedAt  time.Time           `bun:"updated_at" json:"updated_at"`
}

// Instalment triggers.
const (
	TriggerSigning  = "signing"
	TriggerDelivery = "delivery"
)

// PaymentInstalment is one entry of a contract's payment plan.
type PaymentInstalment struct {
	bun.BaseModel `bun:"table:payment_instalments"`

	ContractNo string          `bun:"contract_no,pk" json:"-"`
	Seq        int             `bun:"seq,pk" json:"seq"`
	Label      string          `bun:"label" json:"label"`
	TriggerOn  string          `bun:"trigger_on" json:"trigger"`
	Ratio      decimal.Decimal `bun:"ratio" json:"ratio"`
	Amount     decimal.Decimal `bun:"amount" json:"amount"`
	PaidAmount decimal.Decimal `bun:"paid_amount" json:"paid_amount"`
	PaidAt     *time.Time      `bun:"paid_at" json:"paid_at,omitempty"`
}

// Bank line statuses.
const (
	LineNew       = "new"
	LineMatched   = "matched"
	LinePartial   = "partially_matched"
	LineUnmatched = "unmatched"
	LineIgnored   = "ignored"
)

// BankLine is a statement line read from the bank.
type BankLine struct {
	bun.BaseModel `bun:"table:bank_lines"`

	LineID          string          `bun:"line_id,pk" json:"line_id"`
	BusinessDate    string          `bun:"business_date" json:"business_date"`
	Amount          decimal.Decimal `bun:"amount" json:"amount"`
	AmountText      string          `bun:"amount_text" json:"amount_text"`
	Currency        string          `bun:"currency" json:"currency"`
	PayerName       string          `bun:"payer_name" json:"payer_name"`
	PayerAccount    string          `bun:"payer_account" json:"payer_account"`
	Remark          string          `bun:"remark" json:"remark"`
	Status          string          `bun:"status" json:"status"`
	AllocatedAmount decimal.Decimal `bun:"allocated_amount" json:"allocated_amount"`
	Note            string          `bun:"note" json:"note,omitempty"`
	FetchedAt       time.Time       `bun:"fetched_at" json:"fetched_at"`
	UpdatedAt       time.Time       `bun:"updated_at" json:"updated_at"`
}

// Allocation methods.
const (
	MatchByRemark      = "remark"
	MatchByPayerAmount = "payer_amount"
	MatchManual        = "manual"
)

// Allocation assigns part or all of a bank line to a contract.
type Allocation struct {
	bun.BaseModel `bun:"table:allocations"`

	// ID is "<line_id>/<contract_no>", so a line is allocated to a
	// contract at most once.
	ID          string          `bun:"id,pk" json:"id"`
	LineID      string          `bun:"line_id" json:"line_id"`
	ContractNo  string          `bun:"contract_no" json:"contract_no"`
	Amount      decimal.Decimal `bun:"amount" json:"amount"`
	Method      string          `bun:"method" json:"method"`
	CreatedBy   string          `bun:"created_by" json:"created_by"`
	CreatedAt   time.Time       `bun:"created_at" json:"created_at"`
	DeliveredAt *time.Time      `bun:"delivered_at" json:"delivered_at,omitempty"`
}

// Attention item kinds.
const (
	AttentionChainParked   = "chain_parked"
	AttentionUnmatchedLine = "unmatched_receipt"
	AttentionOverpayment   = "overpayment"
	AttentionRefundDue     = "refund_due"
	AttentionUndeliverable = "allocation_undeliverable"
)

// AttentionItem is something a person must look at: a parked chain, a
// receipt nobody can match, an over-payment to refund.
type AttentionItem struct {
	bun.BaseModel `bun:"table:attention_items"`

	ID         int64               `bun:"id,pk,autoincrement" json:"id"`
	Kind       string              `bun:"kind" json:"kind"`
	Reference  string              `bun:"reference" json:"reference"`
	ContractNo string              `bun:"contract_no" json:"contract_no,omitempty"`
	Message    string              `bun:"message" json:"message"`
	Amount     decimal.NullDecimal `bun:"amount" json:"amount"`
	CreatedAt  time.Time           `bun:"created_at" json:"created_at"`
	ResolvedAt *time.Time          `bun:"resolved_at" json:"resolved_at,omitempty"`
	ResolvedBy string              `bun:"resolved_by" json:"resolved_by,omitempty"`
	Resolution string              `bun:"resolution" json:"resolution,omitempty"`
}

// WebhookEvent records an accepted inbound event, so a replay is detected.
type WebhookEvent struct {
	bun.BaseModel `bun:"table:webhook_events"`

	EventID    string    `bun:"event_id,pk"`
	Kind       string    `bun:"kind"`
	ContractNo string    `bun:"contract_no"`
	BodySHA256 string    `bun:"body_sha256"`
	ReceivedAt time.Time `bun:"received_at"`
}

// ImportRun is one run of an importer.
type ImportRun struct {
	bun.BaseModel `bun:"table:import_runs"`

	ID         string     `bun:"id,pk" json:"id"`
	Kind       string     `bun:"kind" json:"kind"`
	Source     string     `bun:"source" json:"source"`
	Status     string     `bun:"status" json:"status"`
	Summary    string     `bun:"summary" json:"-"`
	StartedAt  time.Time  `bun:"started_at" json:"started_at"`
	FinishedAt *time.Time `bun:"finished_at" json:"finished_at,omitempty"`
}

// ImportIssue is a defect found in one field of an imported row and what
// the importer did about it.
type ImportIssue struct {
	bun.BaseModel `bun:"table:import_issues"`

	ID       int64  `bun:"id,pk,autoincrement" json:"-"`
	RunID    string `bun:"run_id" json:"-"`
	File     string `bun:"file" json:"file"`
	Line     int    `bun:"line" json:"line"`
	Column   string `bun:"column_name" json:"column"`
	Value    string `bun:"value" json:"value"`
	Severity string `bun:"severity" json:"severity"`
	Action   string `bun:"action" json:"action"`
	Message  string `bun:"message" json:"message"`
}

// Cursor stores the position of a reader of an outside feed.
type Cursor struct {
	bun.BaseModel `bun:"table:cursors"`

	Name      string    `bun:"name,pk"`
	Value     string    `bun:"value"`
	UpdatedAt time.Time `bun:"updated_at"`
}
