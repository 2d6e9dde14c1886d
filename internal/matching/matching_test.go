package matching

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func balances() []*Balance {
	day := func(n int) time.Time { return time.Date(2017, 1, n, 0, 0, 0, 0, time.UTC) }
	return []*Balance{
		{ContractNo: "CT-AAAA0001", AccountName: "Cancity", SignedOn: day(1), Total: d("1000"), Instalments: []decimal.Decimal{d("300"), d("700")}},
		{ContractNo: "CT-AAAA0002", AccountName: "Cancity", SignedOn: day(2), Total: d("500"), Instalments: []decimal.Decimal{d("150"), d("350")}},
		{ContractNo: "CT-BBBB0001", AccountName: "Isdom", SignedOn: day(3), Total: d("4514"), Instalments: []decimal.Decimal{d("1354.2"), d("3159.8")}},
		{ContractNo: "CT-CCCC0001", AccountName: "Codehow", SignedOn: day(4), Total: d("588"), Allocated: d("588"), Instalments: []decimal.Decimal{d("176.4"), d("411.6")}},
		{ContractNo: "CT-TWIN0001", AccountName: "Twins", SignedOn: day(5), Total: d("500"), Instalments: []decimal.Decimal{d("150"), d("350")}},
		{ContractNo: "CT-TWIN0002", AccountName: "Twins", SignedOn: day(6), Total: d("500"), Instalments: []decimal.Decimal{d("150"), d("350")}},
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		name    string
		line    Line
		outcome string
		want    map[string]string
	}{
		{"outgoing fee ignored", Line{Amount: d("-25"), PayerName: "Bank"}, OutcomeIgnored, nil},
		{"remark names contract", Line{Amount: d("300"), PayerName: "Cancity", Remark: "货款 CT-AAAA0002"}, OutcomeMatched,
			map[string]string{"CT-AAAA0002": "300"}},
		{"remark lower case", Line{Amount: d("50"), PayerName: "x", Remark: "ct-aaaa0001 首付款"}, OutcomeMatched,
			map[string]string{"CT-AAAA0001": "50"}},
		{"remark over-payment stays on contract", Line{Amount: d("1200"), PayerName: "Cancity", Remark: "CT-AAAA0001"}, OutcomeMatched,
			map[string]string{"CT-AAAA0001": "1200"}},
		{"remark names two contracts", Line{Amount: d("1600"), PayerName: "Cancity", Remark: "CT-AAAA0001 CT-AAAA0002"}, OutcomeMatched,
			map[string]string{"CT-AAAA0001": "1000", "CT-AAAA0002": "600"}},
		{"unknown number falls back to payer", Line{Amount: d("4514"), PayerName: "Isdom", Remark: "CT-ZZZZ9999"}, OutcomeMatched,
			map[string]string{"CT-BBBB0001": "4514"}},
		{"payer and open balance", Line{Amount: d("500"), PayerName: " cancity "}, OutcomeMatched,
			map[string]string{"CT-AAAA0002": "500"}},
		{"payer and instalment", Line{Amount: d("300"), PayerName: "Cancity"}, OutcomeMatched,
			map[string]string{"CT-AAAA0001": "300"}},
		{"combined payment", Line{Amount: d("1500"), PayerName: "Cancity"}, OutcomeMatched,
			map[string]string{"CT-AAAA0001": "1000", "CT-AAAA0002": "500"}},
		{"only open contract takes partial", Line{Amount: d("100"), PayerName: "Isdom"}, OutcomeMatched,
			map[string]string{"CT-BBBB0001": "100"}},
		{"ambiguous payer unmatched", Line{Amount: d("123"), PayerName: "Cancity"}, OutcomeUnmatched, nil},
		{"two equal instalments unmatched", Line{Amount: d("350"), PayerName: "Twins"}, OutcomeUnmatched, nil},
		{"two equal balances unmatched", Line{Amount: d("500"), PayerName: "Twins"}, OutcomeUnmatched, nil},
		{"remark names a paid contract", Line{Amount: d("588"), PayerName: "Codehow", Remark: "货款 CT-CCCC0001（第2笔）"}, OutcomeMatched,
			map[string]string{"CT-CCCC0001": "588"}},
		{"unknown payer unmatched", Line{Amount: d("123"), PayerName: "Stranger Ltd"}, OutcomeUnmatched, nil},
		{"paid contract not a candidate", Line{Amount: d("588"), PayerName: "Codehow"}, OutcomeUnmatched, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			book := NewBook(balances(), nil)
			got := book.Match(tc.line)
			if got.Outcome != tc.outcome {
				t.Fatalf("outcome = %s (%s), want %s", got.Outcome, got.Note, tc.outcome)
			}
			if len(got.Allocations) != len(tc.want) {
				t.Fatalf("allocations = %+v, want %v", got.Allocations, tc.want)
			}
			total := decimal.Zero
			for _, a := range got.Allocations {
				want, ok := tc.want[a.ContractNo]
				if !ok {
					t.Errorf("unexpected allocation to %s", a.ContractNo)
					continue
				}
				if !a.Amount.Equal(d(want)) {
					t.Errorf("allocation to %s = %s, want %s", a.ContractNo, a.Amount, want)
				}
				total = total.Add(a.Amount)
			}
			if tc.outcome == OutcomeMatched && !total.Equal(tc.line.Amount) {
				t.Errorf("allocations add up to %s, want the line amount %s", total, tc.line.Amount)
			}
		})
	}
}

func TestMatchSeesEarlierLinesOfBatch(t *testing.T) {
	book := NewBook(balances(), nil)
	first := book.Match(Line{Amount: d("300"), PayerName: "Cancity"})
	if first.Allocations[0].ContractNo != "CT-AAAA0001" {
		t.Fatalf("first advance went to %s", first.Allocations[0].ContractNo)
	}
	// With 300 booked, the oldest contract's open balance is 700, which the
	// next line pays exactly.
	second := book.Match(Line{Amount: d("700"), PayerName: "Cancity"})
	if len(second.Allocations) != 1 || second.Allocations[0].ContractNo != "CT-AAAA0001" {
		t.Fatalf("second line = %+v, want CT-AAAA0001", second)
	}
	third := book.Match(Line{Amount: d("17"), PayerName: "Cancity"})
	if third.Outcome != OutcomeMatched || third.Allocations[0].ContractNo != "CT-AAAA0002" {
		t.Fatalf("third line = %+v, want the only open contract CT-AAAA0002", third)
	}
}

func TestContractNumbers(t *testing.T) {
	got := ContractNumbers("支付合同ct-aaaa0001、CT-BBBB0001余款 CT-AAAA0001", nil)
	want := []string{"CT-AAAA0001", "CT-BBBB0001"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ContractNumbers = %v, want %v", got, want)
	}
}
