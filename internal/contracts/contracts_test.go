package contracts

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/config"
)

func rules() Rules {
	cfg := config.Default()
	return Rules{Tax: cfg.Tax, Plan: cfg.Payment.Plan, ExchangeRates: cfg.Invoice.ExchangeRates}
}

func deal() Deal {
	return Deal{
		OpportunityID: "1c1i7a6r", AccountName: "Cancity", ProductName: "GTX Plus Basic", SalesAgent: "Moses Frase",
		Amount: decimal.RequireFromString("1054.01"), Currency: "USD",
		SignedOn: time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC), Source: "crm_import",
	}
}

func TestBuildContract(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	c, plan, err := Build(deal(), rules(), now)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if c.ContractNo != "CT-1C1I7A6R" || c.WorkflowID != "contract-to-cash-CT-1C1I7A6R" {
		t.Errorf("numbers = %s / %s", c.ContractNo, c.WorkflowID)
	}
	if !c.TaxRate.Equal(decimal.RequireFromString("0.17")) {
		t.Errorf("tax rate = %s, want the 17%% in force on the signing date", c.TaxRate)
	}
	if !c.Quantity.Equal(decimal.NewFromInt(1)) || !c.UnitPrice.Equal(c.Amount) {
		t.Errorf("quantity %s unit price %s, want 1 and the amount", c.Quantity, c.UnitPrice)
	}
	if len(plan) != 2 || !plan[0].Amount.Add(plan[1].Amount).Equal(c.Amount) {
		t.Fatalf("plan = %+v, want two instalments adding up to %s", plan, c.Amount)
	}
	if !plan[0].Amount.Equal(decimal.RequireFromString("316.2")) {
		t.Errorf("advance = %s, want 30%% rounded to the fen", plan[0].Amount)
	}
}

func TestBuildRejects(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Deal)
		field  string
	}{
		{"no account", func(d *Deal) { d.AccountName = " " }, "account"},
		{"no product", func(d *Deal) { d.ProductName = "" }, "product"},
		{"zero amount", func(d *Deal) { d.Amount = decimal.Zero }, "amount"},
		{"fraction of a fen", func(d *Deal) { d.Amount = decimal.RequireFromString("10.005") }, "amount"},
		{"no signing date", func(d *Deal) { d.SignedOn = time.Time{} }, "signed_on"},
		{"date before any rate", func(d *Deal) { d.SignedOn = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC) }, "signed_on"},
		{"lower-case currency", func(d *Deal) { d.Currency = "usd" }, "currency"},
		{"currency without rate", func(d *Deal) { d.Currency = "EUR" }, "currency"},
		{"negative quantity", func(d *Deal) { d.Quantity = decimal.NewFromInt(-1) }, "quantity"},
		{"no identity", func(d *Deal) { d.OpportunityID = "" }, "opportunity_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := deal()
			tc.change(&d)
			_, _, err := Build(d, rules(), time.Now())
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Build error = %v, want a field error on %s", err, tc.field)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %s, want %s", fe.Field, tc.field)
			}
		})
	}
}

func TestBuildInCNYNeedsNoRate(t *testing.T) {
	d := deal()
	d.Currency = "CNY"
	r := rules()
	r.ExchangeRates = nil
	if _, _, err := Build(d, r, time.Now()); err != nil {
		t.Fatalf("Build in CNY without exchange rates: %v", err)
	}
}
