package validation

import (
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name    string            `yaml:"name"`
	Count   int               `yaml:"count"`
	Ratio   float64           `yaml:"ratio"`
	Enabled bool              `yaml:"enabled"`
	Timeout time.Duration     `yaml:"timeout"`
	Since   time.Time         `yaml:"since"`
	Tags    []string          `yaml:"tags"`
	Limits  map[string]limit  `yaml:"limits"`
	Items   []item            `yaml:"items"`
	Extra   map[string]string `yaml:"extra"`
	Skipped string            `yaml:"-"`
	Default string
	common  `yaml:",inline"`
	Nested  *nested `yaml:"nested"`
}

type common struct {
	Owner string `yaml:"owner"`
}

type limit struct {
	Max int `yaml:"max"`
}

type item struct {
	ID    string `yaml:"id"`
	Price int    `yaml:"price"`
}

type nested struct {
	Deep struct {
		Value int `yaml:"value"`
	} `yaml:"deep"`
}

func TestDecodeYAMLAccepts(t *testing.T) {
	text := `
name: demo
count: 3
ratio: 0.5
enabled: true
timeout: 90s
since: 2026-12-01T08:00:00Z
tags: [a, b]
limits:
  cpu: {max: 4}
items:
  - &first {id: one, price: 10}
  - <<: *first
    id: two
extra: {k: v}
default: lower-cased field name
owner: inline field
nested: {deep: {value: 7}}
`
	out := sample{Name: "replaced", Tags: []string{"old"}}
	if problems := DecodeYAML([]byte(text), &out); problems != nil {
		t.Fatalf("problems: %v", problems)
	}
	if out.Name != "demo" || out.Count != 3 || out.Timeout != 90*time.Second || !out.Enabled {
		t.Errorf("scalars = %+v", out)
	}
	if len(out.Items) != 2 || out.Items[1].ID != "two" || out.Items[1].Price != 10 {
		t.Errorf("items with merge key = %+v", out.Items)
	}
	if out.Limits["cpu"].Max != 4 || out.Owner != "inline field" || out.Default != "lower-cased field name" {
		t.Errorf("map, inline or untagged field = %+v", out)
	}
	if out.Nested == nil || out.Nested.Deep.Value != 7 {
		t.Errorf("nested = %+v", out.Nested)
	}
}

func TestDecodeYAMLKeepsDefaults(t *testing.T) {
	out := sample{Name: "default", Count: 5}
	if problems := DecodeYAML([]byte("count: 6\n"), &out); problems != nil {
		t.Fatalf("problems: %v", problems)
	}
	if out.Name != "default" || out.Count != 6 {
		t.Errorf("out = %+v, expected the default name and count 6", out)
	}
	if problems := DecodeYAML([]byte("# only a comment\n"), &out); problems != nil {
		t.Fatalf("empty document without required keys: %v", problems)
	}
}

func TestDecodeYAMLLeavesOutUnchangedOnProblems(t *testing.T) {
	out := sample{Name: "default"}
	problems := DecodeYAML([]byte("name: changed\ncount: many\n"), &out)
	if len(problems) != 1 {
		t.Fatalf("problems = %v, expected one", problems)
	}
	if out.Name != "default" {
		t.Errorf("name = %q: a rejected document changed out", out.Name)
	}
}

func TestDecodeYAMLReports(t *testing.T) {
	cases := []struct {
		name     string
		text     string
		required []string
		expected []Problem
	}{
		{"unknown key", "nmae: x\n", nil, []Problem{{"nmae", `unknown key (did you mean "name"?); the keys here are count, default, enabled, extra, items, limits, name, nested, owner, ratio, since, tags, timeout`}}},
		{"unknown key in a list", "items:\n  - {id: a, prise: 1}\n", nil, []Problem{{"items[0].prise", `unknown key (did you mean "price"?); the keys here are id, price`}}},
		{"unknown key in a map value", "limits:\n  cpu: {min: 1}\n", nil, []Problem{{"limits.cpu.min", `unknown key (did you mean "max"?); the keys here are max`}}},
		{"skipped field", "skipped: x\n", nil, []Problem{{"skipped", "unknown key"}}},
		{"whole number", "count: many\n", nil, []Problem{{"count", `expected a whole number, got "many"`}}},
		{"fraction", "count: 1.5\n", nil, []Problem{{"count", `expected a whole number, got "1.5"`}}},
		{"quoted number", "count: \"3\"\n", nil, []Problem{{"count", `expected a whole number, got "3"`}}},
		{"number", "ratio: half\n", nil, []Problem{{"ratio", `expected a number, got "half"`}}},
		{"flag", "enabled: maybe\n", nil, []Problem{{"enabled", `expected true or false, got "maybe"`}}},
		{"duration", "timeout: soon\n", nil, []Problem{{"timeout", `expected a duration such as 5s, 2m or 1h, got "soon"`}}},
		{"time", "since: yesterday\n", nil, []Problem{{"since", `invalid value "yesterday"`}}},
		{"list for a value", "name: [a]\n", nil, []Problem{{"name", "expected a single value, got a list"}}},
		{"value for a list", "tags: a\n", nil, []Problem{{"tags", `expected a list, got "a"`}}},
		{"deep", "nested: {deep: {value: x}}\n", nil, []Problem{{"nested.deep.value", `expected a whole number, got "x"`}}},
		{"twice", "name: a\ncount: 1\nname: b\n", nil, []Problem{{"name", "is set twice, on lines 1 and 3: keep one"}}},
		{"required", "name: a\n", []string{"count", "nested.deep"}, []Problem{{"count", "is required but missing"}, {"nested.deep", "is required but missing"}}},
		{"required of empty", "", []string{"name"}, []Problem{{"", "the document is empty: it must set name"}}},
		{"syntax", "name: [a\n", nil, []Problem{{"", "invalid YAML: line 1: did not find expected ',' or ']'"}}},
		{"bad merge", "items:\n  - <<: 5\n", nil, []Problem{{"items[0]", `a << merge key needs a mapping or a list of mappings, got "5"`}}},
		{"every problem", "count: x\nratio: y\nitems: [{id: 1, cost: 2}]\n", nil, []Problem{
			{"count", `expected a whole number, got "x"`},
			{"ratio", `expected a number, got "y"`},
			{"items[0].cost", `unknown key; the keys here are id, price`},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out sample
			problems := DecodeYAML([]byte(tc.text), &out, tc.required...)
			if len(problems) != len(tc.expected) {
				t.Fatalf("problems = %v, expected %v", problems, tc.expected)
			}
			for i, p := range problems {
				if p.Path != tc.expected[i].Path || !strings.HasPrefix(p.Reason, tc.expected[i].Reason) {
					t.Errorf("problem %d = %q, expected %q", i, p, tc.expected[i])
				}
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	text := "{\n\t\"name\": \"a\\/b\",\n\t\"items\": [{\"id\": \"a\", \"price\": 2}],\n\t\"ratio\": 0.25,\n\t\"enabled\": true,\n\t\"extra\": null\n}"
	var out sample
	if problems := DecodeJSON([]byte(text), &out); problems != nil {
		t.Fatalf("problems: %v", problems)
	}
	if out.Name != "a/b" {
		t.Errorf("name = %q, expected the escape \\/ read as /", out.Name)
	}
	if len(out.Items) != 1 || out.Items[0].Price != 2 || out.Ratio != 0.25 || !out.Enabled {
		t.Errorf("out = %+v", out)
	}
}

func TestDecodeJSONReports(t *testing.T) {
	cases := []struct {
		name     string
		text     string
		required []string
		expected []Problem
	}{
		{"unknown key", `{"items": [{"id": "a", "cost": 2}]}`, nil, []Problem{{"items[0].cost", "unknown key; the keys here are id, price"}}},
		{"wrong type", `{"count": "3", "enabled": 1}`, nil, []Problem{{"count", `expected a whole number, got "3"`}, {"enabled", `expected true or false, got "1"`}}},
		{"fraction", `{"count": 1.0}`, nil, []Problem{{"count", `expected a whole number, got "1.0"`}}},
		{"key set twice", `{"name": "a", "name": "b"}`, nil, []Problem{{"name", "is set twice: keep one"}}},
		{"syntax", `{"name": "a",}`, nil, []Problem{{"", "invalid JSON at byte 12: invalid character ','"}}},
		{"truncated", `{"name": "a"`, nil, []Problem{{"", "invalid JSON at byte 12: unexpected end of JSON input"}}},
		{"trailing value", `{"name": "a"} {}`, nil, []Problem{{"", "invalid JSON: send one JSON value and nothing after it"}}},
		{"empty", "  ", []string{"name"}, []Problem{{"", "the document is empty: it must set name"}}},
		{"null", "null", []string{"name"}, []Problem{{"name", "is required but missing"}}},
		{"list", `[1]`, nil, []Problem{{"", "expected a mapping of keys, got a list"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out sample
			problems := DecodeJSON([]byte(tc.text), &out, tc.required...)
			if len(problems) != len(tc.expected) {
				t.Fatalf("problems = %v, expected %v", problems, tc.expected)
			}
			for i, p := range problems {
				if p.Path != tc.expected[i].Path || !strings.HasPrefix(p.Reason, tc.expected[i].Reason) {
					t.Errorf("problem %d = %q, expected %q", i, p, tc.expected[i])
				}
			}
		})
	}
}

func TestErrorListsProblems(t *testing.T) {
	var problems Problems
	if problems.Err("rules") != nil {
		t.Fatalf("no problems gave an error")
	}
	problems.Add("a.b", "must be %d or more", 2)
	problems.Add("", "the document is empty")
	err := problems.Err("rules")
	expected := "invalid rules: a.b: must be 2 or more; the document is empty"
	if err == nil || err.Error() != expected {
		t.Errorf("error = %v, expected %q", err, expected)
	}
}

func TestPaths(t *testing.T) {
	if got := Index(Key(Key("", "approvals"), "routes"), 1) + ".up_to"; got != "approvals.routes[1].up_to" {
		t.Errorf("path = %q", got)
	}
}
