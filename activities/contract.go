package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/activity"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
)

// ContractActivities are the side effects of the contract-to-cash chain.
type ContractActivities struct {
	ERP       connectors.ERP
	EInvoice  connectors.EInvoice
	Store     *store.Store
	Invoicing InvoiceRules
	Logger    *logrus.Logger
}

// StepResult is what an ERP step created or found.
type StepResult struct {
	Document connectors.Document `json:"document"`
}

// Transition is the contract state an activity records together with its
// step, in the same transaction, once the step succeeded.
type Transition struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// SalesOrderInput asks for the contract's customer and sales order.
type SalesOrderInput struct {
	Customer connectors.Customer   `json:"customer"`
	Order    connectors.SalesOrder `json:"order"`
	Then     Transition            `json:"then"`
}

// SalesOrderResult is what the sales order step created or found.
type SalesOrderResult struct {
	Customer   connectors.Document `json:"customer"`
	SalesOrder connectors.Document `json:"sales_order"`
}

// EnsureSalesOrder creates or updates the customer, then creates the sales
// order, or finds the one a previous attempt created, and drives both to
// audited. The customer must exist before its order, so one activity does
// both and records them as two steps.
func (a *ContractActivities) EnsureSalesOrder(ctx context.Context, in SalesOrderInput) (SalesOrderResult, error) {
	no := in.Order.ContractNo
	if in.Customer.Number == "" || in.Customer.Name == "" {
		return SalesOrderResult{}, invalidInput("contract %s: customer number and name are required", no)
	}
	if len(in.Order.Lines) == 0 {
		return SalesOrderResult{}, invalidInput("contract %s: sales order %s has no lines", no, in.Order.Number)
	}
	customer, err := a.ensure(ctx, no, StepCustomer, decimal.NullDecimal{}, Transition{}, func() (connectors.Document, error) {
		return a.ERP.UpsertCustomer(ctx, in.Customer)
	})
	if err != nil {
		return SalesOrderResult{}, err
	}
	order, err := a.ensure(ctx, no, StepSalesOrder, nullDecimal(in.Order.Total), in.Then, func() (connectors.Document, error) {
		return a.ERP.EnsureSalesOrder(ctx, in.Order)
	})
	if err != nil {
		return SalesOrderResult{}, err
	}
	return SalesOrderResult{Customer: customer.Document, SalesOrder: order.Document}, nil
}

// ProductionOrderInput asks for the contract's production order.
type ProductionOrderInput struct {
	Order connectors.ProductionOrder `json:"order"`
	Then  Transition                 `json:"then"`
}

// EnsureProductionOrder creates and releases the production order.
func (a *ContractActivities) EnsureProductionOrder(ctx context.Context, in ProductionOrderInput) (StepResult, error) {
	return a.ensure(ctx, in.Order.ContractNo, StepProductionOrder, decimal.NullDecimal{}, in.Then, func() (connectors.Document, error) {
		return a.ERP.EnsureProductionOrder(ctx, in.Order)
	})
}

// ProductionStatusInput names the production order to check.
type ProductionStatusInput struct {
	ContractNo string `json:"contract_no"`
	Number     string `json:"number"`
}

// GetProductionStatus reads the progress of a production order.
func (a *ContractActivities) GetProductionStatus(ctx context.Context, in ProductionStatusInput) (connectors.ProductionStatus, error) {
	status, err := a.ERP.GetProductionStatus(ctx, in.Number)
	if err != nil {
		return status, classify(fmt.Sprintf("contract %s: read production order %s", in.ContractNo, in.Number), err)
	}
	return status, nil
}

// DeliveryInput asks for the delivery of a sales order.
type DeliveryInput struct {
	Delivery connectors.Delivery `json:"delivery"`
	// ProductionCompletedAt is recorded as the finish of the production step.
	ProductionCompletedAt time.Time  `json:"production_completed_at"`
	ProductionOrderNo     string     `json:"production_order_no"`
	Then                  Transition `json:"then"`
}

// EnsureDelivery records the completed production and creates the
// outbound delivery.
func (a *ContractActivities) EnsureDelivery(ctx context.Context, in DeliveryInput) (StepResult, error) {
	contractNo := in.Delivery.ContractNo
	completed := in.ProductionCompletedAt.UTC()
	if err := a.Store.RecordStep(ctx, &store.ContractStep{
		ContractNo: contractNo, Step: StepProduction, Seq: StepSeq(StepProduction),
		State: store.StepDone, ExternalNo: in.ProductionOrderNo, FinishedAt: &completed,
	}); err != nil {
		return StepResult{}, err
	}
	return a.ensure(ctx, contractNo, StepDelivery, decimal.NullDecimal{}, in.Then, func() (connectors.Document, error) {
		return a.ERP.EnsureDelivery(ctx, in.Delivery)
	})
}

// ReceivableInput asks for the receivable of a delivered order.
type ReceivableInput struct {
	Receivable connectors.Receivable `json:"receivable"`
}

// EnsureReceivable creates the accounts-receivable document.
func (a *ContractActivities) EnsureReceivable(ctx context.Context, in ReceivableInput) (StepResult, error) {
	return a.ensure(ctx, in.Receivable.ContractNo, StepReceivable, nullDecimal(in.Receivable.Total), Transition{}, func() (connectors.Document, error) {
		return a.ERP.EnsureReceivable(ctx, in.Receivable)
	})
}

// WriteOffInput asks for the write-off of a paid receivable.
type WriteOffInput struct {
	WriteOff connectors.WriteOff `json:"write_off"`
}

// EnsureWriteOff settles the receivable with the matched receipts.
func (a *ContractActivities) EnsureWriteOff(ctx context.Context, in WriteOffInput) (StepResult, error) {
	return a.ensure(ctx, in.WriteOff.ContractNo, StepWriteOff, nullDecimal(in.WriteOff.Amount), Transition{}, func() (connectors.Document, error) {
		return a.ERP.EnsureWriteOff(ctx, in.WriteOff)
	})
}

// CancelInput asks to reverse one ERP document of a contract.
type CancelInput struct {
	ContractNo string                  `json:"contract_no"`
	Step       string                  `json:"step"`
	Kind       connectors.DocumentKind `json:"kind"`
	Number     string                  `json:"number"`
}

// CancelDocument reverses an ERP document during compensation.
func (a *ContractActivities) CancelDocument(ctx context.Context, in CancelInput) error {
	if err := a.ERP.CancelDocument(ctx, in.Kind, in.Number); err != nil {
		return classify(fmt.Sprintf("contract %s: cancel %s %s", in.ContractNo, in.Kind, in.Number), err)
	}
	finished := time.Now().UTC()
	return a.Store.RecordStep(ctx, &store.ContractStep{
		ContractNo: in.ContractNo, Step: in.Step, Seq: StepSeq(in.Step), State: store.StepDone,
		ExternalNo: in.Number, Attempts: int(activity.GetInfo(ctx).Attempt), FinishedAt: &finished,
		Detail: fmt.Sprintf("%s %s cancelled", in.Kind, in.Number),
	})
}

// InvoiceInput asks the e-invoice service for the contract's invoice.
type InvoiceInput struct {
	Request connectors.InvoiceRequest `json:"request"`
}

// IssueInvoice submits the invoice request, or returns the state of the
// request a previous attempt submitted with the same serial number.
func (a *ContractActivities) IssueInvoice(ctx context.Context, in InvoiceInput) (connectors.Invoice, error) {
	req := in.Request
	invoice, err := a.EInvoice.Issue(ctx, req)
	if err != nil {
		return invoice, classify(fmt.Sprintf("contract %s: issue invoice %s", req.ContractNo, req.SerialNo), err)
	}
	if rate, ok := invoiceTaxRate(req); ok {
		if err := store.SetInvoiceTaxRate(ctx, a.Store.DB, req.ContractNo, rate); err != nil {
			return invoice, err
		}
	}
	if err := a.recordInvoice(ctx, req.ContractNo, StepInvoice, invoice, req.TotalInclusive); err != nil {
		return invoice, err
	}
	return invoice, nil
}

// invoiceTaxRate returns the VAT rate of the request's lines, and false when
// the request has no lines or its lines have different rates, which a
// contract of one product never has.
func invoiceTaxRate(req connectors.InvoiceRequest) (decimal.Decimal, bool) {
	if len(req.Lines) == 0 {
		return decimal.Zero, false
	}
	rate := req.Lines[0].TaxRate
	for _, line := range req.Lines[1:] {
		if !line.TaxRate.Equal(rate) {
			return decimal.Zero, false
		}
	}
	return rate, true
}

// InvoiceQuery names an invoice request to check.
type InvoiceQuery struct {
	ContractNo string          `json:"contract_no"`
	SerialNo   string          `json:"serial_no"`
	Step       string          `json:"step"`
	Total      decimal.Decimal `json:"total"`
}

// GetInvoice reads the state of an invoice request and records it.
func (a *ContractActivities) GetInvoice(ctx context.Context, in InvoiceQuery) (connectors.Invoice, error) {
	invoice, err := a.EInvoice.Get(ctx, in.SerialNo)
	if err != nil {
		return invoice, classify(fmt.Sprintf("contract %s: read invoice %s", in.ContractNo, in.SerialNo), err)
	}
	if err := a.recordInvoice(ctx, in.ContractNo, in.Step, invoice, in.Total); err != nil {
		return invoice, err
	}
	return invoice, nil
}

// RedLetterInput asks for the reversal of the contract's invoice.
type RedLetterInput struct {
	ContractNo string                      `json:"contract_no"`
	Request    connectors.RedLetterRequest `json:"request"`
	Total      decimal.Decimal             `json:"total"`
}

// RedLetterInvoice requests the red-letter invoice that reverses the
// contract's blue invoice.
func (a *ContractActivities) RedLetterInvoice(ctx context.Context, in RedLetterInput) (connectors.Invoice, error) {
	invoice, err := a.EInvoice.RedLetter(ctx, in.Request)
	if err != nil {
		return invoice, classify(fmt.Sprintf("contract %s: red-letter invoice %s", in.ContractNo, in.Request.OriginalInvoiceNo), err)
	}
	if err := a.recordInvoice(ctx, in.ContractNo, StepCancelInvoice, invoice, in.Total.Neg()); err != nil {
		return invoice, err
	}
	return invoice, nil
}

func (a *ContractActivities) recordInvoice(ctx context.Context, contractNo, step string, invoice connectors.Invoice, total decimal.Decimal) error {
	record := &store.ContractStep{
		ContractNo: contractNo, Step: step, Seq: StepSeq(step),
		State: store.StepRunning, ExternalNo: invoice.InvoiceNo, ExternalID: invoice.SerialNo,
		Amount: nullDecimal(total), Attempts: int(activity.GetInfo(ctx).Attempt),
		Detail: "invoice " + invoice.Status,
	}
	started := time.Now().UTC()
	record.StartedAt = &started
	switch invoice.Status {
	case connectors.InvoiceIssued:
		record.State = store.StepDone
		issued := invoice.IssuedAt.UTC()
		if invoice.IssuedAt.IsZero() {
			issued = started
		}
		record.FinishedAt = &issued
	case connectors.InvoiceFailed:
		record.State = store.StepFailed
		record.Detail = "invoice failed: " + invoice.FailureReason
	}
	return a.Store.RecordStep(ctx, record)
}

// ensure runs one ERP step and records its outcome, and the transition
// when one is given, in one transaction.
func (a *ContractActivities) ensure(ctx context.Context, contractNo, step string, amount decimal.NullDecimal,
	then Transition, call func() (connectors.Document, error)) (StepResult, error) {
	info := activity.GetInfo(ctx)
	started := info.StartedTime.UTC()
	doc, err := call()
	if err != nil {
		a.Logger.WithFields(logrus.Fields{
			logging.KeyContractNo: contractNo,
			logging.KeyStep:       step,
			logging.KeyAttempt:    info.Attempt,
			logging.KeyError:      err,
		}).Warn("ERP step failed")
		return StepResult{}, classify(fmt.Sprintf("contract %s: %s", contractNo, step), err)
	}
	finished := time.Now().UTC()
	record := &store.ContractStep{
		ContractNo: contractNo, Step: step, Seq: StepSeq(step), State: store.StepDone,
		ExternalNo: doc.Number, ExternalID: doc.ID, Amount: amount,
		Attempts: int(info.Attempt), StartedAt: &started, FinishedAt: &finished,
		Detail: documentDetail(doc),
	}
	err = a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.RecordStep(ctx, tx, record); err != nil {
			return err
		}
		if then.State == "" {
			return nil
		}
		return store.SetContractState(ctx, tx, store.StateChange{
			ContractNo: contractNo, State: then.State, Reason: then.Reason, At: finished,
		})
	})
	if err != nil {
		return StepResult{}, err
	}
	return StepResult{Document: doc}, nil
}

func documentDetail(doc connectors.Document) string {
	verb := "found"
	if doc.Created {
		verb = "created"
	}
	return fmt.Sprintf("%s %s %s, status %s", verb, doc.FormID, doc.Number, doc.Status)
}

func nullDecimal(d decimal.Decimal) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: d, Valid: true}
}

// Progress is a change of a contract's recorded state, written by the
// workflow through a local activity in one transaction.
type Progress struct {
	ContractNo string           `json:"contract_no"`
	State      string           `json:"state,omitempty"`
	Reason     string           `json:"reason"`
	At         time.Time        `json:"at"`
	PaidAmount *decimal.Decimal `json:"paid_amount,omitempty"`
	Steps      []StepRecord     `json:"steps,omitempty"`
	// Instalments carries updated paid amounts of the payment plan.
	Instalments []InstalmentPaid `json:"instalments,omitempty"`
	// Attention, when set, records an item for a person.
	Attention *AttentionRecord `json:"attention,omitempty"`
	// ResolveAttention closes the open item of this kind and reference.
	ResolveAttention *AttentionRecord `json:"resolve_attention,omitempty"`
}

// StepRecord is a step outcome decided by the workflow itself, such as a
// completed wait.
type StepRecord struct {
	Step       string              `json:"step"`
	State      string              `json:"state"`
	ExternalNo string              `json:"external_no,omitempty"`
	Amount     decimal.NullDecimal `json:"amount"`
	Detail     string              `json:"detail,omitempty"`
	StartedAt  *time.Time          `json:"started_at,omitempty"`
	FinishedAt *time.Time          `json:"finished_at,omitempty"`
}

// InstalmentPaid is the paid amount of one instalment.
type InstalmentPaid struct {
	Seq    int             `json:"seq"`
	Paid   decimal.Decimal `json:"paid"`
	PaidAt *time.Time      `json:"paid_at,omitempty"`
}

// AttentionRecord describes an item for a person.
type AttentionRecord struct {
	Kind      string              `json:"kind"`
	Reference string              `json:"reference"`
	Message   string              `json:"message"`
	Amount    decimal.NullDecimal `json:"amount"`
	By        string              `json:"by,omitempty"`
}

// RecordProgress writes a state change of a contract. Every part is an
// idempotent upsert, so a retried local activity writes the same rows.
func (a *ContractActivities) RecordProgress(ctx context.Context, p Progress) error {
	return a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if p.State != "" {
			if err := store.SetContractState(ctx, tx, store.StateChange{
				ContractNo: p.ContractNo, State: p.State, Reason: p.Reason, PaidAmount: p.PaidAmount, At: p.At,
			}); err != nil {
				return err
			}
		}
		for _, s := range p.Steps {
			if err := store.RecordStep(ctx, tx, &store.ContractStep{
				ContractNo: p.ContractNo, Step: s.Step, Seq: StepSeq(s.Step), State: s.State,
				ExternalNo: s.ExternalNo, Amount: s.Amount, Detail: s.Detail,
				StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
			}); err != nil {
				return err
			}
		}
		for _, inst := range p.Instalments {
			if err := store.RecordInstalmentPayment(ctx, tx, p.ContractNo, inst.Seq, inst.Paid, inst.PaidAt); err != nil {
				return err
			}
		}
		if p.Attention != nil {
			if _, err := store.AddAttention(ctx, tx, &store.AttentionItem{
				Kind: p.Attention.Kind, Reference: p.Attention.Reference, ContractNo: p.ContractNo,
				Message: p.Attention.Message, Amount: p.Attention.Amount, CreatedAt: p.At.UTC(),
			}); err != nil {
				return err
			}
		}
		if p.ResolveAttention != nil {
			r := p.ResolveAttention
			if err := store.ResolveAttention(ctx, tx, r.Kind, r.Reference, r.By, r.Message); err != nil {
				return err
			}
		}
		return nil
	})
}
