package rest

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ordo-project/ordo/connectors"
)

// UpsertCustomer creates the customer, or finds it by number and, when
// an update_customer endpoint is configured, updates it.
func (c *Client) UpsertCustomer(ctx context.Context, customer connectors.Customer) (connectors.Document, error) {
	_, update := c.cfg.Endpoints["update_customer"]
	if !update || !c.hasFind(connectors.KindCustomer) {
		return c.ensure(ctx, connectors.KindCustomer, customer.Number, customer)
	}
	if customer.Number == "" {
		return connectors.Document{}, missingNumber("update_customer", connectors.KindCustomer)
	}
	found, ok, err := c.find(ctx, connectors.KindCustomer, customer.Number)
	if err != nil {
		return connectors.Document{}, err
	}
	if !ok {
		return c.create(ctx, connectors.KindCustomer, customer.Number, customer)
	}
	body, fields, err := c.requestBody(connectors.KindCustomer, customer)
	if err != nil {
		return connectors.Document{}, err
	}
	if _, err := c.send(ctx, "update_customer", fields, body, ""); err != nil {
		return connectors.Document{}, err
	}
	return found, nil
}

// EnsureSalesOrder creates the sales order or returns the one created
// under the same number.
func (c *Client) EnsureSalesOrder(ctx context.Context, order connectors.SalesOrder) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindSalesOrder, order.Number, order)
}

// EnsureProductionOrder creates the production order or returns the one
// created under the same number.
func (c *Client) EnsureProductionOrder(ctx context.Context, order connectors.ProductionOrder) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindProductionOrder, order.Number, order)
}

// EnsureDelivery creates the delivery or returns the one created under
// the same number.
func (c *Client) EnsureDelivery(ctx context.Context, delivery connectors.Delivery) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindDelivery, delivery.Number, delivery)
}

// EnsureReceivable creates the receivable or returns the one created
// under the same number.
func (c *Client) EnsureReceivable(ctx context.Context, receivable connectors.Receivable) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindReceivable, receivable.Number, receivable)
}

// EnsureWriteOff creates the write-off or returns the one created under
// the same number.
func (c *Client) EnsureWriteOff(ctx context.Context, writeOff connectors.WriteOff) (connectors.Document, error) {
	return c.ensure(ctx, connectors.KindWriteOff, writeOff.Number, writeOff)
}

// EnsurePriceChange writes a price list entry through create_price_list.
func (c *Client) EnsurePriceChange(ctx context.Context, change connectors.PriceChange) (connectors.Document, error) {
	if _, ok := c.cfg.Endpoints["create_"+string(connectors.KindPriceList)]; !ok {
		return connectors.Document{}, c.notConfigured("EnsurePriceChange", "create_price_list", "write price change "+change.Number+" in the ERP by hand")
	}
	return c.ensure(ctx, connectors.KindPriceList, change.Number, change)
}

// GetProductionStatus reads a production order's progress.
func (c *Client) GetProductionStatus(ctx context.Context, number string) (connectors.ProductionStatus, error) {
	if number == "" {
		return connectors.ProductionStatus{}, missingNumber("production_status", connectors.KindProductionOrder)
	}
	r, err := c.send(ctx, "production_status", map[string]string{"number": number}, nil, "")
	if err != nil {
		return connectors.ProductionStatus{}, err
	}
	return c.productionStatus(number, "production_status "+number, r)
}

// CancelDocument calls cancel_<kind>. A document the ERP does not know
// counts as cancelled.
func (c *Client) CancelDocument(ctx context.Context, kind connectors.DocumentKind, number string) error {
	name := "cancel_" + string(kind)
	if _, ok := c.cfg.Endpoints[name]; !ok {
		return c.notConfigured("CancelDocument", name, "cancel "+describe(kind, number)+" in the ERP by hand")
	}
	_, err := c.send(ctx, name, map[string]string{"number": number}, nil, "")
	if connectors.IsNotFound(err) {
		return nil
	}
	return err
}

// ensure makes the document exist exactly once under number. In lookup
// mode it looks the number up first, so a repeat after a lost reply finds
// the document the first attempt created.
func (c *Client) ensure(ctx context.Context, kind connectors.DocumentKind, number string, document any) (connectors.Document, error) {
	if number == "" {
		return connectors.Document{}, missingNumber("create_"+string(kind), kind)
	}
	if c.cfg.Idempotency.Mode == ModeLookup {
		found, ok, err := c.find(ctx, kind, number)
		if err != nil {
			return connectors.Document{}, err
		}
		if ok {
			return found, nil
		}
	}
	return c.create(ctx, kind, number, document)
}

// create calls create_<kind>. After a 409 reply, which means a concurrent
// or earlier create of the same number, it returns the existing document
// when a find endpoint exists.
func (c *Client) create(ctx context.Context, kind connectors.DocumentKind, number string, document any) (connectors.Document, error) {
	name := "create_" + string(kind)
	body, fields, err := c.requestBody(kind, document)
	if err != nil {
		return connectors.Document{}, err
	}
	key := ""
	if c.cfg.Idempotency.Mode == ModeHeader {
		key = number
	}

	r, err := c.send(ctx, name, fields, body, key)
	if connectors.KindOf(err) == connectors.KindConflict && c.hasFind(kind) {
		found, ok, findErr := c.find(ctx, kind, number)
		if findErr == nil && ok {
			return found, nil
		}
	}
	if err != nil {
		return connectors.Document{}, err
	}
	doc, err := c.document(kind, number, name+" "+number, r)
	if err != nil {
		return doc, err
	}
	// In header mode the ERP replies to a repeated key with the document it
	// created before, with 200 in place of 201.
	doc.Created = key == "" || r.status == http.StatusCreated

	if !c.cfg.Idempotency.Verify {
		return doc, nil
	}
	found, ok, err := c.find(ctx, kind, number)
	if err != nil {
		return connectors.Document{}, err
	}
	if !ok {
		return connectors.Document{}, &connectors.Error{
			Kind: connectors.KindTransient, Connector: ConnectorName, Operation: name + " " + number,
			Message: fmt.Sprintf("the ERP acknowledged %s but find_%s returns no such document; the call is retried", describe(kind, number), kind),
		}
	}
	found.Created = doc.Created
	return found, nil
}

func (c *Client) hasFind(kind connectors.DocumentKind) bool {
	_, ok := c.cfg.Endpoints["find_"+string(kind)]
	return ok
}

// find looks a document up by number through find_<kind>; a 404 means
// it does not exist.
func (c *Client) find(ctx context.Context, kind connectors.DocumentKind, number string) (connectors.Document, bool, error) {
	name := "find_" + string(kind)
	if !c.hasFind(kind) {
		return connectors.Document{}, false, c.notConfigured(name, name, "add it, or use idempotency mode header")
	}
	r, err := c.send(ctx, name, map[string]string{"number": number}, nil, "")
	if connectors.IsNotFound(err) {
		return connectors.Document{}, false, nil
	}
	if err != nil {
		return connectors.Document{}, false, err
	}
	doc, err := c.document(kind, number, name+" "+number, r)
	return doc, err == nil, err
}

func (c *Client) notConfigured(operation, endpoint, next string) error {
	return &connectors.Error{
		Kind: connectors.KindValidation, Connector: ConnectorName, Operation: operation,
		Message: fmt.Sprintf("erp.rest.endpoints.%s is not configured: %s", endpoint, next),
	}
}

func missingNumber(operation string, kind connectors.DocumentKind) error {
	return &connectors.Error{
		Kind: connectors.KindValidation, Connector: ConnectorName, Operation: operation,
		Message: fmt.Sprintf("the %s has no number", strings.ReplaceAll(string(kind), "_", " ")),
		Fields:  []connectors.FieldError{{Field: "number", Message: "missing", Index: -1}},
	}
}
