package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/rules"
)

func TestComputeRenewalSchedule(t *testing.T) {
	end := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	days := func(n int) rules.Duration { return rules.Duration(time.Duration(n) * 24 * time.Hour) }
	tests := []struct {
		name      string
		notice    rules.Duration
		calendar  rules.Calendar
		remindAt  time.Time
		expiresAt time.Time
	}{
		{
			name: "Shanghai working day", notice: days(30),
			calendar: rules.Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:30"},
			remindAt: time.Date(2027, 5, 31, 1, 30, 0, 0, time.UTC), expiresAt: time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC),
		},
		{
			name: "defaults: UTC from 09:00", notice: days(30),
			remindAt: time.Date(2027, 5, 31, 9, 0, 0, 0, time.UTC), expiresAt: time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "no notice reminds on the end date", notice: 0,
			calendar: rules.Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:00"},
			remindAt: time.Date(2027, 6, 30, 1, 0, 0, 0, time.UTC), expiresAt: time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			schedule, err := ComputeRenewalSchedule(end, tc.notice, tc.calendar)
			if err != nil {
				t.Fatalf("compute: %v", err)
			}
			if !schedule.RemindAt.Equal(tc.remindAt) {
				t.Errorf("remind at %s, expected %s", schedule.RemindAt, tc.remindAt)
			}
			if !schedule.ExpiresAt.Equal(tc.expiresAt) {
				t.Errorf("expires at %s, expected %s", schedule.ExpiresAt, tc.expiresAt)
			}
			if !schedule.EndDate.Equal(end) {
				t.Errorf("end date %s, expected %s", schedule.EndDate, end)
			}
		})
	}
}

func TestScheduleRenewalRejectsInvalidRules(t *testing.T) {
	a := &CustomerActivities{}
	end := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	for name, in := range map[string]RenewalScheduleRequest{
		"time zone":   {ContractNo: "CT-1", EndDate: end, Calendar: rules.Calendar{TimeZone: "Mars/Olympus"}},
		"day start":   {ContractNo: "CT-1", EndDate: end, Calendar: rules.Calendar{DayStart: "9am"}},
		"negative":    {ContractNo: "CT-1", EndDate: end, NoticeBefore: rules.Duration(-time.Hour)},
		"no end date": {ContractNo: "CT-1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.ScheduleRenewal(context.Background(), in)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != ErrTypeInput {
				t.Errorf("error %v, expected a non-retryable %s error", err, ErrTypeInput)
			}
		})
	}
}
