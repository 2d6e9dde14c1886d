package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// defaultDayStart is the time of day a renewal reminder fires when the
// rules' calendar sets no day_start.
const defaultDayStart = "09:00"

// RenewalSchedule is when a contract's renewal reminder fires and when
// the contract expires.
type RenewalSchedule struct {
	// EndDate is the last day of the contract, as midnight UTC.
	EndDate time.Time `json:"end_date"`
	// RemindAt is NoticeBefore before the start of the working day
	// (calendar day_start) of the end date, in the calendar's time zone.
	RemindAt time.Time `json:"remind_at"`
	// ExpiresAt is the midnight that ends the end date in the calendar's
	// time zone: the contract runs through its end date.
	ExpiresAt time.Time `json:"expires_at"`
}

// ComputeRenewalSchedule returns the schedule of a contract ending on
// endDate (only its year, month and day count) under the notice period
// and calendar of a rules version. It reads no clock.
func ComputeRenewalSchedule(endDate time.Time, notice rules.Duration, cal rules.Calendar) (RenewalSchedule, error) {
	loc := time.UTC
	if cal.TimeZone != "" {
		l, err := time.LoadLocation(cal.TimeZone)
		if err != nil {
			return RenewalSchedule{}, fmt.Errorf("rules calendar.time_zone %q is not an IANA time zone such as Asia/Shanghai: %w", cal.TimeZone, err)
		}
		loc = l
	}
	dayStart := cal.DayStart
	if dayStart == "" {
		dayStart = defaultDayStart
	}
	clock, err := time.Parse("15:04", dayStart)
	if err != nil {
		return RenewalSchedule{}, fmt.Errorf("rules calendar.day_start %q is not a time HH:MM such as 09:00", cal.DayStart)
	}
	if notice < 0 {
		return RenewalSchedule{}, fmt.Errorf("rules renewals.notice_before %s is negative", notice)
	}
	y, m, d := endDate.Date()
	endDay := time.Date(y, m, d, clock.Hour(), clock.Minute(), 0, 0, loc)
	return RenewalSchedule{
		EndDate:   time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
		RemindAt:  endDay.Add(-notice.D()).UTC(),
		ExpiresAt: time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC(),
	}, nil
}

// RenewalScheduleRequest names a contract's end date and the notice period
// and calendar of a rules version.
type RenewalScheduleRequest struct {
	ContractNo   string         `json:"contract_no"`
	EndDate      time.Time      `json:"end_date"`
	NoticeBefore rules.Duration `json:"notice_before"`
	Calendar     rules.Calendar `json:"calendar"`
}

// ScheduleRenewal computes the reminder moment and the expiry of a
// contract. Invalid rules fail without retry, since a retry cannot fix
// them.
func (a *CustomerActivities) ScheduleRenewal(ctx context.Context, in RenewalScheduleRequest) (RenewalSchedule, error) {
	if in.EndDate.IsZero() {
		return RenewalSchedule{}, invalidInput("schedule the renewal of contract %s: the end date is required", in.ContractNo)
	}
	schedule, err := ComputeRenewalSchedule(in.EndDate, in.NoticeBefore, in.Calendar)
	if err != nil {
		return RenewalSchedule{}, invalidInput("schedule the renewal of contract %s: %v", in.ContractNo, err)
	}
	return schedule, nil
}

// RenewalRecord is a step of a contract's renewal to store.
type RenewalRecord struct {
	ContractNo string `json:"contract_no"`
	// State is one of the store.Renewal* constants.
	State string `json:"state"`
	// EndDate and RemindAt, when set, replace the stored values.
	EndDate  *time.Time `json:"end_date,omitempty"`
	RemindAt *time.Time `json:"remind_at,omitempty"`
}

// RecordRenewal stores the renewal state of a contract. A contract that
// does not exist fails without retry.
func (a *CustomerActivities) RecordRenewal(ctx context.Context, in RenewalRecord) error {
	_, err := store.RecordRenewal(ctx, a.Store.DB, store.RenewalChange{
		ContractNo: in.ContractNo, State: in.State, EndDate: in.EndDate, RemindAt: in.RemindAt,
	})
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	}
	return err
}
