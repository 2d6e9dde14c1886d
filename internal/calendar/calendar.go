// Package calendar computes deadlines in calendar hours or in working
// hours. Working time follows Chinese public holidays and make-up working
// days, with an operator override file for years not yet announced.
//
// STUB: the working-hours part is not implemented yet; Add counts calendar
// hours for both modes until it is.
package calendar

import (
	"time"

	"github.com/ordo-project/ordo/internal/rules"
)

// Calendar answers whether a moment is working time and adds durations.
type Calendar struct {
	loc *time.Location
}

// New builds a calendar from the rules' calendar section.
func New(cfg rules.Calendar) (*Calendar, error) {
	loc := time.UTC
	if cfg.TimeZone != "" {
		l, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return nil, err
		}
		loc = l
	}
	return &Calendar{loc: loc}, nil
}

// Add returns the moment d after start, counting calendar or working hours.
func (c *Calendar) Add(start time.Time, d time.Duration, hours rules.Hours) time.Time {
	return start.Add(d)
}

// Sub returns the time from a to b counted in calendar or working hours.
func (c *Calendar) Sub(b, a time.Time, hours rules.Hours) time.Duration {
	return b.Sub(a)
}

// IsWorkday reports whether the date of t (in the calendar's time zone) is
// a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	wd := t.In(c.loc).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}
