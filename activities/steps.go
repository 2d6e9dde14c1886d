// Package activities holds the side effects of ordo's workflows: calls to
// outside systems through the connectors and writes to ordo's database.
// Activities are methods on structs holding their dependencies; workflows
// reference them by method value.
//
// Retryability is decided here, at the activity boundary: a connector
// error that retrying cannot fix (validation, bad credentials, a conflict)
// becomes a non-retryable Temporal application error whose type names the
// cause, and every other error is returned wrapped for Temporal to retry
// under the workflow's bounded policy.
package activities

// Step names of the contract-to-cash chain as recorded in contract_steps,
// with their display order.
const (
	StepCustomer        = "customer"
	StepSalesOrder      = "sales_order"
	StepProductionOrder = "production_order"
	StepProduction      = "production"
	StepDelivery        = "delivery"
	StepReceivable      = "receivable"
	StepInvoice         = "invoice"
	StepPayment         = "payment"
	StepWriteOff        = "write_off"
	StepClose           = "close"

	StepCancelInvoice         = "cancel_invoice"
	StepCancelReceivable      = "cancel_receivable"
	StepCancelDelivery        = "cancel_delivery"
	StepCancelProductionOrder = "cancel_production_order"
	StepCancelSalesOrder      = "cancel_sales_order"
)

// StepSeq returns the display position of a step.
func StepSeq(step string) int {
	for i, name := range stepOrder {
		if name == step {
			return i + 1
		}
	}
	return len(stepOrder) + 1
}

var stepOrder = []string{
	StepCustomer, StepSalesOrder, StepProductionOrder, StepProduction,
	StepDelivery, StepReceivable, StepInvoice, StepPayment, StepWriteOff, StepClose,
	StepCancelInvoice, StepCancelReceivable, StepCancelDelivery,
	StepCancelProductionOrder, StepCancelSalesOrder,
}
