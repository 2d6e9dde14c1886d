package sapb1

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/plugins/erpplugin"
)

// User-defined fields a site adds to the document tables for ordo.
const (
	FieldOrdoNo     = "U_ORDO_NO"
	FieldContractNo = "U_ORDO_CONTRACT"
)

// entityOf maps ordo's document kinds to Service Layer entity sets.
var entityOf = map[connectors.DocumentKind]string{
	connectors.KindCustomer:        "BusinessPartners",
	connectors.KindSalesOrder:      "Orders",
	connectors.KindProductionOrder: "ProductionOrders",
	connectors.KindDelivery:        "DeliveryNotes",
	connectors.KindReceivable:      "Invoices",
	connectors.KindWriteOff:        "IncomingPayments",
	connectors.KindPriceList:       "SpecialPrices",
}

// keyFieldOf is the key property of an entity set other than
// BusinessPartners.
func keyFieldOf(entity string) string {
	if entity == "ProductionOrders" {
		return "AbsoluteEntry"
	}
	return "DocEntry"
}

// ERP implements erpplugin.ERP against the Service Layer.
//
// NOTE: the plugin contract (erp.proto version 1) has no change listing,
// so ordo schedules no ERP sync (internal/erpsync) for a plugin ERP.
type ERP struct {
	client *Client
	// locks serialise calls for the same document number in this process,
	// so two concurrent Ensure calls cannot both miss the lookup.
	locks keyedLocks
}

// keyedLocks is a mutex per key, kept only while a caller holds or waits
// for it.
type keyedLocks struct {
	mu   sync.Mutex
	held map[string]*keyLock
}

type keyLock struct {
	mu sync.Mutex
	// users counts the callers holding or waiting for mu.
	users int
}

// lock locks key and returns the function that unlocks it.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.held == nil {
		k.held = map[string]*keyLock{}
	}
	l := k.held[key]
	if l == nil {
		l = &keyLock{}
		k.held[key] = l
	}
	l.users++
	k.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
}

var (
	_ erpplugin.ERP       = (*ERP)(nil)
	_ erpplugin.Describer = (*ERP)(nil)
)

// New returns the connector for cfg.
func New(cfg Config) (*ERP, error) {
	client, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &ERP{client: client}, nil
}

// Client returns the Service Layer client, for tests.
func (e *ERP) Client() *Client { return e.client }

// Describe names the connector for `ordo plugin verify`.
func (e *ERP) Describe() (string, string) { return ConnectorName, Version }

func (e *ERP) lock(number string) func() { return e.locks.lock(number) }

func money(d decimal.Decimal) json.Number { return json.Number(d.String()) }

func day(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02")
}

func str(body map[string]any, name string) string {
	switch v := body[name].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func required(operation string, fields map[string]string) error {
	var missing []connectors.FieldError
	for field, value := range fields {
		if strings.TrimSpace(value) == "" {
			missing = append(missing, connectors.FieldError{Field: field, Message: "required", Index: -1})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: operation,
		Message: "the request misses required fields", Fields: missing}
}

// toDocument describes a stored entity.
func toDocument(kind connectors.DocumentKind, entity, number string, body map[string]any, created bool) connectors.Document {
	doc := connectors.Document{Kind: kind, FormID: entity, Number: number, Created: created}
	switch entity {
	case "BusinessPartners":
		doc.ID = str(body, "CardCode")
		doc.Status = str(body, "Valid")
	case "ProductionOrders":
		doc.ID = str(body, "AbsoluteEntry")
		doc.Status = str(body, "ProductionOrderStatus")
	default:
		doc.ID = str(body, "DocEntry")
		doc.Status = str(body, "DocumentStatus")
		if str(body, "Cancelled") == "tYES" {
			doc.Status = "cancelled"
		}
	}
	return doc
}

// find looks a document up by U_ORDO_NO. It returns found=false when
// there is none.
func (e *ERP) find(ctx context.Context, entity, number string) (map[string]any, bool, error) {
	query := url.Values{}
	query.Set("$filter", FieldOrdoNo+" eq "+quote(number))
	rows, err := e.client.list(ctx, entity, query)
	if err != nil {
		return nil, false, err
	}
	if len(rows) == 0 {
		return nil, false, nil
	}
	if len(rows) > 1 {
		erpplugin.Logger().Warn("several documents carry the same ordo number; using the first",
			"entity", entity, "document_no", number, "count", len(rows))
	}
	return rows[0], true, nil
}

// mustFind looks up a document another one refers to and fails with a
// validation error naming field when it is missing.
func (e *ERP) mustFind(ctx context.Context, operation, entity, number, field string) (map[string]any, error) {
	body, found, err := e.find(ctx, entity, number)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: operation,
			Message: fmt.Sprintf("%s %s does not exist in SAP Business One; create it first", entity, number),
			Fields:  []connectors.FieldError{{Field: field, Message: "refers to a missing document", Index: -1}}}
	}
	return body, nil
}

// ensure finds the document numbered number or creates it from build.
// When the Service Layer rejects the create because the number exists
// (the site's SBO_SP_TransactionNotification check after a reply lost
// earlier), ensure returns the existing document.
func (e *ERP) ensure(ctx context.Context, kind connectors.DocumentKind, number, contractNo string, build func(ctx context.Context) (map[string]any, error)) (connectors.Document, error) {
	entity := entityOf[kind]
	operation := "ensure " + entity
	if err := required(operation, map[string]string{"number": number}); err != nil {
		return connectors.Document{}, err
	}

	defer e.lock(number)()
	if body, found, err := e.find(ctx, entity, number); err != nil {
		return connectors.Document{}, err
	} else if found {
		return toDocument(kind, entity, number, body, false), nil
	}

	body, err := build(ctx)
	if err != nil {
		return connectors.Document{}, err
	}
	body[FieldOrdoNo] = number
	body[FieldContractNo] = contractNo

	var created map[string]any
	err = e.client.call(ctx, http.MethodPost, entity, body, &created)
	var ce *connectors.Error
	if errors.As(err, &ce) && ce.Kind == connectors.KindValidation {
		if existing, found, findErr := e.find(ctx, entity, number); findErr == nil && found {
			return toDocument(kind, entity, number, existing, false), nil
		}
	}
	if err != nil {
		return connectors.Document{}, err
	}

	erpplugin.Logger().Info("created document", "entity", entity, "document_no", number, "contract_no", contractNo,
		"doc_entry", str(created, keyFieldOf(entity)))
	return toDocument(kind, entity, number, created, true), nil
}

// UpsertCustomer creates the business partner with CardCode = number, or
// renames an existing one whose name changed.
func (e *ERP) UpsertCustomer(ctx context.Context, customer connectors.Customer) (connectors.Document, error) {
	const operation = "upsert BusinessPartners"
	if err := required(operation, map[string]string{"number": customer.Number, "name": customer.Name}); err != nil {
		return connectors.Document{}, err
	}

	defer e.lock(customer.Number)()
	path := "BusinessPartners(" + quote(customer.Number) + ")"
	var existing map[string]any
	err := e.client.call(ctx, http.MethodGet, path, nil, &existing)
	switch {
	case err == nil:
		if str(existing, "CardName") != customer.Name {
			if err := e.client.call(ctx, http.MethodPatch, path, map[string]any{"CardName": customer.Name}, nil); err != nil {
				return connectors.Document{}, err
			}
			existing["CardName"] = customer.Name
		}
		return toDocument(connectors.KindCustomer, "BusinessPartners", customer.Number, existing, false), nil
	case !connectors.IsNotFound(err):
		return connectors.Document{}, err
	}

	body := map[string]any{
		"CardCode": customer.Number, "CardName": customer.Name, "CardType": "cCustomer",
		"Country": customer.Country, "Industry": customer.Sector, "FatherCard": customer.ParentName,
	}
	var created map[string]any
	err = e.client.call(ctx, http.MethodPost, "BusinessPartners", body, &created)
	var ce *connectors.Error
	if errors.As(err, &ce) && ce.Kind == connectors.KindValidation {
		// A reply lost earlier: the partner exists now.
		if getErr := e.client.call(ctx, http.MethodGet, path, nil, &existing); getErr == nil {
			return toDocument(connectors.KindCustomer, "BusinessPartners", customer.Number, existing, false), nil
		}
	}
	if err != nil {
		return connectors.Document{}, err
	}
	erpplugin.Logger().Info("created business partner", "document_no", customer.Number)
	return toDocument(connectors.KindCustomer, "BusinessPartners", customer.Number, created, true), nil
}

func orderLines(lines []connectors.OrderLine) []map[string]any {
	out := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		out = append(out, map[string]any{
			"ItemCode": l.ProductNumber, "ItemDescription": l.ProductName,
			"Quantity": money(l.Quantity), "PriceAfterVAT": money(l.UnitPrice),
			"TaxPercentagePerRow": money(l.TaxRate), "GrossTotal": money(l.Amount),
		})
	}
	return out
}

// EnsureSalesOrder creates the sales order (Orders) of a contract.
func (e *ERP) EnsureSalesOrder(ctx context.Context, order connectors.SalesOrder) (connectors.Document, error) {
	return e.ensure(ctx, connectors.KindSalesOrder, order.Number, order.ContractNo, func(context.Context) (map[string]any, error) {
		if err := required("ensure Orders", map[string]string{"customer_number": order.CustomerNumber}); err != nil {
			return nil, err
		}
		if len(order.Lines) == 0 {
			return nil, &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: "ensure Orders",
				Message: "the order has no lines", Fields: []connectors.FieldError{{Field: "lines", Message: "required", Index: -1}}}
		}
		return map[string]any{
			"CardCode": order.CustomerNumber, "DocDate": day(order.Date), "DocDueDate": day(order.Date),
			"DocCurrency": order.Currency, "NumAtCard": order.ContractNo, "DocTotal": money(order.Total),
			"Comments":      strings.TrimSpace("ordo contract " + order.ContractNo + " " + order.SalesAgent),
			"DocumentLines": orderLines(order.Lines),
		}, nil
	})
}

// EnsureProductionOrder creates a released production order linked to the
// sales order.
func (e *ERP) EnsureProductionOrder(ctx context.Context, order connectors.ProductionOrder) (connectors.Document, error) {
	return e.ensure(ctx, connectors.KindProductionOrder, order.Number, order.ContractNo, func(ctx context.Context) (map[string]any, error) {
		if err := required("ensure ProductionOrders", map[string]string{"product_number": order.ProductNumber}); err != nil {
			return nil, err
		}
		body := map[string]any{
			"ItemNo": order.ProductNumber, "PlannedQuantity": money(order.Quantity),
			"PostingDate": day(order.Date), "DueDate": day(order.Date), "ProductionOrderStatus": "boposReleased",
		}
		if order.SalesOrderNo != "" {
			sales, err := e.mustFind(ctx, "ensure ProductionOrders", "Orders", order.SalesOrderNo, "sales_order_no")
			if err != nil {
				return nil, err
			}
			body["ProductionOrderOrigin"] = "bopooSalesOrder"
			body["ProductionOrderOriginEntry"] = json.Number(str(sales, "DocEntry"))
		}
		return body, nil
	})
}

// GetProductionStatus reads the production order's status:
// boposClosed counts as completed.
func (e *ERP) GetProductionStatus(ctx context.Context, number string) (connectors.ProductionStatus, error) {
	body, found, err := e.find(ctx, "ProductionOrders", number)
	if err != nil {
		return connectors.ProductionStatus{}, err
	}
	if !found {
		return connectors.ProductionStatus{}, &connectors.Error{Kind: connectors.KindNotFound, Connector: ConnectorName,
			Operation: "get ProductionOrders", Message: "production order " + number + " does not exist"}
	}
	status := connectors.ProductionStatus{Number: number, Status: str(body, "ProductionOrderStatus")}
	switch status.Status {
	case "boposClosed":
		status.Completed = true
		if t, err := time.Parse("2006-01-02", str(body, "ClosingDate")); err == nil {
			status.CompletedAt = t
		}
	case "boposCancelled":
		status.Cancelled = true
	}
	return status, nil
}

// EnsureDelivery creates the delivery (DeliveryNotes) copied from the
// sales order's lines.
func (e *ERP) EnsureDelivery(ctx context.Context, delivery connectors.Delivery) (connectors.Document, error) {
	return e.ensure(ctx, connectors.KindDelivery, delivery.Number, delivery.ContractNo, func(ctx context.Context) (map[string]any, error) {
		sales, err := e.mustFind(ctx, "ensure DeliveryNotes", "Orders", delivery.SalesOrderNo, "sales_order_no")
		if err != nil {
			return nil, err
		}
		orderItems, _ := sales["DocumentLines"].([]any)
		lines := orderLines(delivery.Lines)
		for i, line := range lines {
			line["BaseType"] = 17
			line["BaseEntry"] = json.Number(str(sales, "DocEntry"))
			line["BaseLine"] = baseLine(orderItems, delivery.Lines[i].ProductNumber, i)
		}
		customer := delivery.CustomerNumber
		if customer == "" {
			customer = str(sales, "CardCode")
		}
		return map[string]any{
			"CardCode": customer, "DocDate": day(delivery.Date), "NumAtCard": delivery.ContractNo,
			"DocCurrency": str(sales, "DocCurrency"), "DocumentLines": lines,
		}, nil
	})
}

// baseLine returns the position of the sales order line with the item
// code, or fallback when none matches.
func baseLine(orderItems []any, itemCode string, fallback int) int {
	for i, item := range orderItems {
		if line, ok := item.(map[string]any); ok && str(line, "ItemCode") == itemCode {
			return i
		}
	}
	return fallback
}

// EnsureReceivable creates the A/R invoice (Invoices) of the contract as a
// service invoice over the receivable's total.
func (e *ERP) EnsureReceivable(ctx context.Context, receivable connectors.Receivable) (connectors.Document, error) {
	return e.ensure(ctx, connectors.KindReceivable, receivable.Number, receivable.ContractNo, func(ctx context.Context) (map[string]any, error) {
		if err := required("ensure Invoices", map[string]string{"customer_number": receivable.CustomerNumber}); err != nil {
			return nil, err
		}
		return map[string]any{
			"CardCode": receivable.CustomerNumber, "DocDate": day(receivable.Date), "DocDueDate": day(receivable.Date),
			"DocCurrency": receivable.Currency, "NumAtCard": receivable.ContractNo, "DocType": "dDocument_Service",
			"DocTotal": money(receivable.Total), "Comments": "ordo sales order " + receivable.SalesOrderNo,
			"DocumentLines": []map[string]any{{
				"ItemDescription": "Contract " + receivable.ContractNo, "LineTotal": money(receivable.Total),
			}},
		}, nil
	})
}

// EnsureWriteOff creates the incoming payment that settles the invoice.
func (e *ERP) EnsureWriteOff(ctx context.Context, writeOff connectors.WriteOff) (connectors.Document, error) {
	return e.ensure(ctx, connectors.KindWriteOff, writeOff.Number, writeOff.ContractNo, func(ctx context.Context) (map[string]any, error) {
		if err := required("ensure IncomingPayments", map[string]string{"customer_number": writeOff.CustomerNumber}); err != nil {
			return nil, err
		}
		invoice, err := e.mustFind(ctx, "ensure IncomingPayments", "Invoices", writeOff.ReceivableNo, "receivable_no")
		if err != nil {
			return nil, err
		}
		return map[string]any{
			"CardCode": writeOff.CustomerNumber, "DocDate": day(writeOff.Date), "DocCurrency": writeOff.Currency,
			"TransferSum": money(writeOff.Amount), "TransferDate": day(writeOff.Date),
			"Remarks": "bank lines " + strings.Join(writeOff.ReceiptIDs, ","),
			"PaymentInvoices": []map[string]any{{
				"DocEntry": json.Number(str(invoice, "DocEntry")), "InvoiceType": "it_Invoice", "SumApplied": money(writeOff.Amount),
			}},
		}, nil
	})
}

// EnsurePriceChange writes the approved price as a special price of the
// business partner.
func (e *ERP) EnsurePriceChange(ctx context.Context, change connectors.PriceChange) (connectors.Document, error) {
	return e.ensure(ctx, connectors.KindPriceList, change.Number, change.ContractNo, func(context.Context) (map[string]any, error) {
		if err := required("ensure SpecialPrices", map[string]string{"customer_number": change.CustomerNumber, "product_number": change.ProductNumber}); err != nil {
			return nil, err
		}
		return map[string]any{
			"CardCode": change.CustomerNumber, "ItemCode": change.ProductNumber, "Price": money(change.UnitPrice),
			"Currency": change.Currency, "ValidFrom": day(change.EffectiveFrom), "Remarks": change.Reason,
		}, nil
	})
}

// GetDocument looks a document up by kind and number.
func (e *ERP) GetDocument(ctx context.Context, kind connectors.DocumentKind, number string) (connectors.Document, error) {
	entity, ok := entityOf[kind]
	if !ok {
		return connectors.Document{}, &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: "get document",
			Message: fmt.Sprintf("unknown document kind %q", kind)}
	}
	if kind == connectors.KindCustomer {
		var body map[string]any
		if err := e.client.call(ctx, http.MethodGet, "BusinessPartners("+quote(number)+")", nil, &body); err != nil {
			return connectors.Document{}, err
		}
		return toDocument(kind, entity, number, body, false), nil
	}
	body, found, err := e.find(ctx, entity, number)
	if err != nil {
		return connectors.Document{}, err
	}
	if !found {
		return connectors.Document{}, &connectors.Error{Kind: connectors.KindNotFound, Connector: ConnectorName, Operation: "get " + entity,
			Message: fmt.Sprintf("%s %s does not exist", entity, number)}
	}
	return toDocument(kind, entity, number, body, false), nil
}

// CancelDocument cancels a document with the Cancel action, or deletes a
// business partner or special price. A missing or already cancelled
// document counts as cancelled; a completed production order cannot be
// cancelled.
func (e *ERP) CancelDocument(ctx context.Context, kind connectors.DocumentKind, number string) error {
	entity, ok := entityOf[kind]
	if !ok {
		return &connectors.Error{Kind: connectors.KindValidation, Connector: ConnectorName, Operation: "cancel document",
			Message: fmt.Sprintf("unknown document kind %q", kind)}
	}

	defer e.lock(number)()
	if kind == connectors.KindCustomer {
		err := e.client.call(ctx, http.MethodDelete, "BusinessPartners("+quote(number)+")", nil, nil)
		if connectors.IsNotFound(err) {
			return nil
		}
		return err
	}

	body, found, err := e.find(ctx, entity, number)
	if err != nil || !found {
		return err
	}
	key := str(body, keyFieldOf(entity))
	switch {
	case kind == connectors.KindPriceList:
		err = e.client.call(ctx, http.MethodDelete, entity+"("+key+")", nil, nil)
	case str(body, "Cancelled") == "tYES" || str(body, "ProductionOrderStatus") == "boposCancelled":
		return nil
	case str(body, "ProductionOrderStatus") == "boposClosed":
		return &connectors.Error{Kind: connectors.KindConflict, Connector: ConnectorName, Operation: "cancel " + entity,
			Message: fmt.Sprintf("production order %s is completed and cannot be cancelled", number)}
	default:
		err = e.client.call(ctx, http.MethodPost, entity+"("+key+")/Cancel", nil, nil)
	}
	if connectors.IsNotFound(err) {
		return nil
	}

	if err == nil {
		erpplugin.Logger().Info("cancelled document", "entity", entity, "document_no", number)
	}
	return err
}
