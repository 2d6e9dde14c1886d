package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/internal/validation"
)

var (
	yamlHeader = http.Header{"Content-Type": {"application/yaml"}}
	jsonHeader = http.Header{"Content-Type": {"application/json"}}
)

// newRulesServer starts the API on a store of driver holding the default
// rules as version 1, as ordo sets it up at startup.
func newRulesServer(t *testing.T, driver string) *testServer {
	t.Helper()
	ts := newTestServer(t, driver, nil)
	if err := ts.store.EnsureDefaultRules(context.Background()); err != nil {
		t.Fatalf("store default rules: %v", err)
	}
	return ts
}

// rulesYAML returns the default rules with verification.distinct_reps set
// to reps.
func rulesYAML(t *testing.T, reps int) []byte {
	t.Helper()
	doc := rules.Default()
	doc.Verification.DistinctReps = reps
	data, err := doc.YAML()
	if err != nil {
		t.Fatalf("encode rules: %v", err)
	}
	return data
}

func TestRulesAPI(t *testing.T) {
	storetest.RequirePostgres(t)
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			testRulesAPI(t, newRulesServer(t, driver))
		})
	}
}

func testRulesAPI(t *testing.T, ts *testServer) {
	t.Run("show the defaults", func(t *testing.T) {
		resp := ts.do(http.MethodGet, "/api/v1/rules", nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var got RulesVersion
		resp.decode(t, &got)
		if got.Version != 1 || got.AppliedBy != store.DefaultRulesApplier || got.AppliedAt.IsZero() {
			t.Errorf("version %d by %q at %v, expected 1 by %q", got.Version, got.AppliedBy, got.AppliedAt, store.DefaultRulesApplier)
		}
		if got.Document.Checksum() != rules.Default().Checksum() || got.Checksum != got.Document.Checksum() {
			t.Errorf("document is not the default")
		}
	})

	t.Run("show as YAML", func(t *testing.T) {
		resp := ts.do(http.MethodGet, "/api/v1/rules?format=yaml", nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
			t.Errorf("Content-Type = %q, expected application/yaml", ct)
		}
		if !bytes.Equal(resp.body, rules.DefaultYAML()) {
			t.Errorf("YAML answer is not the stored text with its comments")
		}
	})

	t.Run("apply YAML", func(t *testing.T) {
		resp := ts.do(http.MethodPost, "/api/v1/rules?by=li.na&comment=four+reps", rulesYAML(t, 4), yamlHeader)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var got RulesApplied
		resp.decode(t, &got)
		if got.Unchanged || got.Version != 2 || got.AppliedBy != "li.na" || got.Comment != "four reps" {
			t.Errorf("answer = version %d by %q (%q), unchanged %v; expected new version 2 by li.na", got.Version, got.AppliedBy, got.Comment, got.Unchanged)
		}
		if got.Document.Verification.DistinctReps != 4 {
			t.Errorf("answer's distinct_reps = %d, expected 4", got.Document.Verification.DistinctReps)
		}
	})

	t.Run("apply the same YAML again", func(t *testing.T) {
		text := append([]byte("# only a comment differs\n"), rulesYAML(t, 4)...)
		resp := ts.do(http.MethodPost, "/api/v1/rules?by=wang.fang", text, http.Header{"Content-Type": {"text/yaml; charset=utf-8"}})
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var got RulesApplied
		resp.decode(t, &got)
		if !got.Unchanged || got.Version != 2 || got.AppliedBy != "li.na" {
			t.Errorf("answer = version %d by %q, unchanged %v; expected unchanged version 2 by li.na", got.Version, got.AppliedBy, got.Unchanged)
		}
	})

	t.Run("apply JSON", func(t *testing.T) {
		doc := rules.Default()
		doc.Verification.DistinctReps = 5
		resp := ts.do(http.MethodPost, "/api/v1/rules", mustJSON(t, doc), jsonHeader)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var got RulesApplied
		resp.decode(t, &got)
		if got.Unchanged || got.Version != 3 || got.AppliedBy != "api" {
			t.Errorf("answer = version %d by %q, unchanged %v; expected new version 3 by api", got.Version, got.AppliedBy, got.Unchanged)
		}
		stored := ts.do(http.MethodGet, "/api/v1/rules/versions/3?format=yaml", nil, nil)
		reread, err := rules.Parse(stored.body)
		if err != nil {
			t.Fatalf("a version applied as JSON is not stored as YAML: %v\n%s", err, stored.body)
		}
		if reread.Verification.DistinctReps != 5 {
			t.Errorf("stored distinct_reps = %d, expected 5", reread.Verification.DistinctReps)
		}
	})

	t.Run("show a version", func(t *testing.T) {
		resp := ts.do(http.MethodGet, "/api/v1/rules/versions/2", nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var got RulesVersion
		resp.decode(t, &got)
		if got.Version != 2 || got.Document.Verification.DistinctReps != 4 {
			t.Errorf("version %d with distinct_reps %d, expected 2 and 4", got.Version, got.Document.Verification.DistinctReps)
		}
	})

	t.Run("list versions", func(t *testing.T) {
		resp := ts.do(http.MethodGet, "/api/v1/rules/versions", nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.status, resp.body)
		}
		var got RuleVersionList
		resp.decode(t, &got)
		var numbers []int
		for _, v := range got.Versions {
			numbers = append(numbers, v.Version)
		}
		if len(numbers) != 3 || numbers[0] != 3 || numbers[2] != 1 {
			t.Errorf("versions %v, expected [3 2 1]", numbers)
		}
		if !strings.Contains(string(resp.body), `"applied_by": "li.na"`) {
			t.Errorf("list does not show who applied version 2: %s", resp.body)
		}
	})

	t.Run("newest after applies", func(t *testing.T) {
		var got RulesVersion
		ts.do(http.MethodGet, "/api/v1/rules", nil, nil).decode(t, &got)
		if got.Version != 3 {
			t.Errorf("newest version = %d, expected 3", got.Version)
		}
	})
}

func TestRulesAPIRejects(t *testing.T) {
	ts := newRulesServer(t, "sqlite")
	invalidValues := bytes.Replace(rules.DefaultYAML(), []byte("distinct_reps: 3"), []byte("distinct_reps: 1"), 1)
	invalidValues = bytes.Replace(invalidValues, []byte("    - up_to: 200000"), []byte("    - up_to: 20000"), 1)
	unknownKey := bytes.Replace(rules.DefaultYAML(), []byte("  day_end: \"18:00\""), []byte("  day_end: \"18:00\"\n  lunch_break: 1h"), 1)
	jsonDoc := mustJSON(t, rules.Default())

	cases := []struct {
		name     string
		body     []byte
		header   http.Header
		query    string
		expected []validation.Problem
	}{
		{"impossible values", invalidValues, yamlHeader, "", []validation.Problem{
			{Path: "approvals.routes[1].up_to", Reason: "must be greater than routes[0].up_to 30000"},
			{Path: "verification.distinct_reps", Reason: "must be at least 2, got 1: one rep reporting a signing is the normal case"},
		}},
		{"unknown key", unknownKey, yamlHeader, "", []validation.Problem{
			{Path: "calendar.lunch_break", Reason: "unknown key; the keys here are day_end, day_start, override_file, time_zone"},
		}},
		{"wrong type", bytes.Replace(rules.DefaultYAML(), []byte("freeze_renewal_approval: true"), []byte("freeze_renewal_approval: sometimes"), 1), yamlHeader, "", []validation.Problem{
			{Path: "tickets.freeze_renewal_approval", Reason: `expected true or false, got "sometimes"`},
		}},
		{"empty", nil, yamlHeader, "", []validation.Problem{
			{Path: "", Reason: "the document is empty: it must set leads, renewals, tickets, approvals, verification, calendar, people"},
		}},
		{"JSON with an unknown key", bytes.Replace(jsonDoc, []byte(`"window"`), []byte(`"windows"`), 1), jsonHeader, "", []validation.Problem{
			{Path: "verification.windows", Reason: `unknown key (did you mean "window"?); the keys here are distinct_reps, template, verifier_role, window`},
		}},
		{"applier too long", rules.DefaultYAML(), yamlHeader, "?by=" + strings.Repeat("x", 201), []validation.Problem{
			{Path: "applied_by", Reason: "is longer than 200 characters"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := ts.do(http.MethodPost, "/api/v1/rules"+tc.query, tc.body, tc.header)
			if resp.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, expected 422; body %s", resp.status, resp.body)
			}
			var got InvalidRules
			resp.decode(t, &got)
			if got.Error.Code != "invalid_rules" || !strings.Contains(got.Error.Message, "nothing was applied") {
				t.Errorf("error = %+v, expected invalid_rules saying nothing was applied", got.Error)
			}
			if len(got.Errors) != len(tc.expected) {
				t.Fatalf("errors = %+v, expected %+v", got.Errors, tc.expected)
			}
			for i := range tc.expected {
				if got.Errors[i] != tc.expected[i] {
					t.Errorf("error %d = %+v, expected %+v", i, got.Errors[i], tc.expected[i])
				}
			}
			var raw map[string][]map[string]string
			_ = json.Unmarshal(resp.body, &raw)
			if _, ok := raw["errors"][0]["path"]; !ok {
				t.Errorf("errors carry no path field: %s", resp.body)
			}
		})
	}

	t.Run("unsupported content type", func(t *testing.T) {
		ts.do(http.MethodPost, "/api/v1/rules", rules.DefaultYAML(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}).
			expectError(t, http.StatusUnsupportedMediaType, "unsupported_media_type", "application/yaml", "application/json")
	})
	t.Run("body too large", func(t *testing.T) {
		ts.do(http.MethodPost, "/api/v1/rules", bytes.Repeat([]byte("#"), maxBodyBytes+1), yamlHeader).
			expectError(t, http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("missing version", func(t *testing.T) {
		ts.do(http.MethodGet, "/api/v1/rules/versions/42", nil, nil).expectError(t, http.StatusNotFound, "not_found", "rules version 42")
	})
	t.Run("invalid version", func(t *testing.T) {
		ts.do(http.MethodGet, "/api/v1/rules/versions/0", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "whole numbers from 1")
	})
	t.Run("unknown format", func(t *testing.T) {
		ts.do(http.MethodGet, "/api/v1/rules?format=xml", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "json or yaml")
	})

	var list RuleVersionList
	ts.do(http.MethodGet, "/api/v1/rules/versions", nil, nil).decode(t, &list)
	if len(list.Versions) != 1 {
		t.Errorf("%d versions after rejected applies, expected only the default", len(list.Versions))
	}
}

func TestRulesAPIEmptyStore(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ts.do(http.MethodGet, "/api/v1/rules", nil, nil).expectError(t, http.StatusNotFound, "not_found", "no version stored")
}

func TestRulesAPIRequiresToken(t *testing.T) {
	const token = "rules-api-token"
	ts := newTestServer(t, "sqlite", func(s *Server) { s.Token = token })
	if err := ts.store.EnsureDefaultRules(context.Background()); err != nil {
		t.Fatalf("store default rules: %v", err)
	}
	routes := []struct {
		method string
		path   string
		body   []byte
	}{
		{http.MethodGet, "/api/v1/rules", nil},
		{http.MethodGet, "/api/v1/rules?format=yaml", nil},
		{http.MethodGet, "/api/v1/rules/versions", nil},
		{http.MethodGet, "/api/v1/rules/versions/1", nil},
		{http.MethodPost, "/api/v1/rules?by=mallory", rulesYAML(t, 9)},
	}
	for _, route := range routes {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/yaml"}}
			ts.do(route.method, route.path, route.body, header).
				expectError(t, http.StatusUnauthorized, "unauthorized", "bearer token")
			header.Set("Authorization", "Bearer wrong")
			ts.do(route.method, route.path, route.body, header).
				expectError(t, http.StatusUnauthorized, "unauthorized", "bearer token")
		})
	}
	versions, err := ts.store.ListRuleVersions(context.Background())
	if err != nil {
		t.Fatalf("list versions: %v", err)
	}
	if len(versions) != 1 {
		t.Errorf("%d versions after unauthenticated applies, expected 1", len(versions))
	}

	resp := ts.do(http.MethodPost, "/api/v1/rules?by=li.na", rulesYAML(t, 9),
		http.Header{"Content-Type": {"application/yaml"}, "Authorization": {"Bearer " + token}})
	if resp.status != http.StatusOK {
		t.Errorf("apply with the token: status %d; body %s", resp.status, resp.body)
	}
}
