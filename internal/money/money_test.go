package money

import (
	"testing"

	"github.com/shopspring/decimal"
)

func dec(t *testing.T, text string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(text)
	if err != nil {
		t.Fatalf("bad test decimal %q: %v", text, err)
	}
	return d
}

func TestParseSigned(t *testing.T) {
	cases := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"negative with separators", "-35,000.00", "-35000", false},
		{"explicit plus", "+1,200.50", "1200.5", false},
		{"plain", "980", "980", false},
		{"spaces", "  12.34 ", "12.34", false},
		{"empty", "", "", true},
		{"letters", "12a", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSigned(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseSigned(%q) = %s, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSigned(%q): %v", tc.in, err)
			}
			if !got.Equal(dec(t, tc.want)) {
				t.Errorf("ParseSigned(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatSigned(t *testing.T) {
	cases := map[string]string{
		"-35000":   "-35,000.00",
		"1200.5":   "1,200.50",
		"0":        "0.00",
		"999":      "999.00",
		"1234567":  "1,234,567.00",
		"-0.01":    "-0.01",
		"100000.1": "100,000.10",
	}
	for in, want := range cases {
		if got := FormatSigned(dec(t, in)); got != want {
			t.Errorf("FormatSigned(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitAddsUpToTotal(t *testing.T) {
	total := dec(t, "1054.01")
	parts, err := Split(total, []decimal.Decimal{dec(t, "0.3"), dec(t, "0.7")})
	if err != nil {
		t.Fatal(err)
	}
	if !parts[0].Equal(dec(t, "316.2")) {
		t.Errorf("first part = %s, want 316.20", parts[0])
	}
	if sum := parts[0].Add(parts[1]); !sum.Equal(total) {
		t.Errorf("parts add up to %s, want %s", sum, total)
	}
}

func TestSplitRejectsBadRatios(t *testing.T) {
	if _, err := Split(dec(t, "10"), []decimal.Decimal{dec(t, "0.5")}); err == nil {
		t.Error("ratios adding up to 0.5 were accepted")
	}
	if _, err := Split(dec(t, "10"), nil); err == nil {
		t.Error("empty ratios were accepted")
	}
	if _, err := Split(dec(t, "10"), []decimal.Decimal{dec(t, "1.5"), dec(t, "-0.5")}); err == nil {
		t.Error("negative ratio was accepted")
	}
}

func TestTaxFromInclusive(t *testing.T) {
	amount, tax := TaxFromInclusive(dec(t, "1054"), dec(t, "0.13"))
	if !amount.Equal(dec(t, "932.74")) {
		t.Errorf("amount = %s, want 932.74", amount)
	}
	if !tax.Equal(dec(t, "121.26")) {
		t.Errorf("tax = %s, want 121.26", tax)
	}
}

func TestToFen(t *testing.T) {
	fen, err := ToFen(dec(t, "12.34"))
	if err != nil || fen != 1234 {
		t.Errorf("ToFen(12.34) = %d, %v; want 1234", fen, err)
	}
	if _, err := ToFen(dec(t, "0.001")); err == nil {
		t.Error("ToFen(0.001) lost a fraction of a fen without an error")
	}
	if got := FromFen(-3500000); !got.Equal(dec(t, "-35000")) {
		t.Errorf("FromFen = %s", got)
	}
}
