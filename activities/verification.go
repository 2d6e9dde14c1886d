package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// RulesReader returns a version of the rules document; *RulesActivities
// is one.
type RulesReader interface {
	Rules(ctx context.Context, in RulesRequest) (RulesVersion, error)
}

// VerificationActivities check whether a signed contract needs a
// supervisor's phone verification before its chain goes on.
type VerificationActivities struct {
	Store *store.Store
	Rules RulesReader
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// DefaultVerificationTemplate names the task template of a verification
// request when the rules name none.
const DefaultVerificationTemplate = "verification_request"

// SignedMarksCheck names the contract whose signing is checked.
type SignedMarksCheck struct {
	ContractNo string `json:"contract_no"`
	// CustomerNo is the customer number, the key of signed marks.
	CustomerNo string `json:"customer_no"`
	Rep        string `json:"rep"`
}

// SignedMarksResult is the outcome of the check: whether the chain must
// hold for a phone verification, and the verifier.
type SignedMarksResult struct {
	Held bool `json:"held"`
	// Reps are the different reps who marked the customer signed within
	// Window of this contract's mark, this contract's rep included.
	Reps []string `json:"reps"`
	// MarkedAt is this contract's mark, the centre of the window.
	MarkedAt     time.Time      `json:"marked_at"`
	DistinctReps int            `json:"distinct_reps"`
	Window       rules.Duration `json:"window"`
	// Verifier is the person who must verify by phone; set when Held.
	Verifier     rules.Person `json:"verifier"`
	VerifierRole string       `json:"verifier_role"`
	Template     string       `json:"template"`
	RulesVersion int          `json:"rules_version"`
}

// CheckSignedMarks counts the different reps who marked the contract's
// customer signed less than the rules' window before or after this
// contract's own mark. The window is measured between the marks' times,
// never against the clock. Imported deals never hold: their marks carry
// 2017 close dates and stand for history the CRM recorded as won.
//
// It reads the newest rules: the chain fixes no rules version of its own,
// and this result, recorded in the history, keeps the verifier it names.
func (a *VerificationActivities) CheckSignedMarks(ctx context.Context, in SignedMarksCheck) (SignedMarksResult, error) {
	if a.Rules == nil {
		return SignedMarksResult{}, errors.New("signing verification: no rules source is configured")
	}
	version, err := a.Rules.Rules(ctx, RulesRequest{})
	if err != nil {
		return SignedMarksResult{}, fmt.Errorf("contract %s: read the verification rule: %w", in.ContractNo, err)
	}
	rule := version.Document.Verification
	result := SignedMarksResult{
		DistinctReps: rule.DistinctReps, Window: rule.Window,
		VerifierRole: rule.VerifierRole, Template: rule.Template, RulesVersion: version.Version,
	}
	if result.VerifierRole == "" {
		result.VerifierRole = rules.RoleSupervisor
	}
	if result.Template == "" {
		result.Template = DefaultVerificationTemplate
	}
	if rule.DistinctReps <= 0 || rule.Window <= 0 || in.CustomerNo == "" {
		return result, nil
	}

	result.MarkedAt = a.now()
	mark, err := store.SignedMarkOf(ctx, a.Store.DB, in.ContractNo)
	switch {
	case err == nil && mark.Source == store.SourceCRMImport:
		// A deal the CRM export already lists as won is history the
		// company accepted, not a live report a rep could fake, so the
		// import never holds a chain. Its mark still counts against live
		// contracts of the same customer.
		result.MarkedAt = mark.MarkedAt.UTC()
		return result, nil
	case err == nil:
		result.MarkedAt = mark.MarkedAt.UTC()
	case !errors.Is(err, store.ErrNotFound):
		return result, err
	}
	window := rule.Window.D()
	reps, err := store.RepsMarkedBetween(ctx, a.Store.DB, in.CustomerNo, result.MarkedAt.Add(-window), result.MarkedAt.Add(window))
	if err != nil {
		return result, err
	}
	if in.Rep != "" && !slices.Contains(reps, in.Rep) {
		reps = append(reps, in.Rep)
		slices.Sort(reps)
	}
	result.Reps = reps
	if len(reps) < rule.DistinctReps {
		return result, nil
	}

	result.Held = true
	result.Verifier, err = a.verifier(ctx, in, result.VerifierRole, version)
	return result, err
}

// verifier resolves the person who verifies: the rep's manager for the
// supervisor role, otherwise the role's holder in the rules.
func (a *VerificationActivities) verifier(ctx context.Context, in SignedMarksCheck, role string, version RulesVersion) (rules.Person, error) {
	people := version.Document.People
	if role != rules.RoleSupervisor {
		person, ok := people.Role(role)
		if !ok {
			return rules.Person{}, invalidInput("contract %s needs a phone verification, but rules version %d name nobody for the verifier role %q",
				in.ContractNo, version.Version, role)
		}
		return person, nil
	}
	manager, err := store.RepManager(ctx, a.Store.DB, in.Rep)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rules.Person{}, err
	}
	if manager == "" {
		return rules.Person{}, invalidInput("contract %s needs a phone verification by the supervisor of rep %q, but the sales-team data names no manager for the rep",
			in.ContractNo, in.Rep)
	}
	return people.Person(manager), nil
}

func (a *VerificationActivities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}
