package crmimport

import "testing"

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"technolgy", "technology", 1},
		{"philipines", "philippines", 1},
		{"germnay", "germany", 1}, // adjacent swap counts once
		{"kenya", "korea", 3},
		{"türkiye", "turkiye", 1}, // runes, not bytes
	}
	for _, tc := range cases {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, expected %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, expected %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestVocabularyMatch(t *testing.T) {
	countries := newVocabulary(DefaultCountries)
	sectors := newVocabulary(DefaultSectors)
	cases := []struct {
		name      string
		v         *vocabulary
		value     string
		wantEntry string
		wantKind  matchKind
	}{
		{"exact", countries, "Japan", "Japan", matchExact},
		{"case only", countries, "united states", "United States", matchCase},
		{"one letter missing", countries, "Philipines", "Philippines", matchNear},
		{"sector typo", sectors, "technolgy", "technology", matchNear},
		{"two typos in a long word", sectors, "telecomunicatons", "telecommunications", matchNear},
		{"too far", countries, "Korea", "", matchNone},
		{"words under 4 letters are not corrected", countries, "Cba", "", matchNone},
		{"swap in a 4-letter word", countries, "Chda", "Chad", matchNear},
		{"tie between two entries", countries, "Irak", "Iran or Iraq", matchAmbiguous},
		{"real name beside a near one", countries, "Niger", "Niger", matchExact},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			entry, kind := tc.v.match(tc.value)
			if kind != tc.wantKind {
				t.Errorf("match(%q) kind = %d, expected %d", tc.value, kind, tc.wantKind)
			}
			if entry != tc.wantEntry {
				t.Errorf("match(%q) = %q, expected %q", tc.value, entry, tc.wantEntry)
			}
		})
	}
}
