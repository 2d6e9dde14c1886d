package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/rules"
)

// TestRuleChangeKeepsRunningVersion assigns a lead under one rules
// version, then applies a version with a longer first-contact deadline and
// assigns a second lead. The first lead's workflow keeps the version and
// deadline it started with, and only the second takes the new ones.
func TestRuleChangeKeepsRunningVersion(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{LocalActivities: true})
	importLeads(t, s.API, writeLeadExport(t, leadPipeline))

	firstContact := func(within time.Duration) rules.Leads {
		return rules.Leads{FirstContact: rules.Deadline{
			Within: rules.Duration(within), Hours: rules.CalendarHours, RemindBefore: rules.Duration(time.Hour),
			ReminderTemplate: "lead_reminder", EscalationTemplate: "lead_alert",
		}}
	}
	applyLeadRules(t, s.API, firstContact(2*time.Hour))
	early := createLead(t, s, "LMID0001")
	// A workflow fixes its version in its first task, so wait for that
	// before the rules change.
	earlyVersion, _ := leadClock(t, s, early)
	applyLeadRules(t, s.API, firstContact(5*time.Hour))
	late := createLead(t, s, "LMID0002")

	lateVersion, lateWithin := leadClock(t, s, late)
	// The first lead's clock, read again after the change, must not move.
	earlyVersionAfter, earlyWithin := leadClock(t, s, early)
	if earlyVersionAfter != earlyVersion {
		t.Errorf("first lead moved from rules version %d to %d after the change", earlyVersion, earlyVersionAfter)
	}
	if lateVersion != earlyVersion+1 {
		t.Errorf("rules versions %d then %d, expected the second lead on the next version", earlyVersion, lateVersion)
	}
	if earlyWithin != 2*time.Hour {
		t.Errorf("first lead's deadline is %s after its clock start, expected the 2h of its version", earlyWithin)
	}
	if lateWithin != 5*time.Hour {
		t.Errorf("second lead's deadline is %s after its clock start, expected the 5h of the new version", lateWithin)
	}
}

func createLead(t *testing.T, s *stack, id string) string {
	t.Helper()
	request := api.CreateLeadRequest{ID: id, Rep: "Moses Frase", Account: "Cancity", Product: "GTX Pro"}
	if err := s.API.Post(context.Background(), "/api/v1/leads", request, nil); err != nil {
		t.Fatalf("create lead %s: %v", id, err)
	}
	return id
}

// leadClock waits until the lead's workflow recorded its clock and returns
// the rules version and the time from clock start to deadline.
func leadClock(t *testing.T, s *stack, id string) (int, time.Duration) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var view api.LeadView
		err := s.API.Get(context.Background(), "/api/v1/leads/"+id, nil, &view)
		if err == nil && view.Lead.SLADeadline != nil && view.Lead.SLAStartedAt != nil && view.Lead.SLARulesVersion > 0 {
			return view.Lead.SLARulesVersion, view.Lead.SLADeadline.Sub(*view.Lead.SLAStartedAt)
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s recorded no clock within 30 s (last error: %v)", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
