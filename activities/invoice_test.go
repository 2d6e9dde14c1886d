package activities

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
)

func prepareInput(currency, total string) PrepareInvoiceInput {
	amount := decimal.RequireFromString(total)
	return PrepareInvoiceInput{
		SerialNo: "INV-CT-T1", ContractNo: "CT-T1", Kind: connectors.InvoiceKindOrdinary, BuyerName: "Cancity",
		Currency: currency, Total: amount, InvoiceName: "计算机设备", Unit: "台", ProductName: "GTX Basic",
		Lines: []connectors.OrderLine{{ProductNumber: "MAT-1", ProductName: "GTX Basic", Quantity: decimal.NewFromInt(1),
			UnitPrice: amount, TaxRate: decimal.RequireFromString("0.17"), Amount: amount}},
	}
}

func runPrepare(t *testing.T, at time.Time, in PrepareInvoiceInput) (connectors.InvoiceRequest, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	cfg := config.Default()
	acts := &ContractActivities{Invoicing: InvoiceRules{Tax: cfg.Tax, Invoice: cfg.Invoice, Now: func() time.Time { return at }}}
	env.RegisterActivity(acts)
	encoded, err := env.ExecuteActivity(acts.PrepareInvoice, in)
	if err != nil {
		return connectors.InvoiceRequest{}, err
	}
	var request connectors.InvoiceRequest
	if err := encoded.Get(&request); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return request, nil
}

func TestPrepareInvoiceConvertsToCNY(t *testing.T) {
	request, err := runPrepare(t, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), prepareInput("USD", "1054"))
	if err != nil {
		t.Fatalf("prepare invoice: %v", err)
	}
	if request.Currency != "CNY" {
		t.Errorf("currency = %s, want CNY", request.Currency)
	}
	// 1054 USD at 7.1 is 7483.40 CNY including 13% VAT.
	if !request.TotalInclusive.Equal(decimal.RequireFromString("7483.4")) {
		t.Errorf("total = %s, want 7483.40", request.TotalInclusive)
	}
	line := request.Lines[0]
	if !line.TaxRate.Equal(decimal.RequireFromString("0.13")) {
		t.Errorf("tax rate = %s, want the 13%% in force on the invoice date, not the 17%% at signing", line.TaxRate)
	}
	if !line.Amount.Add(line.Tax).Equal(request.TotalInclusive) {
		t.Errorf("line %s + %s does not equal the total %s", line.Amount, line.Tax, request.TotalInclusive)
	}
}

func TestPrepareInvoiceRateChangesAtMidnightShanghai(t *testing.T) {
	// 2019-03-31 16:30 UTC is already 1 April in Shanghai, when 13% replaced 16%.
	request, err := runPrepare(t, time.Date(2019, 3, 31, 16, 30, 0, 0, time.UTC), prepareInput("CNY", "113"))
	if err != nil {
		t.Fatalf("prepare invoice: %v", err)
	}
	if got := request.Lines[0].TaxRate; !got.Equal(decimal.RequireFromString("0.13")) {
		t.Errorf("rate = %s, want 0.13", got)
	}
	if !request.TotalInclusive.Equal(decimal.NewFromInt(113)) || !request.TotalTax.Equal(decimal.NewFromInt(13)) {
		t.Errorf("totals = %s incl. %s tax, want 113 incl. 13", request.TotalInclusive, request.TotalTax)
	}
}

func TestPrepareInvoiceUnknownCurrency(t *testing.T) {
	_, err := runPrepare(t, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), prepareInput("EUR", "100"))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInput || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a non-retryable %s error", err, ErrTypeInput)
	}
}
