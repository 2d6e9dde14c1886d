package activities

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// fixedRules is a RulesReader over one document.
type fixedRules struct {
	doc rules.Document
	err error
}

func (r fixedRules) Rules(context.Context, RulesRequest) (RulesVersion, error) {
	return RulesVersion{Version: 4, Document: r.doc}, r.err
}

func verificationRules() rules.Document {
	return rules.Document{
		Verification: rules.Verification{
			DistinctReps: 3, Window: rules.Duration(24 * time.Hour),
			VerifierRole: rules.RoleSupervisor, Template: "verification_request",
		},
		People: rules.People{EmailDomain: "example.com"},
	}
}

// seedTeam stores reps and their managers.
func seedTeam(t *testing.T, s *store.Store) {
	t.Helper()
	now := store.Now()
	agents := []store.SalesAgent{
		{Name: "Anna Snelling", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: now, UpdatedAt: now},
		{Name: "Moses Frase", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: now, UpdatedAt: now},
		{Name: "Versie Hillebrand", Manager: "Cara Losch", ContentHash: "h", CreatedAt: now, UpdatedAt: now},
		{Name: "Lone Rep", Manager: "", ContentHash: "h", CreatedAt: now, UpdatedAt: now},
	}
	if err := store.UpsertSalesAgents(context.Background(), s.DB, agents); err != nil {
		t.Fatalf("seed sales team: %v", err)
	}
}

func mark(contractNo, customer, rep, source string, at time.Time) store.SignedMark {
	return store.SignedMark{ContractNo: contractNo, Customer: customer, Rep: rep, Source: source, MarkedAt: at}
}

func TestCheckSignedMarks(t *testing.T) {
	live := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	closeDate := time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		marks    []store.SignedMark
		check    SignedMarksCheck
		wantHeld bool
		wantReps []string
	}{
		{
			name: "three reps within 24 hours",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-1", "Anna Snelling", store.SourceWebhook, live),
				mark("CT-2", "CUST-1", "Versie Hillebrand", store.SourceWebhook, live.Add(5*time.Hour)),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceWebhook, live.Add(23*time.Hour)),
			},
			check:    SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Moses Frase"},
			wantHeld: true, wantReps: []string{"Anna Snelling", "Moses Frase", "Versie Hillebrand"},
		},
		{
			name: "two reps",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-1", "Anna Snelling", store.SourceWebhook, live),
				mark("CT-2", "CUST-1", "Anna Snelling", store.SourceWebhook, live.Add(time.Hour)),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceWebhook, live.Add(2*time.Hour)),
			},
			check:    SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Moses Frase"},
			wantHeld: false, wantReps: []string{"Anna Snelling", "Moses Frase"},
		},
		{
			name: "marks 25 hours apart",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-1", "Anna Snelling", store.SourceWebhook, live),
				mark("CT-2", "CUST-1", "Versie Hillebrand", store.SourceWebhook, live.Add(25*time.Hour)),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceWebhook, live.Add(50*time.Hour)),
			},
			check:    SignedMarksCheck{ContractNo: "CT-2", CustomerNo: "CUST-1", Rep: "Versie Hillebrand"},
			wantHeld: false, wantReps: []string{"Versie Hillebrand"},
		},
		{
			name: "other customers do not count",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-2", "Anna Snelling", store.SourceWebhook, live),
				mark("CT-2", "CUST-3", "Versie Hillebrand", store.SourceWebhook, live),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceWebhook, live),
			},
			check:    SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Moses Frase"},
			wantHeld: false, wantReps: []string{"Moses Frase"},
		},
		{
			// Imported deals carry their close dates: three reps closing
			// the same account on one day is the pattern the rule targets.
			// Deals the CRM export lists as won are history, never held.
			name: "imported deals closed on one day",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-1", "Anna Snelling", store.SourceCRMImport, closeDate),
				mark("CT-2", "CUST-1", "Versie Hillebrand", store.SourceCRMImport, closeDate),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceCRMImport, closeDate),
			},
			check:    SignedMarksCheck{ContractNo: "CT-1", CustomerNo: "CUST-1", Rep: "Anna Snelling"},
			wantHeld: false, wantReps: nil,
		},
		{
			name: "imported deals on consecutive days",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-1", "Anna Snelling", store.SourceCRMImport, closeDate.AddDate(0, 0, -1)),
				mark("CT-2", "CUST-1", "Versie Hillebrand", store.SourceCRMImport, closeDate),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceCRMImport, closeDate.AddDate(0, 0, 1)),
			},
			check:    SignedMarksCheck{ContractNo: "CT-2", CustomerNo: "CUST-1", Rep: "Versie Hillebrand"},
			wantHeld: false, wantReps: nil,
		},
		{
			// Old imported marks never count against a live contract.
			name: "imported 2017 deals and a live contract",
			marks: []store.SignedMark{
				mark("CT-1", "CUST-1", "Anna Snelling", store.SourceCRMImport, closeDate),
				mark("CT-2", "CUST-1", "Versie Hillebrand", store.SourceCRMImport, closeDate),
				mark("CT-3", "CUST-1", "Moses Frase", store.SourceWebhook, live),
			},
			check:    SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Moses Frase"},
			wantHeld: false, wantReps: []string{"Moses Frase"},
		},
		{
			name:     "contract without a mark counts its rep at the check time",
			marks:    []store.SignedMark{mark("CT-1", "CUST-1", "Anna Snelling", store.SourceWebhook, live.Add(-time.Hour))},
			check:    SignedMarksCheck{ContractNo: "CT-9", CustomerNo: "CUST-1", Rep: "Moses Frase"},
			wantHeld: false, wantReps: []string{"Anna Snelling", "Moses Frase"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := storetest.Open(t, "sqlite")
			seedTeam(t, s)
			if err := store.RecordSignedMarks(context.Background(), s.DB, tc.marks); err != nil {
				t.Fatalf("record marks: %v", err)
			}
			acts := &VerificationActivities{Store: s, Rules: fixedRules{doc: verificationRules()}, Now: func() time.Time { return live }}

			result, err := acts.CheckSignedMarks(context.Background(), tc.check)
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if result.Held != tc.wantHeld || !slices.Equal(result.Reps, tc.wantReps) {
				t.Errorf("held %v with reps %v, want held %v with %v", result.Held, result.Reps, tc.wantHeld, tc.wantReps)
			}
			if result.Held && (result.Verifier.Name != "Dustin Brinkmann" || result.Verifier.Email != "dustin.brinkmann@example.com") {
				t.Errorf("verifier = %+v, want the rep's manager", result.Verifier)
			}
			if result.RulesVersion != 4 || result.Template != "verification_request" {
				t.Errorf("rules version %d template %q, want 4 and verification_request", result.RulesVersion, result.Template)
			}
		})
	}
}

func TestCheckSignedMarksVerifier(t *testing.T) {
	base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	held := []store.SignedMark{
		mark("CT-1", "CUST-1", "Anna Snelling", store.SourceWebhook, base),
		mark("CT-2", "CUST-1", "Versie Hillebrand", store.SourceWebhook, base),
		mark("CT-3", "CUST-1", "Lone Rep", store.SourceWebhook, base),
	}

	t.Run("rep without a manager", func(t *testing.T) {
		s := storetest.Open(t, "sqlite")
		seedTeam(t, s)
		if err := store.RecordSignedMarks(context.Background(), s.DB, held); err != nil {
			t.Fatalf("record marks: %v", err)
		}
		acts := &VerificationActivities{Store: s, Rules: fixedRules{doc: verificationRules()}}
		_, err := acts.CheckSignedMarks(context.Background(), SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Lone Rep"})
		if err == nil || !strings.Contains(err.Error(), `supervisor of rep "Lone Rep"`) {
			t.Errorf("error = %v, want one naming the rep without a manager", err)
		}
	})
	t.Run("verifier role from the rules", func(t *testing.T) {
		s := storetest.Open(t, "sqlite")
		seedTeam(t, s)
		if err := store.RecordSignedMarks(context.Background(), s.DB, held); err != nil {
			t.Fatalf("record marks: %v", err)
		}
		doc := verificationRules()
		doc.Verification.VerifierRole = rules.RoleSalesDirector
		doc.People.Roles = map[string]rules.Person{rules.RoleSalesDirector: {Name: "Cara Losch", Phone: "+8613800000001"}}
		acts := &VerificationActivities{Store: s, Rules: fixedRules{doc: doc}}
		result, err := acts.CheckSignedMarks(context.Background(), SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Lone Rep"})
		if err != nil || result.Verifier.Name != "Cara Losch" || result.VerifierRole != rules.RoleSalesDirector {
			t.Errorf("result %+v, %v; want the sales director as verifier", result, err)
		}
	})
	t.Run("rule turned off", func(t *testing.T) {
		s := storetest.Open(t, "sqlite")
		if err := store.RecordSignedMarks(context.Background(), s.DB, held); err != nil {
			t.Fatalf("record marks: %v", err)
		}
		doc := verificationRules()
		doc.Verification.DistinctReps = 0
		acts := &VerificationActivities{Store: s, Rules: fixedRules{doc: doc}}
		result, err := acts.CheckSignedMarks(context.Background(), SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1", Rep: "Lone Rep"})
		if err != nil || result.Held {
			t.Errorf("result %+v, %v; want not held when distinct_reps is 0", result, err)
		}
	})
	t.Run("rules unavailable", func(t *testing.T) {
		acts := &VerificationActivities{Store: storetest.Open(t, "sqlite"), Rules: fixedRules{err: errors.New("not implemented")}}
		if _, err := acts.CheckSignedMarks(context.Background(), SignedMarksCheck{ContractNo: "CT-3", CustomerNo: "CUST-1"}); err == nil {
			t.Error("want the rules error returned")
		}
	})
}
