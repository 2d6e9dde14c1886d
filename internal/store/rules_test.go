package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/internal/validation"
)

// rulesText returns the default rules with verification.distinct_reps set
// to reps, as YAML.
func rulesText(t *testing.T, reps int) []byte {
	t.Helper()
	doc := rules.Default()
	doc.Verification.DistinctReps = reps
	data, err := doc.YAML()
	if err != nil {
		t.Fatalf("encode rules: %v", err)
	}
	return data
}

func TestEnsureDefaultRules(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.LatestRules(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("newest rules of an empty table: error %v, expected ErrNotFound", err)
		}
		for i := 0; i < 2; i++ {
			if err := s.EnsureDefaultRules(ctx); err != nil {
				t.Fatalf("ensure default rules, call %d: %v", i+1, err)
			}
		}
		versions, err := s.ListRuleVersions(ctx)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		if len(versions) != 1 {
			t.Fatalf("%d versions after two calls, expected 1", len(versions))
		}
		latest, err := s.LatestRules(ctx)
		if err != nil {
			t.Fatalf("newest rules: %v", err)
		}
		if latest.Version != 1 || latest.AppliedBy != store.DefaultRulesApplier {
			t.Errorf("version %d applied by %q, expected 1 by %q", latest.Version, latest.AppliedBy, store.DefaultRulesApplier)
		}
		if latest.Document != string(rules.DefaultYAML()) {
			t.Errorf("stored document is not the commented default text")
		}
		doc, err := latest.Rules()
		if err != nil {
			t.Fatalf("decode stored default: %v", err)
		}
		if doc.Checksum() != rules.Default().Checksum() || latest.Checksum != doc.Checksum() {
			t.Errorf("stored default does not decode to rules.Default()")
		}

		applied, err := s.ApplyRules(ctx, rules.DefaultYAML(), "li.na", "")
		if err != nil {
			t.Fatalf("apply the default again: %v", err)
		}
		if !applied.Unchanged || applied.Version.Version != 1 {
			t.Errorf("applying the default again = %+v, expected unchanged version 1", applied)
		}
	})
}

func TestApplyRules(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.EnsureDefaultRules(ctx); err != nil {
			t.Fatalf("ensure default rules: %v", err)
		}

		text := rulesText(t, 4)
		applied, err := s.ApplyRules(ctx, text, "  li.na ", "four reps")
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if applied.Unchanged {
			t.Fatalf("a changed document was reported unchanged")
		}
		v := applied.Version
		if v.Version != 2 || v.AppliedBy != "li.na" || v.Comment != "four reps" || v.AppliedAt.IsZero() {
			t.Errorf("stored %+v, expected version 2 by li.na with the comment and a time", v)
		}

		commented := append([]byte("# same values, other layout\n"), text...)
		again, err := s.ApplyRules(ctx, commented, "wang.fang", "")
		if err != nil {
			t.Fatalf("apply the same values again: %v", err)
		}
		if !again.Unchanged || again.Version.Version != 2 || again.Version.AppliedBy != "li.na" {
			t.Errorf("same values = %+v, expected unchanged version 2 by li.na", again)
		}

		// Going back to the values of version 1 is a new version.
		back, err := s.ApplyRules(ctx, rules.DefaultYAML(), "li.na", "back to three")
		if err != nil {
			t.Fatalf("apply the default values: %v", err)
		}
		if back.Unchanged || back.Version.Version != 3 {
			t.Errorf("return to the default = %+v, expected new version 3", back)
		}

		stored, err := s.RulesVersion(ctx, 2)
		if err != nil {
			t.Fatalf("read version 2: %v", err)
		}
		if !bytes.Equal([]byte(stored.Document), text) {
			t.Errorf("version 2 text differs from the applied text")
		}
		doc, err := stored.Rules()
		if err != nil {
			t.Fatalf("decode version 2: %v", err)
		}
		if doc.Verification.DistinctReps != 4 {
			t.Errorf("version 2 distinct_reps = %d, expected 4", doc.Verification.DistinctReps)
		}
		if !stored.AppliedAt.Equal(v.AppliedAt) {
			t.Errorf("read applied_at %v, stored %v", stored.AppliedAt, v.AppliedAt)
		}
		if _, err := s.RulesVersion(ctx, 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("version 9: error %v, expected ErrNotFound", err)
		}

		latest, err := s.LatestRules(ctx)
		if err != nil || latest.Version != 3 {
			t.Fatalf("newest = %d, error %v; expected version 3", latest.Version, err)
		}
		versions, err := s.ListRuleVersions(ctx)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		var numbers []int
		for _, version := range versions {
			numbers = append(numbers, version.Version)
			if version.Document != "" {
				t.Errorf("list carries the text of version %d", version.Version)
			}
		}
		if fmt.Sprint(numbers) != "[3 2 1]" {
			t.Errorf("listed versions %v, expected [3 2 1]", numbers)
		}
	})
}

func TestApplyRulesRejects(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		invalid := bytes.Replace(rules.DefaultYAML(), []byte("distinct_reps: 3"), []byte("distinct_reps: 1\n  window2: 1h"), 1)
		cases := []struct {
			name      string
			text      []byte
			appliedBy string
			paths     []string
		}{
			{"invalid document", invalid, "li.na", []string{"verification.window2"}},
			{"invalid value", bytes.Replace(rules.DefaultYAML(), []byte("distinct_reps: 3"), []byte("distinct_reps: 1"), 1), "li.na", []string{"verification.distinct_reps"}},
			{"nobody applies", rules.DefaultYAML(), " ", []string{"applied_by"}},
			{"both", []byte("leads: {}\n"), "", []string{"applied_by", "renewals"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.ApplyRules(ctx, tc.text, tc.appliedBy, "")
				var problems *validation.Error
				if !errors.As(err, &problems) {
					t.Fatalf("error = %v, expected a *validation.Error", err)
				}
				for _, path := range tc.paths {
					found := false
					for _, p := range problems.Problems {
						found = found || p.Path == path
					}
					if !found {
						t.Errorf("no problem at %s in %v", path, err)
					}
				}
			})
		}
		versions, err := s.ListRuleVersions(ctx)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		if len(versions) != 0 {
			t.Errorf("%d versions stored by rejected applies", len(versions))
		}
	})
}

func TestApplyRulesConcurrently(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.EnsureDefaultRules(ctx); err != nil {
			t.Fatalf("ensure default rules: %v", err)
		}

		// Eight different documents at once: versions 2 to 9, one each.
		const appliers = 8
		results := applyConcurrently(t, s, appliers, func(i int) []byte { return rulesText(t, 4+i) })
		var numbers []int
		for _, applied := range results {
			if applied.Unchanged {
				t.Errorf("a different document by %s was reported unchanged", applied.Version.AppliedBy)
			}
			numbers = append(numbers, applied.Version.Version)
		}
		sort.Ints(numbers)
		if fmt.Sprint(numbers) != "[2 3 4 5 6 7 8 9]" {
			t.Errorf("versions of concurrent applies %v, expected 2 to 9 once each", numbers)
		}

		// The same new document eight times at once: one new version, and
		// the others find it is the newest.
		results = applyConcurrently(t, s, appliers, func(int) []byte { return rulesText(t, 20) })
		created := 0
		for _, applied := range results {
			if !applied.Unchanged {
				created++
			}
			if applied.Version.Version != 10 {
				t.Errorf("apply by %s returned version %d, expected 10", applied.Version.AppliedBy, applied.Version.Version)
			}
		}
		if created != 1 {
			t.Errorf("%d applies of the same document created a version, expected 1", created)
		}

		versions, err := s.ListRuleVersions(ctx)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		if len(versions) != 10 || versions[0].Version != 10 {
			t.Errorf("%d versions stored, newest %d; expected 10 and 10", len(versions), versions[0].Version)
		}
	})
}

// applyConcurrently applies n documents from separate goroutines, the
// i-th by rep-i, and returns their outcomes.
func applyConcurrently(t *testing.T, s *store.Store, n int, document func(i int) []byte) []store.RulesApplied {
	t.Helper()
	texts := make([][]byte, n)
	for i := range texts {
		texts[i] = document(i)
	}
	results := make([]store.RulesApplied, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = s.ApplyRules(context.Background(), texts[i], fmt.Sprintf("rep-%d", i), "")
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent apply by rep-%d: %v", i, err)
		}
	}
	return results
}
