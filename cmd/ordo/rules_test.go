package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// rulesCLI runs ordo commands against an API server on a SQLite store
// holding the default rules.
type rulesCLI struct {
	t      *testing.T
	server string
	dir    string
}

func newRulesCLI(t *testing.T) *rulesCLI {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	if err := st.EnsureDefaultRules(context.Background()); err != nil {
		t.Fatalf("store default rules: %v", err)
	}
	server := &api.Server{Store: st, Config: config.Default(), Logger: logging.Discard()}
	httpServer := httptest.NewServer(server.Handler())
	t.Cleanup(httpServer.Close)
	return &rulesCLI{t: t, server: httpServer.URL, dir: t.TempDir()}
}

// run executes ordo with args and returns standard output, standard error
// and the command's error.
func (c *rulesCLI) run(stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCommand()
	root.SetArgs(append(args, "--server", c.server, "--tz", "UTC"))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.Execute()
	return stdout.String(), stderr.String(), err
}

// write saves text in the test's directory and returns its path.
func (c *rulesCLI) write(name string, text []byte) string {
	c.t.Helper()
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, text, 0o600); err != nil {
		c.t.Fatalf("write %s: %v", name, err)
	}
	return path
}

func withReps(t *testing.T, reps int) rules.Document {
	t.Helper()
	doc := rules.Default()
	doc.Verification.DistinctReps = reps
	return doc
}

func TestRulesCheckCommand(t *testing.T) {
	c := newRulesCLI(t)
	valid := c.write("rules.yaml", rules.DefaultYAML())
	stdout, _, err := c.run("", "rules", "check", valid)
	if err != nil {
		t.Fatalf("check a valid document: %v", err)
	}
	if !strings.Contains(stdout, "is a valid rules document") {
		t.Errorf("output = %q", stdout)
	}

	invalid := bytes.Replace(rules.DefaultYAML(), []byte("distinct_reps: 3"), []byte("distinct_reps: 1"), 1)
	invalid = bytes.Replace(invalid, []byte(`day_end: "18:00"`), []byte(`day_end: "08:00"`), 1)
	_, stderr, err := c.run(string(invalid), "rules", "check", "-")
	if err == nil {
		t.Fatalf("check accepted an invalid document")
	}
	for _, line := range []string{
		"standard input: verification.distinct_reps: must be at least 2, got 1",
		"standard input: calendar.day_end: must be later than calendar.day_start (09:00)",
	} {
		if !strings.Contains(stderr, line) {
			t.Errorf("error output lacks %q:\n%s", line, stderr)
		}
	}
	if !strings.Contains(err.Error(), "has 2 problems") {
		t.Errorf("error = %v, expected the count of problems", err)
	}

	jsonFile := c.write("rules.json", mustJSON(t, withReps(t, 0)))
	_, stderr, err = c.run("", "rules", "check", jsonFile)
	if err == nil || !strings.Contains(stderr, "verification.distinct_reps: must be at least 2, got 0") {
		t.Errorf("check of an invalid JSON file: error %v, output %q", err, stderr)
	}
}

func TestRulesApplyShowHistory(t *testing.T) {
	c := newRulesCLI(t)
	text, err := withReps(t, 4).YAML()
	if err != nil {
		t.Fatalf("encode rules: %v", err)
	}
	file := c.write("rules.yaml", text)

	stdout, _, err := c.run("", "rules", "apply", file, "--by", "li.na", "--comment", "four reps")
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if !strings.Contains(stdout, "as rules version 2") {
		t.Errorf("apply output = %q, expected version 2", stdout)
	}

	stdout, _, err = c.run("", "rules", "apply", file, "--by", "wang.fang")
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if !strings.Contains(stdout, "Unchanged") || !strings.Contains(stdout, "version 2, applied by li.na") {
		t.Errorf("second apply output = %q, expected unchanged version 2", stdout)
	}

	invalid := c.write("invalid.yaml", bytes.Replace(text, []byte("verifier_role: supervisor"), []byte("verifier_role: auditor\n  quorum: 2"), 1))
	_, stderr, err := c.run("", "rules", "apply", invalid, "--by", "li.na")
	if err == nil {
		t.Fatalf("apply accepted an invalid document")
	}
	if !strings.Contains(stderr, invalid+": verification.quorum: unknown key") {
		t.Errorf("error output lacks the unknown key with its path:\n%s", stderr)
	}
	if !strings.Contains(err.Error(), "nothing was applied") {
		t.Errorf("error = %v", err)
	}

	jsonFile := c.write("rules.json", mustJSON(t, withReps(t, 5)))
	stdout, _, err = c.run("", "rules", "apply", jsonFile, "--by", "li.na")
	if err != nil || !strings.Contains(stdout, "as rules version 3") {
		t.Fatalf("apply JSON: output %q, error %v", stdout, err)
	}

	stdout, _, err = c.run("", "rules", "show", "--version", "2")
	if err != nil {
		t.Fatalf("show version 2: %v", err)
	}
	if stdout != string(text) {
		t.Errorf("show --version 2 printed another text:\n%s", stdout)
	}
	stdout, _, err = c.run("", "rules", "show", "--version", "1")
	if err != nil || stdout != string(rules.DefaultYAML()) {
		t.Errorf("show --version 1: error %v; expected the commented defaults", err)
	}

	stdout, _, err = c.run("", "rules", "show", "--format", "json")
	if err != nil {
		t.Fatalf("show as JSON: %v", err)
	}
	var newest api.RulesVersion
	if err := json.Unmarshal([]byte(stdout), &newest); err != nil {
		t.Fatalf("decode show output: %v\n%s", err, stdout)
	}
	if newest.Version != 3 || newest.Document.Verification.DistinctReps != 5 {
		t.Errorf("newest = version %d with distinct_reps %d, expected 3 and 5", newest.Version, newest.Document.Verification.DistinctReps)
	}

	if _, _, err := c.run("", "rules", "show", "--version", "9"); err == nil || !strings.Contains(err.Error(), "rules version 9") {
		t.Errorf("show a missing version: error %v", err)
	}
	if _, _, err := c.run("", "rules", "show", "--format", "toml"); err == nil || !strings.Contains(err.Error(), "use yaml or json") {
		t.Errorf("show in an unknown format: error %v", err)
	}

	stdout, _, err = c.run("", "rules", "history")
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("history has %d lines, expected a header and 3 versions:\n%s", len(lines), stdout)
	}
	if !strings.HasPrefix(lines[1], "3 ") || !strings.Contains(lines[2], "li.na") || !strings.Contains(lines[2], "four reps") || !strings.Contains(lines[3], "ordo") {
		t.Errorf("history rows out of order or incomplete:\n%s", stdout)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return data
}
