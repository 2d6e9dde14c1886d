package app_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// TestStackStoresDefaultRules checks that ordo stores the default rules
// as version 1 on first start, with the rules activities registered on
// its worker, and that a restart keeps a version applied since.
func TestStackStoresDefaultRules(t *testing.T) {
	s := startStack(t, stackOptions{Driver: "sqlite"})
	ctx := context.Background()

	var first api.RulesVersion
	if err := s.API.Get(ctx, "/api/v1/rules", nil, &first); err != nil {
		t.Fatalf("read rules: %v", err)
	}
	if first.Version != 1 || first.AppliedBy != store.DefaultRulesApplier {
		t.Fatalf("rules after first start = version %d by %q, expected 1 by %q", first.Version, first.AppliedBy, store.DefaultRulesApplier)
	}
	if first.Checksum != rules.Default().Checksum() {
		t.Errorf("stored rules are not the defaults")
	}

	doc := rules.Default()
	doc.Verification.DistinctReps = 4
	text, err := doc.YAML()
	if err != nil {
		t.Fatalf("encode rules: %v", err)
	}
	var applied api.RulesApplied
	if err := s.API.PostBody(ctx, "/api/v1/rules", "application/yaml", url.Values{"by": {"li.na"}}, text, &applied); err != nil {
		t.Fatalf("apply rules: %v", err)
	}
	if applied.Version != 2 {
		t.Fatalf("applied version %d, expected 2", applied.Version)
	}

	s.Stop()
	s.Start()
	var newest api.RulesVersion
	if err := s.API.Get(ctx, "/api/v1/rules", nil, &newest); err != nil {
		t.Fatalf("read rules after restart: %v", err)
	}
	if newest.Version != 2 || newest.Document.Verification.DistinctReps != 4 {
		t.Errorf("rules after restart = version %d with distinct_reps %d, expected version 2 with 4", newest.Version, newest.Document.Verification.DistinctReps)
	}
}
