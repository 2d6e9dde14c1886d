// Package calendar computes deadlines in calendar hours or in working
// hours. Working time is DayStart to DayEnd on working days in the
// calendar's time zone. A working day is a Monday to Friday that is not a
// public holiday, or a Saturday or Sunday made a working day (调休).
//
// Holidays and make-up working days come from the official arrangements
// that github.com/6tail/lunar-go lists in its package HolidayUtil (2002 to
// 2027 in v1.4.7). An operator override file adds years announced later
// and corrects single days; override.go describes its format.
//
// A year that neither source lists is counted with Saturdays and Sundays
// off and no holidays. The first time a calendar in this process looks at
// such a year, it logs a warning through logrus; Covered and Coverage let
// a caller check a year itself.
package calendar

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/civil"
	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/rules"
)

// Defaults for the fields of rules.Calendar left empty.
const (
	DefaultTimeZone = "Asia/Shanghai"
	DefaultDayStart = "09:00"
	DefaultDayEnd   = "18:00"
)

// keyYear is the log field of the year a warning is about.
const keyYear = "year"

// Calendar computes working time. It is safe for concurrent use.
type Calendar struct {
	loc *time.Location
	// dayStart and dayEnd are minutes after midnight; dayEnd may be 24*60.
	dayStart, dayEnd int
	overrideFile     string
	overrides        map[civil.Date]Day
	overrideYears    map[int]bool
	log              logrus.FieldLogger
}

// Option changes how New builds a calendar.
type Option func(*Calendar)

// WithLogger sends the calendar's warnings to log instead of logrus's
// standard logger.
func WithLogger(log logrus.FieldLogger) Option {
	return func(c *Calendar) { c.log = log }
}

// New builds a calendar from the rules' calendar section, filling empty
// fields with the defaults. It rejects an unknown time zone, a DayStart or
// DayEnd not written HH:MM, a DayEnd not after DayStart, and an unreadable
// or invalid override file.
func New(cfg rules.Calendar, opts ...Option) (*Calendar, error) {
	c := &Calendar{log: logrus.StandardLogger()}
	for _, opt := range opts {
		opt(c)
	}

	zone := strings.TrimSpace(cfg.TimeZone)
	if zone == "" {
		zone = DefaultTimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("invalid calendar time_zone %q: use an IANA name such as Asia/Shanghai", cfg.TimeZone)
	}
	c.loc = loc

	if c.dayStart, err = parseClock("day_start", cfg.DayStart, DefaultDayStart, false); err != nil {
		return nil, err
	}
	if c.dayEnd, err = parseClock("day_end", cfg.DayEnd, DefaultDayEnd, true); err != nil {
		return nil, err
	}
	if c.dayEnd <= c.dayStart {
		return nil, fmt.Errorf("calendar day_end %s is not after day_start %s: set day_end later in the day than day_start",
			formatClock(c.dayEnd), formatClock(c.dayStart))
	}

	if cfg.OverrideFile != "" {
		set, err := loadOverrides(cfg.OverrideFile)
		if err != nil {
			return nil, err
		}
		c.overrideFile = cfg.OverrideFile
		c.overrides = set.days
		c.overrideYears = set.years
	}
	return c, nil
}

// parseClock reads "HH:MM" as minutes after midnight. Only an end of day
// may be 24:00, for working time that runs to midnight.
func parseClock(field, value, fallback string, endOfDay bool) (int, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		value = fallback
	}
	if endOfDay && value == "24:00" {
		return 24 * 60, nil
	}
	parsed, err := time.Parse("15:04", value)
	if err != nil {
		return 0, fmt.Errorf("invalid calendar %s %q: write it as HH:MM, such as %s", field, value, fallback)
	}
	return parsed.Hour()*60 + parsed.Minute(), nil
}

func formatClock(minutes int) string {
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// DayStart returns the start of working time as "HH:MM".
func (c *Calendar) DayStart() string { return formatClock(c.dayStart) }

// DayEnd returns the end of working time as "HH:MM".
func (c *Calendar) DayEnd() string { return formatClock(c.dayEnd) }

// OverrideFile returns the path of the override file; empty when none.
func (c *Calendar) OverrideFile() string { return c.overrideFile }

// IsWorkday reports whether the date of t in the calendar's time zone is
// a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	return c.isWorkday(civil.DateOf(t.In(c.loc)))
}

// window returns the working time of date, or false on a day off.
func (c *Calendar) window(date civil.Date) (start, end time.Time, ok bool) {
	if !c.isWorkday(date) {
		return time.Time{}, time.Time{}, false
	}
	start = time.Date(date.Year, date.Month, date.Day, c.dayStart/60, c.dayStart%60, 0, 0, c.loc)
	end = time.Date(date.Year, date.Month, date.Day, c.dayEnd/60, c.dayEnd%60, 0, 0, c.loc)
	return start, end, true
}

// Add returns the deadline d after start, in start's location.
//
// With rules.WorkingHours it returns the earliest moment by which d of
// working time has elapsed since start. So a start outside working time
// counts from the next working moment, and a deadline that uses up a
// working day ends at DayEnd, not at the next DayStart. A negative d counts
// backwards: the latest moment with -d of working time from it to start,
// as for a reminder before a deadline. Zero returns start. Any other
// Hours value counts calendar hours: start + d.
func (c *Calendar) Add(start time.Time, d time.Duration, hours rules.Hours) time.Time {
	if hours != rules.WorkingHours || d == 0 {
		return start.Add(d)
	}
	if d < 0 {
		return c.subtractWorking(start, -d).In(start.Location())
	}
	return c.addWorking(start, d).In(start.Location())
}

// addWorking walks forward one day at a time, using up each day's
// working time after start until d is spent.
func (c *Calendar) addWorking(start time.Time, d time.Duration) time.Time {
	remaining := d
	for date := civil.DateOf(start.In(c.loc)); ; date = date.AddDays(1) {
		dayStart, dayEnd, ok := c.window(date)
		if !ok {
			continue
		}
		from := later(dayStart, start)
		if !from.Before(dayEnd) {
			continue
		}
		available := dayEnd.Sub(from)
		if remaining <= available {
			return from.Add(remaining)
		}
		remaining -= available
	}
}

// subtractWorking walks backward one day at a time, using up each day's
// working time before end until d is spent.
func (c *Calendar) subtractWorking(end time.Time, d time.Duration) time.Time {
	remaining := d
	for date := civil.DateOf(end.In(c.loc)); ; date = date.AddDays(-1) {
		dayStart, dayEnd, ok := c.window(date)
		if !ok {
			continue
		}
		to := earlier(dayEnd, end)
		if !dayStart.Before(to) {
			continue
		}
		available := to.Sub(dayStart)
		if remaining <= available {
			return to.Add(-remaining)
		}
		remaining -= available
	}
}

// Sub returns the time from a to b: calendar time, or with
// rules.WorkingHours only the working time between them. It is negative
// when b is before a. For every d and start, Sub(Add(start, d, h), start, h)
// is d.
func (c *Calendar) Sub(b, a time.Time, hours rules.Hours) time.Duration {
	if hours != rules.WorkingHours {
		return b.Sub(a)
	}
	if b.Before(a) {
		return -c.Sub(a, b, hours)
	}

	var total time.Duration
	last := civil.DateOf(b.In(c.loc))
	for date := civil.DateOf(a.In(c.loc)); !date.After(last); date = date.AddDays(1) {
		dayStart, dayEnd, ok := c.window(date)
		if !ok {
			continue
		}
		from, to := later(dayStart, a), earlier(dayEnd, b)
		if from.Before(to) {
			total += to.Sub(from)
		}
	}
	return total
}

func later(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}

func earlier(x, y time.Time) time.Time {
	if x.Before(y) {
		return x
	}
	return y
}

// warnedYears holds the years already warned about in this process, so
// each uncovered year is logged once however many calendars are built.
var warnedYears sync.Map

// warnIfUncovered logs, once per process and year, that year has no
// holiday arrangement and counts only weekends as days off.
func (c *Calendar) warnIfUncovered(year int) {
	if c.Covered(year) {
		return
	}
	if _, seen := warnedYears.LoadOrStore(year, true); seen {
		return
	}
	fields := logrus.Fields{keyYear: year}
	if c.overrideFile != "" {
		fields[logging.KeyFile] = c.overrideFile
	}
	first, last := LibraryYears()
	c.log.WithFields(fields).Warnf(
		"neither lunar-go (%d to %d) nor the override file lists the holidays of %d, so working hours "+
			"count every Monday to Friday of it: add the year's holidays and make-up working days "+
			"to the file named by calendar.override_file", first, last, year)
}
