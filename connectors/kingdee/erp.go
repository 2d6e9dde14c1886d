package kingdee

import (
	"context"
	"fmt"
	"strings"

	"github.com/ordo-project/ordo/connectors"
)

// UpsertCustomer makes sure an audited customer with the number exists and
// carries the name: it creates a missing customer, and renames an existing
// one by un-auditing, saving the new name and auditing it again.
//
// NOTE: Sector, Country and ParentName are not written, because their
// Kingdee fields are assistant data whose numbers differ per data center.
func (c *Client) UpsertCustomer(ctx context.Context, customer connectors.Customer) (connectors.Document, error) {
	form := formsByKind[connectors.KindCustomer]
	switch {
	case customer.Number == "":
		return connectors.Document{}, validationError("Save "+form.id, "FNumber", "the customer number is empty")
	case strings.TrimSpace(customer.Name) == "":
		return connectors.Document{}, validationError("Save "+form.id, "FName", "the customer name is empty")
	}
	build := func() (map[string]any, error) { return c.customerModel(customer), nil }
	state, created, err := c.findOrCreate(ctx, form, customer.Number, build, "FName")
	if err != nil {
		return connectors.Document{}, err
	}
	if !created && state.Extra["FName"] != customer.Name {
		if state, err = c.renameCustomer(ctx, form, state, customer.Name); err != nil {
			return connectors.Document{}, err
		}
	}
	if state, err = c.driveToAudited(ctx, form, state, build); err != nil {
		return connectors.Document{}, err
	}
	return c.document(form, state, created), nil
}

// renameCustomer un-audits a submitted or audited customer, which Kingdee
// requires before a change, and saves the new name.
func (c *Client) renameCustomer(ctx context.Context, form formInfo, state docState, name string) (docState, error) {
	switch state.Status {
	case statusAuditing:
		if err := c.operate(ctx, "UnAudit", form, state.Number); err != nil {
			return state, err
		}
		state.Status = statusCreated
	case statusAudited:
		if err := c.operate(ctx, "UnAudit", form, state.Number); err != nil {
			return state, err
		}
		state.Status = statusReAuditing
	}
	update := map[string]any{form.idField: idValue(state.ID), "FName": name}
	if _, err := c.save(ctx, form, update, []string{"FName"}); err != nil {
		return state, err
	}
	if state.Status == statusDraft {
		state.Status = statusCreated
	}
	c.docLog(form, state.Number).Info("Renamed customer")
	return state, nil
}

// EnsureSalesOrder creates and audits the sales order of a contract.
func (c *Client) EnsureSalesOrder(ctx context.Context, order connectors.SalesOrder) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindSalesOrder, order.Number, func() (map[string]any, error) {
		return c.salesOrderModel(order)
	})
}

// EnsureProductionOrder creates and audits (releases) a production order.
func (c *Client) EnsureProductionOrder(ctx context.Context, order connectors.ProductionOrder) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindProductionOrder, order.Number, func() (map[string]any, error) {
		return c.productionOrderModel(order), nil
	})
}

// GetProductionStatus reads FStatus and the finish time of a production
// order. A missing order is a KindNotFound error.
func (c *Client) GetProductionStatus(ctx context.Context, number string) (connectors.ProductionStatus, error) {
	form := formsByKind[connectors.KindProductionOrder]
	state, found, err := c.lookup(ctx, form, number, "FStatus", "FFinishDate")
	if err != nil {
		return connectors.ProductionStatus{}, err
	}
	if !found {
		return connectors.ProductionStatus{}, notFoundError("ExecuteBillQuery "+form.id, form.id, number)
	}
	status := connectors.ProductionStatus{Number: state.Number, Status: state.Extra["FStatus"]}
	if finished := state.Extra["FFinishDate"]; finished != "" {
		at, err := parseWallClock(finished)
		if err != nil {
			return connectors.ProductionStatus{}, protocolError("ExecuteBillQuery "+form.id, fmt.Sprintf("invalid FFinishDate %q", finished), err)
		}
		status.CompletedAt = at
	}
	status.Completed = status.Status == productionCompleted || !status.CompletedAt.IsZero()
	status.Cancelled = status.Status == productionClosed && !status.Completed
	return status, nil
}

// EnsureDelivery creates and audits the outbound stock document (销售出库单)
// of a sales order.
func (c *Client) EnsureDelivery(ctx context.Context, delivery connectors.Delivery) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindDelivery, delivery.Number, func() (map[string]any, error) {
		return c.deliveryModel(delivery)
	})
}

// EnsureReceivable creates and audits the receivable (应收单) of a
// delivered order, with FALLAMOUNTFOR as the tax-inclusive total.
func (c *Client) EnsureReceivable(ctx context.Context, receivable connectors.Receivable) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindReceivable, receivable.Number, func() (map[string]any, error) {
		return c.receivableModel(receivable)
	})
}

// EnsureWriteOff creates and audits the receive bill (收款单) that settles a
// receivable. Auditing it writes the receivable off.
func (c *Client) EnsureWriteOff(ctx context.Context, writeOff connectors.WriteOff) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindWriteOff, writeOff.Number, func() (map[string]any, error) {
		return c.writeOffModel(writeOff)
	})
}

// EnsurePriceChange creates and audits a price list (销售价目表) holding
// one customer's new unit price of one product. The list's number is the
// change's Number, so a retried call finds the list an earlier call made.
func (c *Client) EnsurePriceChange(ctx context.Context, change connectors.PriceChange) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindPriceList, change.Number, func() (map[string]any, error) {
		return c.priceListModel(change)
	})
}

// CancelDocument reverses a document: it un-audits and deletes it, or
// force-closes a production order that has started or completed. A missing
// document counts as cancelled. A receivable that is written off cannot be
// cancelled until its write-off is, so that is a KindConflict error.
func (c *Client) CancelDocument(ctx context.Context, kind connectors.DocumentKind, number string) error {
	form, ok := formsByKind[kind]
	if !ok {
		return validationError("Cancel", "kind", fmt.Sprintf("unknown document kind %q", kind))
	}
	var extra []string
	if form.id == FormProductionOrder {
		extra = []string{"FStatus"}
	}
	var (
		lastErr  error
		previous string
	)
	// Un-audit, delete and re-reads take at most four rounds, and the extra
	// ones absorb a completion that lands in between.
	for round := 0; round < 6; round++ {
		state, found, err := c.lookup(ctx, form, number, extra...)
		if err != nil {
			return err
		}
		if !found {
			c.docLog(form, number).Info("Document cancelled or never created")
			return nil
		}
		signature := state.Status + "/" + state.Extra["FStatus"]
		if lastErr != nil && signature == previous {
			// The refusal was not caused by a concurrent change.
			return lastErr
		}
		previous = signature

		method := cancelStep(form, state)
		if method == "" {
			c.docLog(form, number).Info("Production order closed")
			return nil
		}
		err = c.operate(ctx, method, form, number)
		switch connectors.KindOf(err) {
		case connectors.KindNotFound:
			return nil
		case connectors.KindConflict:
			lastErr = err
			continue
		}
		if err != nil {
			return err
		}
		lastErr = nil
	}
	if lastErr != nil {
		return lastErr
	}
	return &connectors.Error{
		Kind:      connectors.KindConflict,
		Connector: ConnectorName,
		Operation: "Cancel " + form.id,
		Message:   fmt.Sprintf("%s %s kept changing status and was not cancelled", form.id, number),
	}
}

// cancelStep returns the next step that cancels a document, or "" when a
// production order is already closed.
func cancelStep(form formInfo, state docState) string {
	if form.id == FormProductionOrder {
		switch state.Extra["FStatus"] {
		case productionClosed:
			return ""
		case productionStarted, productionCompleted:
			if state.Status == statusAudited {
				return "ForceClose"
			}
		}
	}
	switch state.Status {
	case statusAuditing, statusAudited:
		return "UnAudit"
	}
	return "Delete"
}
