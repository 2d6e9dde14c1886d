package validation

import (
	"fmt"
	"strings"
)

// taxNoAlphabet is the character set of the unified social credit code
// (统一社会信用代码, GB 32100-2015): digits and the capital letters
// without I, O, S, V and Z. A character's value is its position.
const taxNoAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// taxNoWeights are the GB 32100-2015 weights of the first 17 characters,
// 3^i mod 31.
var taxNoWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// TaxNoCheckChar returns the check character for the first 17 characters
// of a unified social credit code.
func TaxNoCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("unified social credit code body %q has %d characters, expected 17", first17, len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		value := strings.IndexByte(taxNoAlphabet, first17[i])
		if value < 0 {
			return 0, fmt.Errorf("unified social credit code %q contains invalid character %q at position %d", first17, first17[i], i+1)
		}
		sum += value * taxNoWeights[i]
	}
	return taxNoAlphabet[(31-sum%31)%31], nil
}

// CheckTaxNo checks a Chinese taxpayer number in its current form, the
// 18-character unified social credit code, including its check character.
func CheckTaxNo(taxNo string) error {
	if len(taxNo) != 18 {
		return fmt.Errorf("tax number %q has %d characters: a unified social credit code has 18", taxNo, len(taxNo))
	}
	check, err := TaxNoCheckChar(taxNo[:17])
	if err != nil {
		return fmt.Errorf("tax number %q is invalid: %w", taxNo, err)
	}
	if taxNo[17] != check {
		return fmt.Errorf("tax number %q has check character %c, expected %c: correct the number in the ERP", taxNo, taxNo[17], check)
	}
	return nil
}
