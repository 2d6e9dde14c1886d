package crmimport

import (
	"strings"
	"unicode/utf8"
)

// DefaultSectors is the CRM's picklist of account sectors: the sectors of
// the Maven Analytics sample export spelled correctly, plus common ones.
var DefaultSectors = []string{
	"agriculture", "construction", "education", "employment", "energy",
	"entertainment", "finance", "government", "hospitality", "insurance",
	"logistics", "manufacturing", "marketing", "medical", "retail",
	"services", "software", "technology", "telecommunications",
}

// DefaultCountries holds the English short names of countries and
// territories, with a few common alternative names. "Korea" is left out on
// purpose: it does not say which Korea.
var DefaultCountries = []string{
	"Afghanistan", "Albania", "Algeria", "Andorra", "Angola", "Antigua and Barbuda",
	"Argentina", "Armenia", "Australia", "Austria", "Azerbaijan", "Bahamas", "Bahrain",
	"Bangladesh", "Barbados", "Belarus", "Belgium", "Belize", "Benin", "Bhutan",
	"Bolivia", "Bosnia and Herzegovina", "Botswana", "Brazil", "Brunei", "Bulgaria",
	"Burkina Faso", "Burundi", "Cabo Verde", "Cambodia", "Cameroon", "Canada",
	"Central African Republic", "Chad", "Chile", "China", "Colombia", "Comoros",
	"Congo", "Costa Rica", "Côte d'Ivoire", "Croatia", "Cuba", "Cyprus", "Czechia",
	"Czech Republic", "Democratic Republic of the Congo", "Denmark", "Djibouti",
	"Dominica", "Dominican Republic", "Ecuador", "Egypt", "El Salvador",
	"Equatorial Guinea", "Eritrea", "Estonia", "Eswatini", "Ethiopia", "Fiji",
	"Finland", "France", "Gabon", "Gambia", "Georgia", "Germany", "Ghana", "Greece",
	"Grenada", "Guatemala", "Guinea", "Guinea-Bissau", "Guyana", "Haiti", "Honduras",
	"Hong Kong", "Hungary", "Iceland", "India", "Indonesia", "Iran", "Iraq", "Ireland",
	"Israel", "Italy", "Jamaica", "Japan", "Jordan", "Kazakhstan", "Kenya", "Kiribati",
	"Kuwait", "Kyrgyzstan", "Laos", "Latvia", "Lebanon", "Lesotho", "Liberia", "Libya",
	"Liechtenstein", "Lithuania", "Luxembourg", "Macao", "Madagascar", "Malawi",
	"Malaysia", "Maldives", "Mali", "Malta", "Marshall Islands", "Mauritania",
	"Mauritius", "Mexico", "Micronesia", "Moldova", "Monaco", "Mongolia", "Montenegro",
	"Morocco", "Mozambique", "Myanmar", "Namibia", "Nauru", "Nepal", "Netherlands",
	"New Zealand", "Nicaragua", "Niger", "Nigeria", "North Korea", "North Macedonia",
	"Norway", "Oman", "Pakistan", "Palau", "Palestine", "Panama", "Papua New Guinea",
	"Paraguay", "Peru", "Philippines", "Poland", "Portugal", "Puerto Rico", "Qatar",
	"Romania", "Russia", "Rwanda", "Saint Kitts and Nevis", "Saint Lucia",
	"Saint Vincent and the Grenadines", "Samoa", "San Marino", "Sao Tome and Principe",
	"Saudi Arabia", "Senegal", "Serbia", "Seychelles", "Sierra Leone", "Singapore",
	"Slovakia", "Slovenia", "Solomon Islands", "Somalia", "South Africa", "South Korea",
	"South Sudan", "Spain", "Sri Lanka", "Sudan", "Suriname", "Sweden", "Switzerland",
	"Syria", "Taiwan", "Tajikistan", "Tanzania", "Thailand", "Timor-Leste", "Togo",
	"Tonga", "Trinidad and Tobago", "Tunisia", "Turkey", "Türkiye", "Turkmenistan",
	"Tuvalu", "Uganda", "Ukraine", "United Arab Emirates", "United Kingdom",
	"United States", "Uruguay", "Uzbekistan", "Vanuatu", "Vatican City", "Venezuela",
	"Vietnam", "Yemen", "Zambia", "Zimbabwe",
}

// vocabulary is a fixed list of accepted spellings. It corrects a value
// that differs from exactly one entry by case or by a small edit distance.
type vocabulary struct {
	entries []string
	// byFolded maps the lower-case form of each entry to the entry.
	byFolded map[string]string
}

func newVocabulary(entries []string) *vocabulary {
	v := &vocabulary{entries: entries, byFolded: make(map[string]string, len(entries))}
	for _, e := range entries {
		v.byFolded[strings.ToLower(e)] = e
	}
	return v
}

// matchKind classifies the result of vocabulary.match.
type matchKind int

const (
	matchExact     matchKind = iota // the value is an entry
	matchCase                       // the value is an entry in another case
	matchNear                       // one entry is within the edit-distance threshold
	matchAmbiguous                  // several entries are equally near
	matchNone                       // no entry is near
)

// match returns the entry value means and how it was found. For
// matchAmbiguous it returns the nearest entries joined by " or ".
func (v *vocabulary) match(value string) (string, matchKind) {
	folded := strings.ToLower(value)
	if entry, ok := v.byFolded[folded]; ok {
		if entry == value {
			return entry, matchExact
		}
		return entry, matchCase
	}

	limit := maxEditDistance(folded)
	best := limit
	var nearest []string
	for _, entry := range v.entries {
		d := editDistance(folded, strings.ToLower(entry))
		switch {
		case d > limit:
		case d < best || len(nearest) == 0:
			best = d
			nearest = []string{entry}
		case d == best:
			nearest = append(nearest, entry)
		}
	}
	switch {
	case len(nearest) == 1:
		return nearest[0], matchNear
	case len(nearest) > 1:
		return strings.Join(nearest, " or "), matchAmbiguous
	}
	return "", matchNone
}

// maxEditDistance is the largest number of typing errors corrected in a
// word of this length: none below 4 letters, where one edit often makes
// another real word, one up to 7 letters, and two from 8 letters on.
func maxEditDistance(word string) int {
	switch n := utf8.RuneCountInString(word); {
	case n < 4:
		return 0
	case n < 8:
		return 1
	default:
		return 2
	}
}

// editDistance returns the optimal string alignment distance between a and
// b: the number of inserted, deleted, substituted or swapped adjacent
// runes needed to turn a into b.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// rows[i][j] is the distance between s[:i] and t[:j]. Three rows are
	// kept because a swap looks two rows back.
	prev2 := make([]int, len(t)+1)
	prev := make([]int, len(t)+1)
	cur := make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(t)]
}
