package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/invoicing"
	"github.com/ordo-project/ordo/internal/money"
)

// InvoiceRules are the parts of the configuration an invoice depends on.
// They are read when the invoice is prepared, because the VAT rate and
// exchange rate in force on the invoice date apply, whenever the chain
// started.
type InvoiceRules struct {
	Tax     config.Tax
	Invoice config.Invoice
	// Location is the time zone of the invoice date; nil means Asia/Shanghai.
	Location *time.Location
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// PrepareInvoiceInput describes the invoice of a contract in the
// contract's own terms.
type PrepareInvoiceInput struct {
	SerialNo    string                 `json:"serial_no"`
	ContractNo  string                 `json:"contract_no"`
	Kind        string                 `json:"kind"`
	BuyerName   string                 `json:"buyer_name"`
	BuyerTaxID  string                 `json:"buyer_tax_id,omitempty"`
	Currency    string                 `json:"currency"`
	Total       decimal.Decimal        `json:"total"`
	Lines       []connectors.OrderLine `json:"lines"`
	InvoiceName string                 `json:"invoice_name"`
	Unit        string                 `json:"unit"`
	// ProductName selects the tax classification code.
	ProductName string `json:"product_name"`
}

// PrepareInvoice builds the invoice request under the VAT rate and, for a
// contract in another currency, the CNY exchange rate in force today. The
// request is returned to the workflow and recorded in its history, so every
// retry of IssueInvoice sends the same body under the same serial number.
func (a *ContractActivities) PrepareInvoice(ctx context.Context, in PrepareInvoiceInput) (connectors.InvoiceRequest, error) {
	rules := a.Invoicing
	now := time.Now
	if rules.Now != nil {
		now = rules.Now
	}
	loc := rules.Location
	if loc == nil {
		loc = shanghai
	}
	today := now().In(loc)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)

	productTax := rules.Tax.ProductTax(in.ProductName)
	rate, err := rules.Tax.RateFor(productTax.Category, day)
	if err != nil {
		return connectors.InvoiceRequest{}, invalidInput("contract %s: %v", in.ContractNo, err)
	}
	exchange, err := rules.Invoice.RateFor(in.Currency, day)
	if err != nil {
		return connectors.InvoiceRequest{}, invalidInput("contract %s: %v", in.ContractNo, err)
	}

	lines := make([]connectors.OrderLine, len(in.Lines))
	total := decimal.Zero
	for i, line := range in.Lines {
		converted := money.Round(line.Amount.Mul(exchange))
		lines[i] = connectors.OrderLine{
			ProductNumber: line.ProductNumber, ProductName: in.InvoiceName, Quantity: line.Quantity,
			UnitPrice: line.UnitPrice.Mul(exchange), TaxRate: rate, Amount: converted,
		}
		total = total.Add(converted)
	}
	remark := "合同 " + in.ContractNo
	if in.Currency != "CNY" {
		remark = fmt.Sprintf("%s 原币 %s %s 汇率 %s", remark, in.Currency, in.Total.StringFixed(2), exchange.String())
	}
	request, err := invoicing.BuildRequest(invoicing.InvoiceSpec{
		SerialNo: in.SerialNo, ContractNo: in.ContractNo, Kind: in.Kind, BuyerName: in.BuyerName,
		BuyerTaxID: in.BuyerTaxID, Currency: "CNY", Remark: remark, Total: total, Lines: lines,
		DefaultTaxCode: productTax.Code, Unit: in.Unit,
	})
	if err != nil {
		return connectors.InvoiceRequest{}, classify(fmt.Sprintf("contract %s: prepare invoice %s", in.ContractNo, in.SerialNo), err)
	}
	return request, nil
}

// shanghai is the time zone of invoice dates. China has kept UTC+8 without
// daylight saving since 1991, so a fixed zone needs no tzdata.
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)
