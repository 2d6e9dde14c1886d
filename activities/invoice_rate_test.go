package activities

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// issuingEInvoice accepts every invoice request as processing.
type issuingEInvoice struct{ connectors.EInvoice }

func (issuingEInvoice) Issue(_ context.Context, req connectors.InvoiceRequest) (connectors.Invoice, error) {
	return connectors.Invoice{SerialNo: req.SerialNo, Status: connectors.InvoiceProcessing, TotalInclusive: req.TotalInclusive}, nil
}

func TestIssueInvoiceRecordsTaxRate(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	ctx := context.Background()
	now := store.Now()
	contract := &store.Contract{
		ContractNo: "CT-RATE1", AccountName: "Cancity", CustomerNo: "CUST-1", ProductName: "GTX Basic", ProductNo: "MAT-1",
		Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(100), Amount: decimal.NewFromInt(100), Currency: "CNY",
		TaxRate: decimal.RequireFromString("0.17"), SignedOn: time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC),
		Source: store.SourceCRMImport, State: store.ContractDelivered, PaidAmount: decimal.Zero,
		WorkflowID: "contract-to-cash-CT-RATE1", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := st.CreateContract(ctx, contract, nil); err != nil {
		t.Fatalf("create contract: %v", err)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := &ContractActivities{Store: st, EInvoice: issuingEInvoice{}}
	env.RegisterActivity(acts)
	request := connectors.InvoiceRequest{SerialNo: "INV-CT-RATE1", ContractNo: "CT-RATE1",
		Lines: []connectors.InvoiceLine{{TaxRate: decimal.RequireFromString("0.13")}}}
	if _, err := env.ExecuteActivity(acts.IssueInvoice, InvoiceInput{Request: request}); err != nil {
		t.Fatalf("issue invoice: %v", err)
	}

	got, err := st.GetContract(ctx, "CT-RATE1")
	if err != nil {
		t.Fatalf("read contract: %v", err)
	}
	if !got.InvoiceTaxRate.Valid || !got.InvoiceTaxRate.Decimal.Equal(decimal.RequireFromString("0.13")) {
		t.Errorf("invoice tax rate = %v, expected the request's 0.13", got.InvoiceTaxRate)
	}
	if !got.TaxRate.Equal(decimal.RequireFromString("0.17")) {
		t.Errorf("signing tax rate = %s, expected 0.17 unchanged", got.TaxRate)
	}
}

func TestInvoiceTaxRateMixedLines(t *testing.T) {
	mixed := connectors.InvoiceRequest{Lines: []connectors.InvoiceLine{
		{TaxRate: decimal.RequireFromString("0.13")}, {TaxRate: decimal.RequireFromString("0.09")},
	}}
	if _, ok := invoiceTaxRate(mixed); ok {
		t.Error("invoiceTaxRate of lines at 13% and 9% returned a rate, expected none")
	}
	if _, ok := invoiceTaxRate(connectors.InvoiceRequest{}); ok {
		t.Error("invoiceTaxRate of a request without lines returned a rate, expected none")
	}
}
