package renewals

import (
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

func planRules() rules.Document {
	return rules.Document{
		Renewals: rules.Renewals{
			NoticeBefore: rules.Duration(30 * 24 * time.Hour),
			DefaultTerm:  rules.Duration(365 * 24 * time.Hour),
		},
		Calendar: rules.Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:00"},
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestPlan(t *testing.T) {
	now := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	endIn := func(d time.Time) *time.Time { return &d }
	tests := []struct {
		name     string
		contract store.Contract
		noTerm   bool
		state    string
		endDate  time.Time
		remindAt time.Time
	}{
		{
			name:     "imported 2017 contract expired long ago",
			contract: store.Contract{SignedOn: date(2017, 3, 1), State: store.ContractClosed},
			state:    store.RenewalExpired, endDate: date(2018, 3, 1),
		},
		{
			name:     "default term ends in the future",
			contract: store.Contract{SignedOn: date(2026, 6, 1), State: store.ContractSigned},
			state:    store.RenewalScheduled, endDate: date(2027, 6, 1),
			remindAt: time.Date(2027, 5, 2, 1, 0, 0, 0, time.UTC),
		},
		{
			name:     "given end date wins over the default term",
			contract: store.Contract{SignedOn: date(2017, 3, 1), EndDate: endIn(date(2027, 6, 30)), State: store.ContractPaid},
			state:    store.RenewalScheduled, endDate: date(2027, 6, 30),
			remindAt: time.Date(2027, 5, 31, 1, 0, 0, 0, time.UTC),
		},
		{
			name:     "end date today is still running",
			contract: store.Contract{SignedOn: date(2025, 12, 5), EndDate: endIn(date(2026, 12, 5)), State: store.ContractSigned},
			state:    store.RenewalScheduled, endDate: date(2026, 12, 5),
			remindAt: time.Date(2026, 11, 5, 1, 0, 0, 0, time.UTC),
		},
		{
			name:     "end date yesterday has expired",
			contract: store.Contract{SignedOn: date(2025, 12, 4), EndDate: endIn(date(2026, 12, 4)), State: store.ContractSigned},
			state:    store.RenewalExpired, endDate: date(2026, 12, 4),
		},
		{
			name:     "cancelled contract",
			contract: store.Contract{SignedOn: date(2026, 6, 1), State: store.ContractCancelled},
			state:    store.RenewalCancelled,
		},
		{
			name:     "no end date and no default term",
			contract: store.Contract{SignedOn: date(2026, 6, 1), State: store.ContractSigned},
			noTerm:   true,
			state:    store.RenewalNone,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := planRules()
			if tc.noTerm {
				doc.Renewals.DefaultTerm = 0
			}
			decision, err := Plan(&tc.contract, doc, now)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if decision.State != tc.state {
				t.Errorf("state %q, expected %q", decision.State, tc.state)
			}
			if tc.endDate.IsZero() {
				if decision.EndDate != nil {
					t.Errorf("end date %s, expected none", decision.EndDate)
				}
				return
			}
			if decision.EndDate == nil || !decision.EndDate.Equal(tc.endDate) {
				t.Errorf("end date %v, expected %s", decision.EndDate, tc.endDate)
			}
			if !tc.remindAt.IsZero() && !decision.Schedule.RemindAt.Equal(tc.remindAt) {
				t.Errorf("remind at %s, expected %s", decision.Schedule.RemindAt, tc.remindAt)
			}
		})
	}
}

func TestPlanInvalidRules(t *testing.T) {
	doc := planRules()
	doc.Calendar.DayStart = "9 o'clock"
	_, err := Plan(&store.Contract{SignedOn: date(2026, 6, 1)}, doc, time.Now())
	if err == nil {
		t.Fatal("planned under an invalid calendar.day_start")
	}
}
