package invoicing_test

import (
	"errors"
	"testing"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/invoicing"
	"github.com/shopspring/decimal"
)

func TestBuildRequestRoundsTaxPerLine(t *testing.T) {
	spec := invoicing.InvoiceSpec{
		SerialNo:   "CT-Q1-INV-1",
		ContractNo: "CT-Q1",
		BuyerName:  "广州华岭贸易有限公司",
		Total:      dec(t, "3.00"),
		Lines: []connectors.OrderLine{
			{ProductNumber: "P-1", ProductName: "垫片", Quantity: dec(t, "1"), TaxRate: dec(t, "0.13"), Amount: dec(t, "1.00")},
			{ProductNumber: "P-1", ProductName: "垫片", Quantity: dec(t, "1"), TaxRate: dec(t, "0.13"), Amount: dec(t, "1.00")},
			{ProductNumber: "P-1", ProductName: "垫片", Quantity: dec(t, "1"), TaxRate: dec(t, "0.13"), Amount: dec(t, "1.00")},
		},
		DefaultTaxCode: "1090511030000000000",
	}
	request, err := invoicing.BuildRequest(spec)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	for i, line := range request.Lines {
		// 1.00 / 1.13 = 0.8849… rounds to 0.88, leaving 0.12 tax.
		if !line.Amount.Equal(dec(t, "0.88")) || !line.Tax.Equal(dec(t, "0.12")) {
			t.Errorf("line %d = amount %s tax %s, want 0.88 and 0.12", i+1, line.Amount, line.Tax)
		}
	}
	// Rounding the total instead would give 2.65 and 0.35.
	if !request.TotalAmount.Equal(dec(t, "2.64")) || !request.TotalTax.Equal(dec(t, "0.36")) {
		t.Errorf("totals = amount %s tax %s, want the line sums 2.64 and 0.36", request.TotalAmount, request.TotalTax)
	}
	if !request.TotalInclusive.Equal(spec.Total) {
		t.Errorf("total including tax = %s, want the contract total %s", request.TotalInclusive, spec.Total)
	}
	if request.Kind != connectors.InvoiceKindOrdinary || request.Currency != "CNY" {
		t.Errorf("kind %q currency %q, want defaults %s and CNY", request.Kind, request.Currency, connectors.InvoiceKindOrdinary)
	}
}

func TestBuildRequestUnitPriceExcludesTax(t *testing.T) {
	request, err := invoicing.BuildRequest(invoicing.InvoiceSpec{
		SerialNo: "CT-Q2-INV-1", ContractNo: "CT-Q2", BuyerName: "买方",
		Total: dec(t, "1000.00"),
		Lines: []connectors.OrderLine{
			{ProductNumber: "P-2", ProductName: "轴承", Quantity: dec(t, "3"), TaxRate: dec(t, "0.13"), Amount: dec(t, "1000.00")},
		},
		TaxCodes: map[string]string{"P-2": "1090511030000000000"},
	})
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	line := request.Lines[0]
	// 1000 / 1.13 = 884.96; 884.96 / 3 = 294.9866666666666(6…) to 13 places.
	if !line.Amount.Equal(dec(t, "884.96")) || !line.Tax.Equal(dec(t, "115.04")) {
		t.Errorf("line = amount %s tax %s, want 884.96 and 115.04", line.Amount, line.Tax)
	}
	if want := dec(t, "294.9866666666667"); !line.UnitPrice.Equal(want) {
		t.Errorf("unit price = %s, want %s", line.UnitPrice, want)
	}
	if line.TaxCode != "1090511030000000000" {
		t.Errorf("tax code = %q, want the one mapped to P-2", line.TaxCode)
	}
}

func TestBuildRequestRejectsInconsistentSpec(t *testing.T) {
	base := func() invoicing.InvoiceSpec {
		return invoicing.InvoiceSpec{
			SerialNo: "CT-Q3-INV-1", ContractNo: "CT-Q3", BuyerName: "买方",
			Total: dec(t, "113.00"),
			Lines: []connectors.OrderLine{
				{ProductNumber: "P-3", ProductName: "螺栓", Quantity: dec(t, "1"), TaxRate: dec(t, "0.13"), Amount: dec(t, "113.00")},
			},
			DefaultTaxCode: "1090511030000000000",
		}
	}
	cases := []struct {
		name      string
		change    func(*invoicing.InvoiceSpec)
		wantField string
		wantIndex int
	}{
		{"total differs from lines", func(s *invoicing.InvoiceSpec) { s.Total = dec(t, "113.01") }, "total", -1},
		{"missing tax code", func(s *invoicing.InvoiceSpec) { s.DefaultTaxCode = "" }, "tax_code", 0},
		{"zero amount", func(s *invoicing.InvoiceSpec) { s.Lines[0].Amount = dec(t, "0") }, "amount", 0},
		{"amount with three decimals", func(s *invoicing.InvoiceSpec) { s.Lines[0].Amount = dec(t, "113.001") }, "amount", 0},
		{"rate of 100 percent", func(s *invoicing.InvoiceSpec) { s.Lines[0].TaxRate = dec(t, "1") }, "tax_rate", 0},
		{"missing buyer", func(s *invoicing.InvoiceSpec) { s.BuyerName = "" }, "buyer_name", -1},
		{"missing product name", func(s *invoicing.InvoiceSpec) { s.Lines[0].ProductName = "" }, "name", 0},
		{"unknown kind", func(s *invoicing.InvoiceSpec) { s.Kind = "04" }, "kind", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := base()
			tc.change(&spec)
			_, err := invoicing.BuildRequest(spec)
			var connectorErr *connectors.Error
			if !errors.As(err, &connectorErr) || connectorErr.Kind != connectors.KindValidation {
				t.Fatalf("error = %v, want a validation error", err)
			}
			found := false
			for _, f := range connectorErr.Fields {
				if f.Field == tc.wantField && f.Index == tc.wantIndex {
					found = true
				}
			}
			if !found {
				t.Errorf("error %v does not name field %s at index %d", err, tc.wantField, tc.wantIndex)
			}
		})
	}
}

func dec(t *testing.T, text string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(text)
	if err != nil {
		t.Fatalf("bad test decimal %q: %v", text, err)
	}
	return d
}
