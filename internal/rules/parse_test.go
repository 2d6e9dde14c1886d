package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/internal/validation"
)

func TestDefaultIsValid(t *testing.T) {
	if problems := Default().Validate(); len(problems) > 0 {
		t.Fatalf("default rules: %v", problems.Err("rules"))
	}
}

func TestExampleEqualsDefault(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rules.example.yaml"))
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	if !bytes.Equal(example, DefaultYAML()) {
		t.Fatalf("deploy/rules.example.yaml and internal/rules/default.yaml differ: copy one over the other")
	}
	doc, err := Parse(example)
	if err != nil {
		t.Fatalf("parse example: %v", err)
	}
	expectSameDocument(t, doc, Default())
}

func TestParseJSON(t *testing.T) {
	data, err := json.MarshalIndent(Default(), "", "\t")
	if err != nil {
		t.Fatalf("encode default as JSON: %v", err)
	}
	doc, err := ParseJSON(data)
	if err != nil {
		t.Fatalf("parse JSON: %v", err)
	}
	expectSameDocument(t, doc, Default())

	unknown := bytes.Replace(data, []byte(`"distinct_reps"`), []byte(`"distinct_rep"`), 1)
	_, err = ParseJSON(unknown)
	expectProblem(t, err, "verification.distinct_rep", `unknown key (did you mean "distinct_reps"?)`)

	invalid := bytes.Replace(data, []byte(`"distinct_reps": 3`), []byte(`"distinct_reps": 1`), 1)
	_, err = ParseJSON(invalid)
	expectProblem(t, err, "verification.distinct_reps", "must be at least 2, got 1")

	_, err = ParseJSON([]byte(`{"leads": {}}`))
	expectProblem(t, err, "renewals", "is required but missing")
}

func TestYAMLRoundTrip(t *testing.T) {
	data, err := Default().YAML()
	if err != nil {
		t.Fatalf("encode default as YAML: %v", err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatalf("parse encoded default: %v\n%s", err, data)
	}
	expectSameDocument(t, doc, Default())
}

func TestChecksum(t *testing.T) {
	base := Default().Checksum()
	if len(base) != 64 {
		t.Fatalf("checksum %q is not 64 hex digits", base)
	}
	reordered, err := Parse(marshal(t, defaultTree(t)))
	if err != nil {
		t.Fatalf("parse re-encoded default: %v", err)
	}
	if got := reordered.Checksum(); got != base {
		t.Errorf("checksum without comments = %s, expected %s: layout and comments must not count", got, base)
	}
	changed := Default()
	changed.Verification.DistinctReps = 4
	if changed.Checksum() == base {
		t.Errorf("checksum did not change with verification.distinct_reps")
	}
	trailingZeros := Default()
	up := trailingZeros.Approvals.Routes[0].UpTo.Round(2)
	trailingZeros.Approvals.Routes[0].UpTo = &up
	if trailingZeros.Checksum() != base {
		t.Errorf("checksum changed when 30000 was written 30000.00")
	}
}

func TestDecodeIgnoresUnknownKeys(t *testing.T) {
	data := append(DefaultYAML(), []byte("retired_section:\n  key: 1\n")...)
	doc, err := Decode(data)
	if err != nil {
		t.Fatalf("decode stored rules: %v", err)
	}
	expectSameDocument(t, doc, Default())
}

func TestParseRejectsDocuments(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		path   string
		reason string
	}{
		{"empty", "", "", "the document is empty: it must set leads, renewals"},
		{"comments only", "# nothing yet\n", "", "the document is empty"},
		{"syntax error", "leads:\n  first_contact: [\n", "", "invalid YAML"},
		{"not a mapping", "- leads\n", "", "expected a mapping of keys, got a list"},
		{"key set twice", "leads: {}\nleads: {}\n", "leads", "is set twice, on lines 1 and 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			expectProblem(t, err, tc.path, tc.reason)
		})
	}
}

func TestParseRejectsDecoding(t *testing.T) {
	cases := []struct {
		name   string
		change func(tree map[string]any)
		path   string
		reason string
	}{
		{"unknown section", set("leadz", map[string]any{}), "leadz", `unknown key (did you mean "leads"?); the keys here are approvals, calendar`},
		{"unknown nested key", set("leads.first_contact.withn", "48h"), "leads.first_contact.withn", `did you mean "within"?`},
		{"unknown key far from any", set("calendar.holidays", "none"), "calendar.holidays", "unknown key; the keys here are day_end, day_start, override_file, time_zone"},
		{"unknown key in a level", set("approvals.routes[2].levels[1].approver", "x"), "approvals.routes[2].levels[1].approver", "unknown key"},
		{"unknown key of a person", set("people.roles.coo.mobile", "1"), "people.roles.coo.mobile", `unknown key; the keys here are email, name, phone`},
		{"missing section", remove("people"), "people", "is required but missing"},
		{"missing section among others", remove("calendar"), "calendar", "is required but missing"},
		{"text for a number", set("verification.distinct_reps", "three"), "verification.distinct_reps", `expected a whole number, got "three"`},
		{"fraction for a number", set("verification.distinct_reps", 2.5), "verification.distinct_reps", `expected a whole number, got "2.5"`},
		{"text for a flag", set("tickets.freeze_renewal_approval", "maybe"), "tickets.freeze_renewal_approval", `expected true or false, got "maybe"`},
		{"number for a duration", set("leads.first_contact.within", 48), "leads.first_contact.within", `expected a duration such as 48h, 90m or 30d, got "48"`},
		{"words for a duration", set("renewals.notice_before", "30 days"), "renewals.notice_before", `invalid duration "30 days"`},
		{"text for an amount", set("approvals.routes[0].up_to", "lots"), "approvals.routes[0].up_to", `invalid value "lots"`},
		{"mapping for a value", set("calendar.time_zone", map[string]any{"name": "Asia/Shanghai"}), "calendar.time_zone", "expected a single value, got a mapping"},
		{"list for a section", set("leads", []any{}), "leads", "expected a mapping of keys, got a list"},
		{"value for a list", set("approvals.routes", "three routes"), "approvals.routes", `expected a list, got "three routes"`},
		{"value for a map", set("people.roles", "none"), "people.roles", `expected a mapping of keys, got "none"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tree := defaultTree(t)
			tc.change(tree)
			_, err := Parse(marshal(t, tree))
			expectProblem(t, err, tc.path, tc.reason)
		})
	}
}

func TestParseReportsEveryDecodingProblem(t *testing.T) {
	tree := defaultTree(t)
	set("leads.first_contact.withn", "48h")(tree)
	set("verification.distinct_reps", "three")(tree)
	set("approvals.routes[1].up_to", "lots")(tree)
	remove("calendar")(tree)
	_, err := Parse(marshal(t, tree))
	expectProblem(t, err, "leads.first_contact.withn", "unknown key")
	expectProblem(t, err, "verification.distinct_reps", "expected a whole number")
	expectProblem(t, err, "approvals.routes[1].up_to", "invalid value")
	expectProblem(t, err, "calendar", "is required but missing")
	if n := len(problemsOf(t, err)); n != 4 {
		t.Errorf("%d problems, expected 4: %v", n, err)
	}
}

func TestParseRejectsValues(t *testing.T) {
	cases := []struct {
		name   string
		change func(tree map[string]any)
		path   string
		reason string
	}{
		{"zero deadline", set("leads.first_contact.within", "0s"), "leads.first_contact.within", "must be a positive duration such as 48h or 3d, got 0s"},
		{"negative deadline", set("tickets.respond.within", "-2h"), "tickets.respond.within", "must be a positive duration"},
		{"unknown hours", set("leads.follow_up.hours", "weekdays"), "leads.follow_up.hours", `"weekdays" is not calendar or working`},
		{"missing hours", remove("renewals.act_within.hours"), "renewals.act_within.hours", `"" is not calendar or working`},
		{"reminder at the deadline", set("leads.first_contact.remind_before", "48h"), "leads.first_contact.remind_before", "must be shorter than within (2d)"},
		{"reminder after the deadline", set("leads.follow_up.remind_before", "8d"), "leads.follow_up.remind_before", "must be shorter than within (45h)"},
		{"negative reminder", set("leads.first_contact.remind_before", "-1h"), "leads.first_contact.remind_before", "must not be negative, got -1h: use 0 for no reminder"},
		{"reminder without template", remove("leads.first_contact.reminder_template"), "leads.first_contact.reminder_template", "is required: name a notification template"},
		{"template without reminder", set("tickets.respond.reminder_template", "ticket_reminder"), "tickets.respond.reminder_template", "is set but remind_before is 0"},
		{"missing escalation template", set("renewals.act_within.escalation_template", ""), "renewals.act_within.escalation_template", "is required"},
		{"template with spaces", set("renewals.sms_template", "renewal sms"), "renewals.sms_template", `"renewal sms" is not a template name`},
		{"missing ticket template", remove("tickets.template"), "tickets.template", "is required"},
		{"notice longer than term", set("renewals.notice_before", "400d"), "renewals.notice_before", "must be shorter than renewals.default_term (365d)"},
		{"zero term", set("renewals.default_term", "0s"), "renewals.default_term", "must be a positive duration"},
		{"lower-case currency", set("approvals.currency", "cny"), "approvals.currency", `"cny" is not an ISO 4217 code`},
		{"routes out of order", set("approvals.routes[1].up_to", 20000), "approvals.routes[1].up_to", "must be greater than routes[0].up_to 30000"},
		{"routes equal", set("approvals.routes[1].up_to", "30000.00"), "approvals.routes[1].up_to", "must be greater than routes[0].up_to 30000"},
		{"zero threshold", set("approvals.routes[0].up_to", 0), "approvals.routes[0].up_to", "must be greater than 0, got 0"},
		{"negative threshold", set("approvals.routes[0].up_to", -5), "approvals.routes[0].up_to", "must be greater than 0, got -5"},
		{"open route before the last", remove("approvals.routes[1].up_to"), "approvals.routes[1].up_to", "is required on every route but the last"},
		{"last route with a threshold", set("approvals.routes[2].up_to", 1000000), "approvals.routes[2].up_to", "must be left out on the last route"},
		{"no routes", set("approvals.routes", []any{}), "approvals.routes", "needs at least one route"},
		{"route without levels", set("approvals.routes[0].levels", []any{}), "approvals.routes[0].levels", "needs at least one approval level"},
		{"unknown approver", set("approvals.routes[0].levels[0].role", "cfo"), "approvals.routes[0].levels[0].role", `role "cfo" is not defined: use one of supervisor, coo, customer_success, finance, product, sales_director`},
		{"unknown escalation", set("approvals.routes[2].levels[1].escalate_to", "board"), "approvals.routes[2].levels[1].escalate_to", `role "board" is not defined`},
		{"missing escalation", remove("approvals.routes[0].levels[0].escalate_to"), "approvals.routes[0].levels[0].escalate_to", "is required: name supervisor or a role of people.roles"},
		{"escalation to itself", set("approvals.routes[1].levels[0].escalate_to", "sales_director"), "approvals.routes[1].levels[0].escalate_to", `must differ from role "sales_director"`},
		{"same role twice", set("approvals.routes[2].levels[1].role", "sales_director"), "approvals.routes[2].levels[1].role", `"sales_director" already decides at levels[0]`},
		{"zero timeout", set("approvals.routes[0].levels[0].timeout", "0s"), "approvals.routes[0].levels[0].timeout", "must be a positive duration"},
		{"level hours", set("approvals.routes[0].levels[0].hours", "business"), "approvals.routes[0].levels[0].hours", `"business" is not calendar or working`},
		{"unknown ticket owner", set("tickets.route_to", "engineering"), "tickets.route_to", `role "engineering" is not defined`},
		{"unknown ticket escalation", set("tickets.escalate_to", "ceo"), "tickets.escalate_to", `role "ceo" is not defined`},
		{"unknown renewal escalation", set("renewals.escalate_to", "vp_sales"), "renewals.escalate_to", `role "vp_sales" is not defined`},
		{"one rep", set("verification.distinct_reps", 1), "verification.distinct_reps", "must be at least 2, got 1"},
		{"zero window", set("verification.window", "0s"), "verification.window", "must be a positive duration"},
		{"unknown verifier", set("verification.verifier_role", "auditor"), "verification.verifier_role", `role "auditor" is not defined`},
		{"missing verification template", set("verification.template", ""), "verification.template", "is required"},
		{"unknown time zone", set("calendar.time_zone", "Mars/Olympus"), "calendar.time_zone", `"Mars/Olympus" is not an IANA time zone`},
		{"missing time zone", set("calendar.time_zone", ""), "calendar.time_zone", "is required"},
		{"clock without minutes", set("calendar.day_start", "9am"), "calendar.day_start", `"9am" is not a time of day written as HH:MM`},
		{"clock out of range", set("calendar.day_end", "25:00"), "calendar.day_end", `"25:00" is not a time of day`},
		{"day ending before it starts", set("calendar.day_end", "08:00"), "calendar.day_end", "must be later than calendar.day_start (09:00)"},
		{"empty working day", set("calendar.day_end", "09:00"), "calendar.day_end", "must be later than calendar.day_start"},
		{"missing email domain", set("people.email_domain", ""), "people.email_domain", "is required"},
		{"address for a domain", set("people.email_domain", "ordo@example.com"), "people.email_domain", `"ordo@example.com" is not a domain name`},
		{"supervisor as a role", set("people.roles.supervisor", map[string]any{"name": "Wu Fang"}), "people.roles.supervisor", "cannot be assigned here"},
		{"role name with spaces", set("people.roles.Sales Lead", map[string]any{"name": "Wu Fang"}), "people.roles.Sales Lead", `"Sales Lead" is not a role name`},
		{"role without a name", set("people.roles.coo.name", ""), "people.roles.coo.name", "is required"},
		{"invalid email", set("people.roles.coo.email", "chen at example.com"), "people.roles.coo.email", `"chen at example.com" is not an email address`},
		{"invalid phone", set("people.roles.coo.phone", "call me"), "people.roles.coo.phone", `"call me" is not a phone number`},
		{"role used but removed", remove("people.roles.finance"), "approvals.routes[2].levels[1].role", `role "finance" is not defined`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tree := defaultTree(t)
			tc.change(tree)
			_, err := Parse(marshal(t, tree))
			expectProblem(t, err, tc.path, tc.reason)
		})
	}
}

func TestParseAcceptsVariants(t *testing.T) {
	cases := []struct {
		name   string
		change func(tree map[string]any)
	}{
		{"no reminder", func(tree map[string]any) {
			set("leads.first_contact.remind_before", "0s")(tree)
			remove("leads.first_contact.reminder_template")(tree)
		}},
		{"reminder left out", func(tree map[string]any) {
			remove("leads.first_contact.remind_before")(tree)
			remove("leads.first_contact.reminder_template")(tree)
		}},
		{"one open route", set("approvals.routes", []any{map[string]any{"levels": []any{map[string]any{
			"role": "sales_director", "timeout": "1d", "hours": "calendar", "escalate_to": "coo"}}}})},
		{"decimal threshold", set("approvals.routes[0].up_to", "29999.99")},
		{"person with address and phone", set("people.roles.coo", map[string]any{"name": "Chen Jianguo", "email": "coo@example.cn", "phone": "+86 138 0000 0000"})},
		{"extra role", set("people.roles.legal", map[string]any{"name": "Gao Yuan"})},
		{"days and hours", set("leads.follow_up.within", "1d12h")},
		{"null override file", set("calendar.override_file", nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tree := defaultTree(t)
			tc.change(tree)
			if _, err := Parse(marshal(t, tree)); err != nil {
				t.Fatalf("document rejected: %v", err)
			}
		})
	}
}

func TestNegativeReminderReportedOnce(t *testing.T) {
	doc := Default()
	doc.Leads.FirstContact.RemindBefore = Duration(-time.Hour)
	problems := doc.Validate()
	if len(problems) != 1 || problems[0].Path != "leads.first_contact.remind_before" {
		t.Errorf("problems = %v, expected only the negative remind_before", problems)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	doc := Default()
	doc.Leads.FirstContact.Within = 0
	doc.Verification.DistinctReps = 0
	doc.Calendar.DayStart = "18:00"
	doc.Calendar.DayEnd = "09:00"
	problems := doc.Validate()
	expected := []validation.Problem{
		{Path: "leads.first_contact.within", Reason: "must be a positive duration such as 48h or 3d, got 0s"},
		{Path: "verification.distinct_reps", Reason: "must be at least 2, got 0: one rep reporting a signing is the normal case"},
		{Path: "calendar.day_end", Reason: "must be later than calendar.day_start (18:00)"},
	}
	if len(problems) != len(expected) {
		t.Fatalf("problems = %v, expected %v", problems, expected)
	}
	for i := range expected {
		if problems[i] != expected[i] {
			t.Errorf("problem %d = %v, expected %v", i, problems[i], expected[i])
		}
	}
}

// expectSameDocument compares two documents by their JSON encoding, which
// shows where they differ.
func expectSameDocument(t *testing.T, got, expected Document) {
	t.Helper()
	gotJSON, _ := json.MarshalIndent(got, "", "  ")
	expectedJSON, _ := json.MarshalIndent(expected, "", "  ")
	if !bytes.Equal(gotJSON, expectedJSON) {
		t.Fatalf("document differs from the expected one\ngot:\n%s\nexpected:\n%s", gotJSON, expectedJSON)
	}
	if got.Checksum() != expected.Checksum() {
		t.Errorf("checksum %s, expected %s", got.Checksum(), expected.Checksum())
	}
}

func problemsOf(t *testing.T, err error) validation.Problems {
	t.Helper()
	var invalid *validation.Error
	if !errors.As(err, &invalid) {
		t.Fatalf("error = %v, expected a *validation.Error", err)
	}
	return invalid.Problems
}

// expectProblem checks that err lists a problem at path whose reason
// contains reason.
func expectProblem(t *testing.T, err error, path, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("document accepted, expected a problem at %q: %s", path, reason)
	}
	for _, p := range problemsOf(t, err) {
		if p.Path == path && strings.Contains(p.Reason, reason) {
			return
		}
	}
	t.Errorf("no problem at %q containing %q in: %v", path, reason, err)
}

// defaultTree returns the default document as generic YAML values, for a
// test to change and encode again.
func defaultTree(t *testing.T) map[string]any {
	t.Helper()
	var tree map[string]any
	if err := yaml.Unmarshal(DefaultYAML(), &tree); err != nil {
		t.Fatalf("decode default YAML: %v", err)
	}
	return tree
}

func marshal(t *testing.T, tree map[string]any) []byte {
	t.Helper()
	data, err := yaml.Marshal(tree)
	if err != nil {
		t.Fatalf("encode YAML: %v", err)
	}
	return data
}

var pathStep = regexp.MustCompile(`^([^\[]+)((?:\[\d+\])*)$`)

// set returns a change that sets the value at path, written as Key and
// Index write paths. Missing mappings on the way are created.
func set(path string, value any) func(map[string]any) {
	return func(tree map[string]any) {
		parent, last := walkTo(tree, path)
		switch p := parent.(type) {
		case map[string]any:
			p[last.(string)] = value
		case []any:
			p[last.(int)] = value
		}
	}
}

// remove returns a change that deletes the key at path.
func remove(path string) func(map[string]any) {
	return func(tree map[string]any) {
		parent, last := walkTo(tree, path)
		delete(parent.(map[string]any), last.(string))
	}
}

// walkTo returns the container holding the last step of path and that
// step: a map key or a list index.
func walkTo(tree map[string]any, path string) (any, any) {
	var steps []any
	for _, part := range strings.Split(path, ".") {
		m := pathStep.FindStringSubmatch(part)
		steps = append(steps, m[1])
		for _, index := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(index)
			steps = append(steps, n)
		}
	}
	var current any = tree
	for _, step := range steps[:len(steps)-1] {
		switch c := current.(type) {
		case map[string]any:
			next, ok := c[step.(string)]
			if !ok || next == nil {
				next = map[string]any{}
				c[step.(string)] = next
			}
			current = next
		case []any:
			current = c[step.(int)]
		}
	}
	return current, steps[len(steps)-1]
}

func TestDurationString(t *testing.T) {
	cases := []struct {
		text     string
		expected string
	}{
		{"48h", "2d"}, {"4h", "4h"}, {"90m", "1h30m"}, {"1h0m30s", "1h0m30s"}, {"30s", "30s"},
		{"36h", "36h"}, {"1d12h", "36h"}, {"0s", "0s"}, {"-1h", "-1h"}, {"1500ms", "1.5s"},
	}
	for _, tc := range cases {
		d, err := ParseDuration(tc.text)
		if err != nil {
			t.Fatalf("parse %q: %v", tc.text, err)
		}
		if got := d.String(); got != tc.expected {
			t.Errorf("%q written as %q, expected %q", tc.text, got, tc.expected)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%q does not read back: %v, error %v", d.String(), back, err)
		}
	}
}

func TestParseDurationRejects(t *testing.T) {
	cases := []struct {
		text   string
		reason string
	}{
		{"", "empty duration"},
		{"2 days", `invalid duration "2 days"`},
		{"1dxyz", `invalid duration "1dxyz"`},
		{"-1d", `invalid duration "-1d"`},
		{"1d-5h", `invalid duration "1d-5h"`},
		{"d", `invalid duration "d"`},
		{"200000d", `duration "200000d" is too long`},
		{"106751d24h", `duration "106751d24h" is too long`},
	}
	for _, tc := range cases {
		_, err := ParseDuration(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("ParseDuration(%q) error = %v, expected %q", tc.text, err, tc.reason)
		}
	}
	if d, err := ParseDuration("106751d"); err != nil || d <= 0 {
		t.Errorf("ParseDuration(106751d) = %v, %v; expected the longest whole-day duration", d, err)
	}
}
