package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// rulesActivities returns the activities on a SQLite store holding the
// default rules as version 1 and, as version 2, the defaults with the
// time zone changed to tz.
func rulesActivities(t *testing.T, tz string, now time.Time) *RulesActivities {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, "sqlite")
	if err := st.EnsureDefaultRules(ctx); err != nil {
		t.Fatalf("store default rules: %v", err)
	}
	doc := rules.Default()
	doc.Calendar.TimeZone = tz
	doc.Verification.DistinctReps = 4
	text, err := doc.YAML()
	if err != nil {
		t.Fatalf("encode rules: %v", err)
	}
	if _, err := st.ApplyRules(ctx, text, "li.na", "test version"); err != nil {
		t.Fatalf("apply version 2: %v", err)
	}
	return &RulesActivities{Store: st, Now: func() time.Time { return now }}
}

func newActivityEnvironment(acts *RulesActivities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return env
}

func TestRulesActivityVersions(t *testing.T) {
	acts := rulesActivities(t, "Europe/Berlin", time.Now())
	env := newActivityEnvironment(acts)

	cases := []struct {
		name      string
		request   int
		version   int
		reps      int
		appliedBy string
	}{
		{"newest", 0, 2, 4, "li.na"},
		{"first", 1, 1, 3, store.DefaultRulesApplier},
		{"second", 2, 2, 4, "li.na"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			encoded, err := env.ExecuteActivity(acts.Rules, RulesRequest{Version: tc.request})
			if err != nil {
				t.Fatalf("rules version %d: %v", tc.request, err)
			}
			var got RulesVersion
			if err := encoded.Get(&got); err != nil {
				t.Fatalf("decode result: %v", err)
			}
			if got.Version != tc.version {
				t.Errorf("version = %d, expected %d", got.Version, tc.version)
			}
			if got.Document.Verification.DistinctReps != tc.reps {
				t.Errorf("distinct_reps = %d, expected %d", got.Document.Verification.DistinctReps, tc.reps)
			}
			if got.AppliedBy != tc.appliedBy || got.AppliedAt.IsZero() {
				t.Errorf("applied by %q at %v, expected %q and a time", got.AppliedBy, got.AppliedAt, tc.appliedBy)
			}
			if problems := got.Document.Validate(); len(problems) > 0 {
				t.Errorf("returned document is invalid: %v", problems)
			}
		})
	}

	t.Run("missing version", func(t *testing.T) {
		_, err := env.ExecuteActivity(acts.Rules, RulesRequest{Version: 7})
		expectApplicationError(t, err, ErrTypeNotFound, true)
	})
	t.Run("negative version", func(t *testing.T) {
		_, err := env.ExecuteActivity(acts.Rules, RulesRequest{Version: -1})
		expectApplicationError(t, err, ErrTypeInput, true)
	})
}

func TestRulesActivityEmptyStore(t *testing.T) {
	acts := &RulesActivities{Store: storetest.Open(t, "sqlite")}
	_, err := newActivityEnvironment(acts).ExecuteActivity(acts.Rules, RulesRequest{})
	if err == nil {
		t.Fatalf("newest rules of an empty store succeeded")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Errorf("error = %v: an empty store is set up at startup, so it must be retried", err)
	}
}

func TestDeadlineInCalendarHours(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	acts := rulesActivities(t, "Asia/Shanghai", now)
	env := newActivityEnvironment(acts)

	// Friday 17:00 in Shanghai: calendar hours run through the weekend.
	start := time.Date(2026, 12, 4, 17, 0, 0, 0, time.FixedZone("CST", 8*3600))
	cases := []struct {
		name     string
		within   rules.Duration
		version  int
		expected time.Time
	}{
		{"48 hours", rules.Duration(48 * time.Hour), 1, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)},
		{"four hours", rules.Duration(4 * time.Hour), 1, time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)},
		{"30 days", rules.Duration(30 * 24 * time.Hour), 2, time.Date(2027, 1, 3, 9, 0, 0, 0, time.UTC)},
		{"newest version", rules.Duration(90 * time.Minute), 0, time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			encoded, err := env.ExecuteActivity(acts.Deadline, DeadlineRequest{
				Start: start, Within: tc.within, Hours: rules.CalendarHours, RulesVersion: tc.version,
			})
			if err != nil {
				t.Fatalf("deadline: %v", err)
			}
			var got DeadlineResult
			if err := encoded.Get(&got); err != nil {
				t.Fatalf("decode result: %v", err)
			}
			if !got.Deadline.Equal(tc.expected) {
				t.Errorf("deadline = %v, expected %v", got.Deadline, tc.expected)
			}
			if got.Deadline.Location() != time.UTC {
				t.Errorf("deadline is in %v, expected UTC", got.Deadline.Location())
			}
			if !got.Now.Equal(now) || got.Now.Location() != time.UTC {
				t.Errorf("now = %v, expected the activity clock %v in UTC", got.Now, now.UTC())
			}
		})
	}

	acts.mu.Lock()
	cached := len(acts.calendars)
	acts.mu.Unlock()
	if cached != 2 {
		t.Errorf("%d calendars cached, expected one per version used (2)", cached)
	}
}

func TestDeadlineRejectsInput(t *testing.T) {
	acts := rulesActivities(t, "Asia/Shanghai", time.Now())
	env := newActivityEnvironment(acts)
	start := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		request DeadlineRequest
		errType string
	}{
		{"no start", DeadlineRequest{Within: rules.Duration(time.Hour), Hours: rules.CalendarHours, RulesVersion: 1}, ErrTypeInput},
		{"zero duration", DeadlineRequest{Start: start, Hours: rules.CalendarHours, RulesVersion: 1}, ErrTypeInput},
		{"unknown hours", DeadlineRequest{Start: start, Within: rules.Duration(time.Hour), Hours: "weekdays", RulesVersion: 1}, ErrTypeInput},
		{"missing version", DeadlineRequest{Start: start, Within: rules.Duration(time.Hour), Hours: rules.WorkingHours, RulesVersion: 9}, ErrTypeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(acts.Deadline, tc.request)
			expectApplicationError(t, err, tc.errType, true)
		})
	}
}

// expectApplicationError checks that err carries an application error of
// errType with the given retryability.
func expectApplicationError(t *testing.T, err error, errType string, nonRetryable bool) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error = %v, expected an application error of type %s", err, errType)
	}
	if appErr.Type() != errType {
		t.Errorf("error type = %s, expected %s (%v)", appErr.Type(), errType, err)
	}
	if appErr.NonRetryable() != nonRetryable {
		t.Errorf("non-retryable = %v, expected %v", appErr.NonRetryable(), nonRetryable)
	}
}
