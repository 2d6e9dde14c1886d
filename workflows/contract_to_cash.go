// Package workflows holds ordo's durable business processes. Workflow code
// is deterministic: no I/O, no clock but workflow.Now, no map iteration
// order and no goroutines but workflow.Go. Side effects run in activities.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// OrdoState is the search attribute that shows a chain's state in the
// Temporal Web UI.
var OrdoState = temporal.NewSearchAttributeKeyKeyword("OrdoState")

// errCancelRequested stops the forward path when a cancellation arrived.
var errCancelRequested = errors.New("cancellation requested")

// errContinueAsNew asks run to continue as new at a wait point.
var errContinueAsNew = errors.New("continue as new")

// ContractToCash drives one signed contract through the ERP, the invoice
// and the payments to its write-off, and compensates what it did when it is
// cancelled before the end.
func ContractToCash(ctx workflow.Context, in ContractToCashInput) (ChainStatus, error) {
	c, err := newContractChain(ctx, in)
	if err != nil {
		return ChainStatus{}, err
	}
	return c.run(ctx)
}

// contractChain is the state of one ContractToCash run.
type contractChain struct {
	in     ContractToCashInput
	status ChainStatus
	// rootCtx is the workflow's own context, cancelled when a cancellation
	// is requested through Temporal.
	rootCtx workflow.Context
	logger  log.Logger
	acts    *activities.ContractActivities
	verify  *activities.VerificationActivities
	tasks   *activities.TaskActivities

	// actCtx carries the activity options. It is disconnected from the
	// workflow's cancellation, so compensation still runs after a
	// cancellation requested through Temporal.
	actCtx workflow.Context
	// waitCtx is disconnected too, for the same reason.
	waitCtx workflow.Context

	productionSignal *ProductionCompletedSignal
	invoiceSignal    *connectors.Invoice
	resumeRequested  bool
	paymentsDirty    bool
	temporalCancel   bool
}

func newContractChain(ctx workflow.Context, in ContractToCashInput) (*contractChain, error) {
	if in.ContractNo == "" {
		return nil, temporal.NewNonRetryableApplicationError("contract number is required", activities.ErrTypeInput, nil)
	}
	if len(in.Plan) == 0 {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("contract %s has no payment plan", in.ContractNo), activities.ErrTypeInput, nil)
	}
	c := &contractChain{in: in, logger: workflow.GetLogger(ctx), rootCtx: ctx}
	if in.Resume != nil {
		c.status = *in.Resume
	} else {
		c.status = ChainStatus{
			ContractNo:     in.ContractNo,
			State:          store.ContractSigned,
			Total:          in.Total,
			Paid:           decimal.Zero,
			InstalmentPaid: make([]decimal.Decimal, len(in.Plan)),
		}
		for i := range c.status.InstalmentPaid {
			c.status.InstalmentPaid[i] = decimal.Zero
		}
	}

	disconnected, _ := workflow.NewDisconnectedContext(ctx)
	c.waitCtx = disconnected
	c.actCtx = workflow.WithActivityOptions(disconnected, workflow.ActivityOptions{
		ScheduleToCloseTimeout: c.callBudget(),
		StartToCloseTimeout:    in.Options.ActivityTimeout,
		RetryPolicy:            c.retryPolicy(),
	})

	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (ChainStatus, error) {
		return c.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	c.listen(ctx)
	return c, nil
}

// listen starts the goroutine that receives every signal. Handlers only
// change state; the main path reacts at its next wait. One selector for
// all signals keeps a cached workflow small.
func (c *contractChain) listen(ctx workflow.Context) {
	// Signals are read on the disconnected context, so they are still
	// received while the chain compensates after a Temporal cancellation.
	sigCtx := c.waitCtx
	selector := workflow.NewSelector(sigCtx)
	selector.AddReceive(workflow.GetSignalChannel(sigCtx, SignalPayment), func(ch workflow.ReceiveChannel, _ bool) {
		var p PaymentSignal
		ch.Receive(sigCtx, &p)
		c.applyPayment(p)
	})
	selector.AddReceive(workflow.GetSignalChannel(sigCtx, SignalProductionCompleted), func(ch workflow.ReceiveChannel, _ bool) {
		var s ProductionCompletedSignal
		ch.Receive(sigCtx, &s)
		c.onProductionCompleted(s)
	})
	selector.AddReceive(workflow.GetSignalChannel(sigCtx, SignalInvoiceUpdated), func(ch workflow.ReceiveChannel, _ bool) {
		var s InvoiceUpdatedSignal
		ch.Receive(sigCtx, &s)
		c.onInvoiceUpdated(s)
	})
	selector.AddReceive(workflow.GetSignalChannel(sigCtx, SignalCancel), func(ch workflow.ReceiveChannel, _ bool) {
		var s CancelSignal
		ch.Receive(sigCtx, &s)
		c.requestCancel(s)
	})
	selector.AddReceive(workflow.GetSignalChannel(sigCtx, SignalPhoneVerified), func(ch workflow.ReceiveChannel, _ bool) {
		var s PhoneVerifiedSignal
		ch.Receive(sigCtx, &s)
		c.onPhoneVerified(s)
	})
	selector.AddReceive(workflow.GetSignalChannel(sigCtx, SignalResume), func(ch workflow.ReceiveChannel, _ bool) {
		var s ResumeSignal
		ch.Receive(sigCtx, &s)
		if c.status.Parked != nil {
			c.resumeRequested = true
			c.logger.Info("Resume requested", "By", s.By)
		}
	})
	workflow.Go(sigCtx, func(gctx workflow.Context) {
		for {
			selector.Select(gctx)
		}
	})
}

// noticeTemporalCancel turns a cancellation requested through Temporal
// (Web UI, CLI) into the same request as the cancel signal, so the chain
// compensates before it ends. The request arrives as an event, which
// re-evaluates every wait condition, so checking here needs no goroutine
// per workflow.
func (c *contractChain) noticeTemporalCancel() {
	if c.temporalCancel || c.rootCtx.Err() == nil {
		return
	}
	c.temporalCancel = true
	c.requestCancel(CancelSignal{Reason: "workflow cancellation requested in Temporal", RequestedBy: "temporal"})
}

func (c *contractChain) requestCancel(s CancelSignal) {
	if c.status.Cancel != nil || c.finished() {
		return
	}
	cancel := s
	c.status.Cancel = &cancel
	c.logger.Info("Cancellation requested", "Reason", s.Reason, "RequestedBy", s.RequestedBy)
}

func (c *contractChain) finished() bool {
	switch c.status.State {
	case store.ContractClosed, store.ContractCancelled:
		return true
	}
	return false
}

func (c *contractChain) run(ctx workflow.Context) (ChainStatus, error) {
	err := errCancelRequested
	if c.status.Cancel == nil {
		err = c.forward()
	}
	switch {
	case err == nil:
		return c.status, nil
	case errors.Is(err, errContinueAsNew):
		next := c.in
		snapshot := c.status
		next.Resume = &snapshot
		return c.status, workflow.NewContinueAsNewError(ctx, ContractToCash, next)
	case errors.Is(err, errCancelRequested):
		if err := c.compensate(); err != nil {
			if errors.Is(err, errContinueAsNew) {
				next := c.in
				snapshot := c.status
				next.Resume = &snapshot
				return c.status, workflow.NewContinueAsNewError(ctx, ContractToCash, next)
			}
			return c.status, err
		}
		if c.temporalCancel {
			return c.status, temporal.NewCanceledError(c.status)
		}
		return c.status, nil
	default:
		return c.status, err
	}
}

// forward runs the chain from wherever it stands to closed.
func (c *contractChain) forward() error {
	in := c.in
	no := in.ContractNo
	docs := &c.status.Documents

	if docs.SalesOrder == nil {
		if err := c.verifySigning(); err != nil {
			return err
		}
		input := activities.SalesOrderInput{
			Customer: in.Customer, Order: c.salesOrder(),
			Then: activities.Transition{State: store.ContractScheduled, Reason: "sales order " + numbering.SalesOrderNo(no) + " audited"},
		}
		err := c.attempt(activities.StepSalesOrder, false, func() error {
			var result activities.SalesOrderResult
			if err := c.call(c.acts.EnsureSalesOrder, input, &result); err != nil {
				return err
			}
			docs.Customer, docs.SalesOrder = &result.Customer, &result.SalesOrder
			return nil
		})
		if err != nil {
			return err
		}
		c.markStep(activities.StepCustomer, store.StepDone, docs.Customer.Number)
		c.markStep(activities.StepSalesOrder, store.StepDone, docs.SalesOrder.Number)
		c.status.State = store.ContractScheduled
	}
	if docs.ProductionOrder == nil {
		order := connectors.ProductionOrder{
			Number: numbering.ProductionOrderNo(no), SalesOrderNo: docs.SalesOrder.Number, ContractNo: no,
			ProductNumber: in.Product.Number, Quantity: in.Product.Quantity, Date: in.SignedOn,
		}
		if err := c.ensureStep(activities.StepProductionOrder, &docs.ProductionOrder, c.acts.EnsureProductionOrder,
			activities.ProductionOrderInput{Order: order, Then: activities.Transition{
				State: store.ContractInProduction, Reason: "production order " + order.Number + " released"}}); err != nil {
			return err
		}
		c.status.State = store.ContractInProduction
	}
	if c.status.ProductionCompletedAt == nil {
		if err := c.waitProduction(); err != nil {
			return err
		}
	}
	if docs.Delivery == nil {
		delivery := connectors.Delivery{
			Number: numbering.DeliveryNo(no), SalesOrderNo: docs.SalesOrder.Number, ContractNo: no,
			CustomerNumber: in.Customer.Number, Date: *c.status.ProductionCompletedAt, Lines: c.orderLines(),
		}
		if err := c.ensureStep(activities.StepDelivery, &docs.Delivery, c.acts.EnsureDelivery,
			activities.DeliveryInput{
				Delivery: delivery, ProductionCompletedAt: *c.status.ProductionCompletedAt,
				ProductionOrderNo: docs.ProductionOrder.Number,
				Then:              activities.Transition{State: store.ContractDelivered, Reason: "delivery " + delivery.Number + " audited"},
			}); err != nil {
			return err
		}
		c.status.State = store.ContractDelivered
	}
	if docs.Receivable == nil {
		receivable := connectors.Receivable{
			Number: numbering.ReceivableNo(no), SalesOrderNo: docs.SalesOrder.Number, ContractNo: no,
			CustomerNumber: in.Customer.Number, Date: *c.status.ProductionCompletedAt,
			Currency: in.Currency, Total: in.Total,
		}
		if err := c.ensureStep(activities.StepReceivable, &docs.Receivable, c.acts.EnsureReceivable,
			activities.ReceivableInput{Receivable: receivable}); err != nil {
			return err
		}
	}
	if docs.Invoice == nil || docs.Invoice.Status != connectors.InvoiceIssued {
		if err := c.invoice(); err != nil {
			return err
		}
	}
	if c.status.Paid.LessThan(in.Total) {
		if err := c.await(0, func() bool { return !c.status.Paid.LessThan(in.Total) }); err != nil {
			return err
		}
	}
	if docs.WriteOff == nil {
		c.status.State = store.ContractPaid
		c.paymentsDirty = true
		if err := c.flushPayments(); err != nil {
			return err
		}
		writeOff := connectors.WriteOff{
			Number: numbering.WriteOffNo(no), ReceivableNo: docs.Receivable.Number, ContractNo: no,
			CustomerNumber: in.Customer.Number, Date: workflow.Now(c.waitCtx), Currency: in.Currency,
			Amount: in.Total, ReceiptIDs: c.status.ReceiptIDs,
		}
		if err := c.ensureStep(activities.StepWriteOff, &docs.WriteOff, c.acts.EnsureWriteOff,
			activities.WriteOffInput{WriteOff: writeOff}); err != nil {
			return err
		}
	}
	return c.close()
}

// close records the end of the chain and any over-payment for a person.
func (c *contractChain) close() error {
	now := workflow.Now(c.waitCtx)
	progress := activities.Progress{
		ContractNo: c.in.ContractNo, State: store.ContractClosed, Reason: "written off and closed", At: now,
		PaidAmount: decimalPtr(c.status.Paid),
		Steps: []activities.StepRecord{{
			Step: activities.StepClose, State: store.StepDone, FinishedAt: &now,
			Amount: decimal.NullDecimal{Decimal: c.status.Paid, Valid: true},
		}},
	}
	if excess := c.status.Paid.Sub(c.in.Total); excess.IsPositive() {
		progress.Attention = &activities.AttentionRecord{
			Kind:      store.AttentionOverpayment,
			Reference: c.in.ContractNo,
			Message: fmt.Sprintf("contract %s was paid %s %s more than its total %s: refund the customer or keep it as a credit",
				c.in.ContractNo, excess.StringFixed(2), c.in.Currency, c.in.Total.StringFixed(2)),
			Amount: decimal.NullDecimal{Decimal: excess, Valid: true},
		}
	}
	if err := c.record(progress); err != nil {
		return err
	}
	c.status.State = store.ContractClosed
	c.upsertState()
	return nil
}

// ensureStep runs one ERP activity, parking the chain for a person on a
// failure that retries cannot fix, and stores the document it returns.
func (c *contractChain) ensureStep(step string, target **connectors.Document, fn any, input any) error {
	return c.attempt(step, false, func() error {
		var result activities.StepResult
		if err := c.call(fn, input, &result); err != nil {
			return err
		}
		doc := result.Document
		*target = &doc
		c.markStep(step, store.StepDone, doc.Number)
		return nil
	})
}

// markStep updates the workflow's own view of a step.
func (c *contractChain) markStep(step, state, externalNo string) {
	now := workflow.Now(c.waitCtx)
	for i := range c.status.Steps {
		if c.status.Steps[i].Name == step {
			c.status.Steps[i].State = state
			if externalNo != "" {
				c.status.Steps[i].ExternalNo = externalNo
			}
			c.status.Steps[i].FinishedAt = &now
			return
		}
	}
	c.status.Steps = append(c.status.Steps, StepStatus{Name: step, State: state, ExternalNo: externalNo, FinishedAt: &now})
}

func (c *contractChain) stepDone(step string) bool {
	for _, s := range c.status.Steps {
		if s.Name == step && s.State == store.StepDone {
			return true
		}
	}
	return false
}

// attempt runs fn until it succeeds. A failure parks the chain until a
// person signals resume. Unless compensating, a cancellation ends the
// attempt.
func (c *contractChain) attempt(step string, compensating bool, fn func() error) error {
	for {
		c.noticeTemporalCancel()
		if !compensating && c.status.Cancel != nil {
			return errCancelRequested
		}
		err := fn()
		if err == nil {
			return nil
		}
		if err := c.parkAndWait(step, compensating, err); err != nil {
			return err
		}
	}
}

// parkAndWait parks the chain because of cause and returns once a person
// resumes it, or with errCancelRequested once a cancellation arrives
// (ignored while compensating).
func (c *contractChain) parkAndWait(step string, compensating bool, cause error) error {
	if err := c.park(step, cause); err != nil {
		return err
	}
	waitErr := c.await(0, func() bool {
		return c.resumeRequested || (!compensating && c.status.Cancel != nil)
	})
	if err := c.unpark(); err != nil {
		return err
	}
	if waitErr != nil {
		return waitErr
	}
	if !compensating && c.status.Cancel != nil {
		return errCancelRequested
	}
	return nil
}

// park records that the chain waits for a person because of err.
func (c *contractChain) park(step string, err error) error {
	now := workflow.Now(c.waitCtx)
	errType := ""
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		errType = appErr.Type()
	}
	c.status.ParkCount++
	reference := fmt.Sprintf("%s/%s/%d", c.in.ContractNo, step, c.status.ParkCount)
	c.status.Parked = &Parked{Step: step, Error: rootMessage(err), ErrorType: errType, Since: now, Reference: reference}
	c.resumeRequested = false
	c.logger.Warn("Chain parked for a person", "Step", step, "Error", err)

	previous := c.status.State
	c.status.State = store.ContractNeedsAttention
	c.upsertState()
	c.status.State = previous
	return c.record(activities.Progress{
		ContractNo: c.in.ContractNo, State: store.ContractNeedsAttention, At: now,
		Reason: fmt.Sprintf("step %s failed: %s", step, rootMessage(err)),
		Steps:  []activities.StepRecord{{Step: step, State: store.StepFailed, Detail: rootMessage(err)}},
		Attention: &activities.AttentionRecord{
			Kind: store.AttentionChainParked, Reference: reference,
			Message: fmt.Sprintf("contract %s stopped at step %s: %s. Fix the cause, then run: ordo contract resume %s",
				c.in.ContractNo, step, rootMessage(err), c.in.ContractNo),
		},
	})
}

// unpark clears the parked state after a resume or a cancellation.
func (c *contractChain) unpark() error {
	parked := c.status.Parked
	c.status.Parked = nil
	c.resumeRequested = false
	c.upsertState()
	if parked == nil {
		return nil
	}
	return c.record(activities.Progress{
		ContractNo: c.in.ContractNo, State: c.status.State, At: workflow.Now(c.waitCtx),
		Reason:           "resumed after step " + parked.Step + " failed",
		ResolveAttention: &activities.AttentionRecord{Kind: store.AttentionChainParked, Reference: parked.Reference, Message: "resumed"},
	})
}

// await blocks until cond holds, timeout passes (0 waits without limit) or
// a cancellation arrives. Payments received meanwhile are recorded. It
// returns errCancelRequested on cancellation and errContinueAsNew when the
// history has grown enough to start a fresh run.
func (c *contractChain) await(timeout time.Duration, cond func() bool) error {
	_, err := c.awaitTimed(timeout, cond)
	return err
}

// awaitTimed is await that also reports whether cond held.
func (c *contractChain) awaitTimed(timeout time.Duration, cond func() bool) (bool, error) {
	deadline := workflow.Now(c.waitCtx).Add(timeout)
	for {
		c.noticeTemporalCancel()
		if cond() {
			return true, nil
		}
		if c.status.Cancel != nil && c.status.Parked == nil && !c.compensating() {
			return false, errCancelRequested
		}
		if c.paymentsDirty {
			if err := c.flushPayments(); err != nil {
				return false, err
			}
			continue
		}
		if workflow.GetInfo(c.waitCtx).GetContinueAsNewSuggested() && c.status.Parked == nil {
			return false, errContinueAsNew
		}
		wake := func() bool {
			c.noticeTemporalCancel()
			return cond() || c.paymentsDirty ||
				(c.status.Cancel != nil && c.status.Parked == nil && !c.compensating())
		}
		if timeout <= 0 {
			if err := workflow.Await(c.waitCtx, wake); err != nil {
				return false, err
			}
			continue
		}
		remaining := deadline.Sub(workflow.Now(c.waitCtx))
		if remaining <= 0 {
			return false, nil
		}
		if _, err := workflow.AwaitWithTimeout(c.waitCtx, remaining, wake); err != nil {
			return false, err
		}
	}
}

func (c *contractChain) compensating() bool {
	return c.status.State == store.ContractCancelling
}

// waitProduction waits for the production order to complete: a callback
// signal ends the wait at once, and without one the order's status is
// polled with exponential backoff.
func (c *contractChain) waitProduction() error {
	number := c.status.Documents.ProductionOrder.Number
	backoff := c.in.Options.ProductionPollInitial
	for c.status.ProductionCompletedAt == nil {
		signalled, err := c.awaitTimed(backoff, func() bool { return c.productionSignal != nil })
		if err != nil {
			return err
		}
		if signalled {
			at := c.productionSignal.CompletedAt
			if at.IsZero() {
				at = workflow.Now(c.waitCtx)
			}
			c.status.ProductionCompletedAt = &at
			break
		}
		var status connectors.ProductionStatus
		err = c.attempt(activities.StepProduction, false, func() error {
			return c.call(c.acts.GetProductionStatus,
				activities.ProductionStatusInput{ContractNo: c.in.ContractNo, Number: number}, &status)
		})
		if err != nil {
			return err
		}
		if status.Completed {
			at := status.CompletedAt
			if at.IsZero() {
				at = workflow.Now(c.waitCtx)
			}
			c.status.ProductionCompletedAt = &at
			break
		}
		if status.Cancelled {
			cause := temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("production order %s was closed in the ERP without completing", number),
				activities.ErrTypeConflict, nil)
			if err := c.parkAndWait(activities.StepProduction, false, cause); err != nil {
				return err
			}
			continue
		}
		backoff = min(backoff*2, c.in.Options.ProductionPollMax)
	}
	return nil
}

func (c *contractChain) onProductionCompleted(s ProductionCompletedSignal) {
	order := c.status.Documents.ProductionOrder
	if order != nil && s.Number != "" && s.Number != order.Number {
		c.logger.Warn("Ignoring completion of another production order", "Number", s.Number, "Expected", order.Number)
		return
	}
	if c.productionSignal == nil {
		signal := s
		c.productionSignal = &signal
	}
}

func (c *contractChain) onInvoiceUpdated(s InvoiceUpdatedSignal) {
	inv := s.Invoice
	if inv.SerialNo != c.invoiceSerial() && inv.SerialNo != numbering.RedLetterSerial(c.in.ContractNo) {
		c.logger.Warn("Ignoring update of another invoice", "SerialNo", inv.SerialNo)
		return
	}
	c.invoiceSignal = &inv
}

// invoiceSerial is the serial of the current blue invoice request. A
// request that failed asynchronously is retried under a new serial, because
// the service answers a repeated serial with the failed request.
func (c *contractChain) invoiceSerial() string {
	serial := numbering.InvoiceSerial(c.in.ContractNo)
	if c.status.InvoiceFailures > 0 {
		return fmt.Sprintf("%s-R%d", serial, c.status.InvoiceFailures)
	}
	return serial
}

// invoice requests the blue invoice and waits until it is issued.
func (c *contractChain) invoice() error {
	docs := &c.status.Documents
	for {
		serial := c.invoiceSerial()
		if docs.Invoice == nil || docs.Invoice.SerialNo != serial {
			var request connectors.InvoiceRequest
			var invoice connectors.Invoice
			err := c.attempt(activities.StepInvoice, false, func() error {
				if request.SerialNo != serial {
					// Preparing only reads the configuration, so it runs as a
					// local activity; its result is recorded in the history, so
					// every retry below sends the same request.
					if err := workflow.ExecuteLocalActivity(c.localCtx(), c.acts.PrepareInvoice,
						c.prepareInvoiceInput(serial)).Get(c.waitCtx, &request); err != nil {
						return err
					}
				}
				return c.call(c.acts.IssueInvoice, activities.InvoiceInput{Request: request}, &invoice)
			})
			if err != nil {
				return err
			}
			docs.Invoice = &invoice
		}
		if err := c.waitInvoice(docs.Invoice, activities.StepInvoice, c.in.Total); err != nil {
			return err
		}
		if docs.Invoice.Status == connectors.InvoiceIssued {
			c.markStep(activities.StepInvoice, store.StepDone, docs.Invoice.InvoiceNo)
			return c.setState(store.ContractInvoiced, "invoice "+docs.Invoice.InvoiceNo+" issued",
				[]activities.StepRecord{invoiceStep(activities.StepInvoice, docs.Invoice, c.in.Total)})
		}
		// The tax platform rejected the request after accepting it.
		c.status.InvoiceFailures++
		c.markStep(activities.StepInvoice, store.StepFailed, "")
		cause := temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invoice %s was rejected by the e-invoice service: %s", docs.Invoice.SerialNo, docs.Invoice.FailureReason),
			activities.ErrTypeValidation, nil)
		if err := c.parkAndWait(activities.StepInvoice, false, cause); err != nil {
			return err
		}
	}
}

// invoiceStep records an invoice's outcome as its step.
func invoiceStep(step string, invoice *connectors.Invoice, total decimal.Decimal) activities.StepRecord {
	record := activities.StepRecord{
		Step: step, State: store.StepDone, ExternalNo: invoice.InvoiceNo,
		Amount: decimal.NullDecimal{Decimal: total, Valid: true}, Detail: "invoice " + invoice.Status,
	}
	if invoice.Status != connectors.InvoiceIssued {
		record.State = store.StepFailed
		record.Detail = "invoice " + invoice.Status + ": " + invoice.FailureReason
	}
	if !invoice.IssuedAt.IsZero() {
		issued := invoice.IssuedAt
		record.FinishedAt = &issued
	}
	return record
}

// waitInvoice waits until the invoice request leaves the processing state.
// The e-invoice service's callback ends the wait at once; without it the
// request is polled with backoff.
func (c *contractChain) waitInvoice(invoice *connectors.Invoice, step string, total decimal.Decimal) error {
	backoff := c.in.Options.InvoicePollInitial
	for invoice.Status == connectors.InvoiceProcessing {
		serial := invoice.SerialNo
		signalled, err := c.awaitTimed(backoff, func() bool {
			return c.invoiceSignal != nil && c.invoiceSignal.SerialNo == serial
		})
		if err != nil {
			return err
		}
		if signalled {
			*invoice = *c.invoiceSignal
			c.invoiceSignal = nil
			continue
		}
		query := activities.InvoiceQuery{ContractNo: c.in.ContractNo, SerialNo: serial, Step: step, Total: total}
		if err := c.attempt(step, c.compensating(), func() error {
			return c.call(c.acts.GetInvoice, query, invoice)
		}); err != nil {
			return err
		}
		backoff = min(backoff*2, c.in.Options.InvoicePollMax)
	}
	return nil
}

// applyPayment books an allocation once, filling the instalments in plan
// order. Money beyond the last instalment stays in Paid as over-payment.
func (c *contractChain) applyPayment(p PaymentSignal) {
	for _, seen := range c.status.Allocations {
		if seen == p.AllocationID {
			return
		}
	}
	if !p.Amount.IsPositive() {
		c.logger.Warn("Ignoring payment with a non-positive amount", "AllocationID", p.AllocationID, "Amount", p.Amount.String())
		return
	}
	c.status.Allocations = append(c.status.Allocations, p.AllocationID)
	if !containsString(c.status.ReceiptIDs, p.LineID) {
		c.status.ReceiptIDs = append(c.status.ReceiptIDs, p.LineID)
	}
	c.status.Paid = c.status.Paid.Add(p.Amount)
	remaining := p.Amount
	for i, inst := range c.in.Plan {
		open := inst.Amount.Sub(c.status.InstalmentPaid[i])
		if !open.IsPositive() || !remaining.IsPositive() {
			continue
		}
		applied := decimal.Min(open, remaining)
		c.status.InstalmentPaid[i] = c.status.InstalmentPaid[i].Add(applied)
		remaining = remaining.Sub(applied)
	}
	c.paymentsDirty = true
}

// flushPayments records the paid amounts after new payments.
func (c *contractChain) flushPayments() error {
	if !c.paymentsDirty {
		return nil
	}
	c.paymentsDirty = false
	now := workflow.Now(c.waitCtx)
	progress := activities.Progress{ContractNo: c.in.ContractNo, At: now, PaidAmount: decimalPtr(c.status.Paid)}
	for i, inst := range c.in.Plan {
		paid := c.status.InstalmentPaid[i]
		var paidAt *time.Time
		if !paid.LessThan(inst.Amount) {
			paidAt = &now
		}
		progress.Instalments = append(progress.Instalments, activities.InstalmentPaid{Seq: inst.Seq, Paid: paid, PaidAt: paidAt})
	}
	stepState := store.StepRunning
	var finished *time.Time
	if !c.status.Paid.LessThan(c.in.Total) {
		stepState = store.StepDone
		finished = &now
	}
	progress.Steps = []activities.StepRecord{{
		Step: activities.StepPayment, State: stepState, FinishedAt: finished,
		Amount: decimal.NullDecimal{Decimal: c.status.Paid, Valid: true},
		Detail: fmt.Sprintf("%d receipt(s), %s of %s paid", len(c.status.ReceiptIDs),
			c.status.Paid.StringFixed(2), c.in.Total.StringFixed(2)),
	}}
	// The contract row shows the chain's state; a payment changes only the
	// paid amount.
	progress.State = c.status.State
	if c.awaitingVerification() {
		progress.State = store.ContractNeedsAttention
	}
	progress.Reason = progress.Steps[0].Detail
	return c.record(progress)
}

// setState moves the chain to a new state and records it.
func (c *contractChain) setState(state, reason string, steps []activities.StepRecord) error {
	c.status.State = state
	return c.record(activities.Progress{
		ContractNo: c.in.ContractNo, State: state, Reason: reason, At: workflow.Now(c.waitCtx), Steps: steps,
	})
}

// record writes progress through a local activity. A failure after the
// retries is logged and the chain goes on: the workflow's own state stays
// right and the next record repairs the row.
func (c *contractChain) record(p activities.Progress) error {
	ctx := c.localCtx()
	if err := workflow.ExecuteLocalActivity(ctx, c.acts.RecordProgress, p).Get(ctx, nil); err != nil {
		c.logger.Error("Recording progress failed", "State", p.State, "Error", err)
	}
	return nil
}

// call runs an activity that talks to an outside system: as a local
// activity when the chain's options say so, else as a regular one. Local
// activities run inside the workflow task, so consecutive calls cost no
// round trip through the server; regular ones show each pending attempt in
// the Temporal Web UI. Both retry under the same bounded policy, and both
// may run again after a crash, which the calls' idempotency keys absorb.
func (c *contractChain) call(fn any, input any, result any) error {
	if c.in.Options.LocalActivities {
		ctx := workflow.WithLocalActivityOptions(c.waitCtx, workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: c.callBudget(),
			StartToCloseTimeout:    c.in.Options.ActivityTimeout,
			RetryPolicy:            c.retryPolicy(),
		})
		return workflow.ExecuteLocalActivity(ctx, fn, input).Get(ctx, result)
	}
	return workflow.ExecuteActivity(c.actCtx, fn, input).Get(c.actCtx, result)
}

// callBudget bounds all attempts of a call: every attempt may use its full
// timeout and wait the longest backoff, so MaximumAttempts stays the bound
// that counts. Without it the SDK takes StartToClose as the local
// activity's ScheduleToClose, so an attempt that timed out was never
// retried.
func (c *contractChain) callBudget() time.Duration {
	o := c.in.Options
	if o.RetryMaxAttempts <= 0 {
		// Unlimited attempts get a day; a chain still failing then needs a person.
		return 24 * time.Hour
	}
	return time.Duration(o.RetryMaxAttempts) * (o.ActivityTimeout + o.RetryMaxInterval)
}

func (c *contractChain) retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    c.in.Options.RetryMaxInterval,
		MaximumAttempts:    c.in.Options.RetryMaxAttempts,
	}
}

// localCtx carries the options of local activities: short attempts,
// retried with backoff for up to ten minutes.
func (c *contractChain) localCtx() workflow.Context {
	return workflow.WithLocalActivityOptions(c.waitCtx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
}

// upsertState shows the state in the Temporal Web UI. It runs only when a
// chain parks, resumes or ends: each upsert is a visibility write, and
// ordo's own API shows every state.
func (c *contractChain) upsertState() {
	if !c.in.Options.SearchAttributes {
		return
	}
	state := c.status.State
	if c.status.Parked != nil || c.awaitingVerification() {
		state = store.ContractNeedsAttention
	}
	if err := workflow.UpsertTypedSearchAttributes(c.waitCtx, OrdoState.ValueSet(state)); err != nil {
		c.logger.Warn("Search attribute upsert failed", "Error", err)
	}
}

func (c *contractChain) salesOrder() connectors.SalesOrder {
	return connectors.SalesOrder{
		Number: numbering.SalesOrderNo(c.in.ContractNo), ContractNo: c.in.ContractNo,
		CustomerNumber: c.in.Customer.Number, Date: c.in.SignedOn, Currency: c.in.Currency,
		SalesAgent: c.in.SalesAgent, Lines: c.orderLines(), Total: c.in.Total,
	}
}

func (c *contractChain) orderLines() []connectors.OrderLine {
	p := c.in.Product
	return []connectors.OrderLine{{
		ProductNumber: p.Number, ProductName: p.Name, Quantity: p.Quantity,
		UnitPrice: p.UnitPrice, TaxRate: p.TaxRate, Amount: c.in.Total,
	}}
}

func decimalPtr(d decimal.Decimal) *decimal.Decimal { return &d }

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// rootMessage returns the message of the innermost error, which for an
// activity failure is the activity's own error text.
func rootMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
