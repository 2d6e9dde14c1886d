// Package erptest is the contract suite every ERP connector and ERP plugin
// runs: the same calls, in the order the contract-to-cash chain makes them,
// with the results connectors.ERP documents. A connector's test calls Run
// with a function that returns a connector pointed at a fresh simulator.
package erptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
)

// ERP is the connector interface the suite calls.
type ERP interface {
	connectors.ERP
	connectors.PriceLists
}

// Run runs the contract suite. newERP returns the connector under test; it
// is called once per subtest, and prefix keeps the numbers of separate runs
// against one simulator apart.
func Run(t *testing.T, prefix string, newERP func(t *testing.T) ERP) {
	cases := []struct {
		name string
		fn   func(t *testing.T, erp ERP, n numbers)
	}{
		{"CustomerIsUpsertedOnce", customerIsUpsertedOnce},
		{"ChainDocumentsAreCreatedOnce", chainDocumentsAreCreatedOnce},
		{"PriceChangeIsCreatedOnce", priceChangeIsCreatedOnce},
		{"MissingProductionOrderIsNotFound", missingProductionOrderIsNotFound},
		{"CancelIsIdempotent", cancelIsIdempotent},
		{"OrderWithoutLinesIsRejected", orderWithoutLinesIsRejected},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newERP(t), numbers{contract: prefix + "-" + string(rune('A'+i))})
		})
	}
}

// numbers derives the document numbers of one test contract the way
// ordo's numbering does.
type numbers struct{ contract string }

func (n numbers) customer() string   { return "CU-" + n.contract }
func (n numbers) order() string      { return "SO-" + n.contract }
func (n numbers) production() string { return "MO-" + n.contract }
func (n numbers) delivery() string   { return "DN-" + n.contract }
func (n numbers) receivable() string { return "AR-" + n.contract }
func (n numbers) writeOff() string   { return "WO-" + n.contract }

var testDate = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func dec(text string) decimal.Decimal { return decimal.RequireFromString(text) }

// SalesOrder is the suite's sales order of contract n.
func salesOrder(n numbers) connectors.SalesOrder {
	return connectors.SalesOrder{
		Number: n.order(), ContractNo: n.contract, CustomerNumber: n.customer(), Date: testDate, Currency: "CNY",
		Lines: []connectors.OrderLine{
			{ProductNumber: "P-1", ProductName: "Pump", Quantity: dec("2"), UnitPrice: dec("565"), TaxRate: dec("0.13"), Amount: dec("1130")},
			{ProductNumber: "P-2", ProductName: "Valve", Quantity: dec("1"), UnitPrice: dec("100.5"), TaxRate: dec("0.13"), Amount: dec("100.5")},
		},
		Total: dec("1230.5"),
	}
}

func customer(n numbers, name string) connectors.Customer {
	return connectors.Customer{Number: n.customer(), Name: name, Country: "CN"}
}

// twice calls ensure two times and checks that the first call created the
// document and the second found the same one.
func twice(t *testing.T, what, number string, ensure func() (connectors.Document, error)) connectors.Document {
	t.Helper()
	first, err := ensure()
	if err != nil {
		t.Fatalf("first %s %s: %v", what, number, err)
	}
	if !first.Created {
		t.Errorf("first %s %s: Created is false, expected a new document", what, number)
	}
	if first.Number != number || first.ID == "" {
		t.Errorf("first %s: got number %q and ID %q, expected number %q and an ID", what, first.Number, first.ID, number)
	}
	second, err := ensure()
	if err != nil {
		t.Fatalf("second %s %s: %v", what, number, err)
	}
	if second.Created {
		t.Errorf("second %s %s: Created is true, expected the existing document", what, number)
	}
	if second.ID != first.ID || second.Number != first.Number {
		t.Errorf("second %s %s: got ID %q, expected %q from the first call", what, number, second.ID, first.ID)
	}
	return first
}

func customerIsUpsertedOnce(t *testing.T, erp ERP, n numbers) {
	ctx := context.Background()
	twice(t, "UpsertCustomer", n.customer(), func() (connectors.Document, error) {
		return erp.UpsertCustomer(ctx, customer(n, "Acme Pumps"))
	})
	renamed, err := erp.UpsertCustomer(ctx, customer(n, "Acme Pumps Ltd"))
	if err != nil {
		t.Fatalf("rename customer %s: %v", n.customer(), err)
	}
	if renamed.Created {
		t.Errorf("renaming customer %s created a new one", n.customer())
	}
}

func chainDocumentsAreCreatedOnce(t *testing.T, erp ERP, n numbers) {
	ctx := context.Background()
	if _, err := erp.UpsertCustomer(ctx, customer(n, "Chain Customer")); err != nil {
		t.Fatalf("UpsertCustomer: %v", err)
	}
	twice(t, "EnsureSalesOrder", n.order(), func() (connectors.Document, error) {
		return erp.EnsureSalesOrder(ctx, salesOrder(n))
	})
	production := connectors.ProductionOrder{Number: n.production(), SalesOrderNo: n.order(), ContractNo: n.contract,
		ProductNumber: "P-1", Quantity: dec("2"), Date: testDate}
	twice(t, "EnsureProductionOrder", n.production(), func() (connectors.Document, error) {
		return erp.EnsureProductionOrder(ctx, production)
	})
	status, err := erp.GetProductionStatus(ctx, n.production())
	if err != nil {
		t.Fatalf("GetProductionStatus %s: %v", n.production(), err)
	}
	if status.Number != n.production() || status.Cancelled {
		t.Errorf("GetProductionStatus %s = %+v, expected the open order", n.production(), status)
	}
	delivery := connectors.Delivery{Number: n.delivery(), SalesOrderNo: n.order(), ContractNo: n.contract, CustomerNumber: n.customer(), Date: testDate,
		Lines: []connectors.OrderLine{{ProductNumber: "P-1", Quantity: dec("2"), UnitPrice: dec("565"), TaxRate: dec("0.13"), Amount: dec("1130")}}}
	twice(t, "EnsureDelivery", n.delivery(), func() (connectors.Document, error) {
		return erp.EnsureDelivery(ctx, delivery)
	})
	receivable := connectors.Receivable{Number: n.receivable(), SalesOrderNo: n.order(), ContractNo: n.contract, CustomerNumber: n.customer(),
		Date: testDate, Currency: "CNY", Total: dec("1230.5")}
	twice(t, "EnsureReceivable", n.receivable(), func() (connectors.Document, error) {
		return erp.EnsureReceivable(ctx, receivable)
	})
	writeOff := connectors.WriteOff{Number: n.writeOff(), ReceivableNo: n.receivable(), ContractNo: n.contract, CustomerNumber: n.customer(),
		Date: testDate, Currency: "CNY", Amount: dec("1230.5"), ReceiptIDs: []string{"BANK-" + n.contract}}
	twice(t, "EnsureWriteOff", n.writeOff(), func() (connectors.Document, error) {
		return erp.EnsureWriteOff(ctx, writeOff)
	})
}

func priceChangeIsCreatedOnce(t *testing.T, erp ERP, n numbers) {
	ctx := context.Background()
	if _, err := erp.UpsertCustomer(ctx, customer(n, "Price Customer")); err != nil {
		t.Fatalf("UpsertCustomer: %v", err)
	}
	change := connectors.PriceChange{Number: "PL-" + n.contract, ApprovalID: "AP-" + n.contract, CustomerNumber: n.customer(),
		ProductNumber: "P-1", Currency: "CNY", UnitPrice: dec("540"), EffectiveFrom: testDate, ContractNo: n.contract, Reason: "volume"}
	twice(t, "EnsurePriceChange", change.Number, func() (connectors.Document, error) {
		return erp.EnsurePriceChange(ctx, change)
	})
}

func missingProductionOrderIsNotFound(t *testing.T, erp ERP, n numbers) {
	_, err := erp.GetProductionStatus(context.Background(), "MO-MISSING-"+n.contract)
	if !connectors.IsNotFound(err) {
		t.Errorf("GetProductionStatus of a missing order: got %v, expected a not-found error", err)
	}
}

func cancelIsIdempotent(t *testing.T, erp ERP, n numbers) {
	ctx := context.Background()
	if err := erp.CancelDocument(ctx, connectors.KindSalesOrder, "SO-MISSING-"+n.contract); err != nil {
		t.Errorf("cancel a missing sales order: %v, expected success", err)
	}
	if _, err := erp.UpsertCustomer(ctx, customer(n, "Cancel Customer")); err != nil {
		t.Fatalf("UpsertCustomer: %v", err)
	}
	if _, err := erp.EnsureSalesOrder(ctx, salesOrder(n)); err != nil {
		t.Fatalf("EnsureSalesOrder: %v", err)
	}
	for i := range 2 {
		if err := erp.CancelDocument(ctx, connectors.KindSalesOrder, n.order()); err != nil {
			t.Fatalf("cancel sales order %s, call %d: %v", n.order(), i+1, err)
		}
	}
}

func orderWithoutLinesIsRejected(t *testing.T, erp ERP, n numbers) {
	ctx := context.Background()
	if _, err := erp.UpsertCustomer(ctx, customer(n, "Empty Order Customer")); err != nil {
		t.Fatalf("UpsertCustomer: %v", err)
	}
	order := salesOrder(n)
	order.Lines = nil
	_, err := erp.EnsureSalesOrder(ctx, order)
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("EnsureSalesOrder without lines: got %v, expected a *connectors.Error", err)
	}
	if ce.Retryable() {
		t.Errorf("EnsureSalesOrder without lines: got the retryable %v, expected a rejection", err)
	}
}
