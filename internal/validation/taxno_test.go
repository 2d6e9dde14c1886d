package validation

import "testing"

func TestCheckTaxNo(t *testing.T) {
	cases := []struct {
		taxNo string
		valid bool
	}{
		{"91440300708461136T", true}, // Tencent Technology (Shenzhen), as published
		{"91440300708461136X", false},
		{"9144030070846113", false},
		{"91440300I08461136T", false},
		{"", false},
	}
	for _, c := range cases {
		err := CheckTaxNo(c.taxNo)
		if c.valid && err != nil {
			t.Errorf("CheckTaxNo(%q) = %v, want valid", c.taxNo, err)
		}
		if !c.valid && err == nil {
			t.Errorf("CheckTaxNo(%q) = nil, want an error", c.taxNo)
		}
	}
}
