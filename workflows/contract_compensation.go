package workflows

import (
	"fmt"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// compensate reverses, newest first, what the chain did before it was
// cancelled: the invoice by a red-letter invoice, then the receivable,
// delivery, production order and sales order. Money already received is
// handed to a person for refund. A failing reversal parks the chain until
// a person resumes it; it is never skipped.
func (c *contractChain) compensate() error {
	cancel := c.status.Cancel
	if c.status.State != store.ContractCancelling {
		if err := c.setState(store.ContractCancelling, "cancellation requested by "+cancel.RequestedBy+": "+cancel.Reason, nil); err != nil {
			return err
		}
	}
	docs := &c.status.Documents

	if docs.Invoice != nil && docs.Invoice.Status == connectors.InvoiceProcessing {
		if err := c.waitInvoice(docs.Invoice, activities.StepInvoice, c.in.Total); err != nil {
			return err
		}
	}
	if docs.Invoice != nil && docs.Invoice.Status == connectors.InvoiceIssued && !c.stepDone(activities.StepCancelInvoice) {
		if err := c.redLetter(); err != nil {
			return err
		}
	}

	reversals := []struct {
		step string
		kind connectors.DocumentKind
		doc  *connectors.Document
	}{
		{activities.StepCancelReceivable, connectors.KindReceivable, docs.Receivable},
		{activities.StepCancelDelivery, connectors.KindDelivery, docs.Delivery},
		{activities.StepCancelProductionOrder, connectors.KindProductionOrder, docs.ProductionOrder},
		{activities.StepCancelSalesOrder, connectors.KindSalesOrder, docs.SalesOrder},
	}
	for _, r := range reversals {
		if r.doc == nil || c.stepDone(r.step) {
			continue
		}
		input := activities.CancelInput{ContractNo: c.in.ContractNo, Step: r.step, Kind: r.kind, Number: r.doc.Number}
		err := c.attempt(r.step, true, func() error {
			return c.call(c.acts.CancelDocument, input, nil)
		})
		if err != nil {
			return err
		}
		c.markStep(r.step, store.StepDone, r.doc.Number)
	}

	if err := c.flushPayments(); err != nil {
		return err
	}
	progress := activities.Progress{
		ContractNo: c.in.ContractNo, State: store.ContractCancelled, At: workflow.Now(c.waitCtx),
		Reason:     fmt.Sprintf("cancelled by %s: %s", cancel.RequestedBy, cancel.Reason),
		PaidAmount: decimalPtr(c.status.Paid),
	}
	if c.status.Paid.IsPositive() {
		progress.Attention = &activities.AttentionRecord{
			Kind:      store.AttentionRefundDue,
			Reference: c.in.ContractNo,
			Message: fmt.Sprintf("contract %s was cancelled after the customer paid %s %s: refund it",
				c.in.ContractNo, c.status.Paid.StringFixed(2), c.in.Currency),
			Amount: decimal.NullDecimal{Decimal: c.status.Paid, Valid: true},
		}
	}
	if err := c.record(progress); err != nil {
		return err
	}
	c.status.State = store.ContractCancelled
	c.upsertState()
	return nil
}

// redLetter reverses the issued blue invoice and waits for the red one.
func (c *contractChain) redLetter() error {
	docs := &c.status.Documents
	if docs.RedInvoice == nil {
		request := activities.RedLetterInput{
			ContractNo: c.in.ContractNo,
			Total:      c.in.Total,
			Request: connectors.RedLetterRequest{
				SerialNo:          numbering.RedLetterSerial(c.in.ContractNo),
				OriginalSerialNo:  docs.Invoice.SerialNo,
				OriginalInvoiceNo: docs.Invoice.InvoiceNo,
				Reason:            "contract cancelled: " + c.status.Cancel.Reason,
			},
		}
		var red connectors.Invoice
		err := c.attempt(activities.StepCancelInvoice, true, func() error {
			return c.call(c.acts.RedLetterInvoice, request, &red)
		})
		if err != nil {
			return err
		}
		docs.RedInvoice = &red
	}
	if err := c.waitInvoice(docs.RedInvoice, activities.StepCancelInvoice, c.in.Total.Neg()); err != nil {
		return err
	}
	for docs.RedInvoice.Status != connectors.InvoiceIssued {
		// A rejected red-letter request cannot be repeated under its serial;
		// a person must reverse the invoice on the tax platform, then resume.
		cause := fmt.Errorf("red-letter invoice %s failed: %s", docs.RedInvoice.SerialNo, docs.RedInvoice.FailureReason)
		if err := c.parkAndWait(activities.StepCancelInvoice, true, cause); err != nil {
			return err
		}
		query := activities.InvoiceQuery{ContractNo: c.in.ContractNo, SerialNo: docs.RedInvoice.SerialNo,
			Step: activities.StepCancelInvoice, Total: c.in.Total.Neg()}
		if err := c.attempt(activities.StepCancelInvoice, true, func() error {
			return c.call(c.acts.GetInvoice, query, docs.RedInvoice)
		}); err != nil {
			return err
		}
	}
	c.markStep(activities.StepCancelInvoice, store.StepDone, docs.RedInvoice.InvoiceNo)
	return c.record(activities.Progress{ContractNo: c.in.ContractNo, State: c.status.State, At: workflow.Now(c.waitCtx),
		Reason: "invoice reversed by red-letter invoice " + docs.RedInvoice.InvoiceNo,
		Steps:  []activities.StepRecord{invoiceStep(activities.StepCancelInvoice, docs.RedInvoice, c.in.Total.Neg())}})
}

// prepareInvoiceInput describes the blue invoice in the contract's terms;
// PrepareInvoice applies the rates in force on the invoice date.
func (c *contractChain) prepareInvoiceInput(serial string) activities.PrepareInvoiceInput {
	p := c.in.Product
	return activities.PrepareInvoiceInput{
		SerialNo: serial, ContractNo: c.in.ContractNo, Kind: c.in.Invoice.Kind,
		BuyerName: c.in.Customer.Name, BuyerTaxID: c.in.Invoice.BuyerTaxID,
		Currency: c.in.Currency, Total: c.in.Total, Lines: c.orderLines(),
		InvoiceName: p.InvoiceName, Unit: p.Unit, ProductName: p.Name,
	}
}
