package calendar

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without a zoneinfo database

	"cloud.google.com/go/civil"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-project/ordo/internal/rules"
)

var shanghai = mustLocation("Asia/Shanghai")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at returns a wall-clock time in Asia/Shanghai.
func at(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, shanghai)
}

func newDefaultCalendar(t *testing.T) *Calendar {
	t.Helper()
	c, err := New(rules.Calendar{})
	require.NoError(t, err)
	return c
}

// writeOverrides writes content to a fresh override file and returns its path.
func writeOverrides(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "overrides.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestLibraryYears(t *testing.T) {
	first, last := LibraryYears()
	assert.Equal(t, 2002, first)
	assert.Equal(t, 2027, last)
}

// The dates below follow the State Council's arrangements as lunar-go
// v1.4.7 lists them. The Spring Festival 2026 is off from Sun 15 to Mon 23
// February, with Sat 14 and Sat 28 February as make-up working days.
// National Day 2026 is off from 1 to 7 October, with Sun 20 September and
// Sat 10 October as make-up working days. New Year's Day 2027 is off from
// Fri 1 to Sun 3 January.
func TestAddWorkingHours(t *testing.T) {
	c := newDefaultCalendar(t)
	cases := []struct {
		name  string
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"spring festival from make-up saturday", at(2026, 2, 14, 9, 0), 16 * time.Hour, at(2026, 2, 24, 16, 0)},
		{"spring festival from friday evening", at(2026, 2, 13, 17, 0), 16 * time.Hour, at(2026, 2, 24, 15, 0)},
		{"spring festival start inside holiday", at(2026, 2, 17, 10, 0), 1 * time.Hour, at(2026, 2, 24, 10, 0)},
		{"make-up saturday after spring festival", at(2026, 2, 27, 17, 0), 2 * time.Hour, at(2026, 2, 28, 10, 0)},
		{"make-up sunday after new year", at(2026, 1, 3, 10, 0), 1 * time.Hour, at(2026, 1, 4, 10, 0)},
		{"make-up sunday before national day", at(2026, 9, 19, 12, 0), 1 * time.Hour, at(2026, 9, 20, 10, 0)},
		{"national day week", at(2026, 9, 30, 17, 0), 2 * time.Hour, at(2026, 10, 8, 10, 0)},
		{"make-up saturday after national day", at(2026, 10, 9, 17, 0), 2 * time.Hour, at(2026, 10, 10, 10, 0)},
		{"start at night", at(2026, 3, 10, 22, 0), 1 * time.Hour, at(2026, 3, 11, 10, 0)},
		{"start before day start", at(2026, 3, 10, 6, 0), 1 * time.Hour, at(2026, 3, 10, 10, 0)},
		{"start at midnight", at(2026, 3, 11, 0, 0), 30 * time.Minute, at(2026, 3, 11, 9, 30)},
		{"start on weekend", at(2026, 3, 14, 11, 0), 1 * time.Hour, at(2026, 3, 16, 10, 0)},
		{"middle of day within day", at(2026, 3, 10, 14, 30), 2 * time.Hour, at(2026, 3, 10, 16, 30)},
		{"ends exactly at day end", at(2026, 3, 10, 14, 30), 3*time.Hour + 30*time.Minute, at(2026, 3, 10, 18, 0)},
		{"spills into next day", at(2026, 3, 10, 14, 30), 4 * time.Hour, at(2026, 3, 11, 9, 30)},
		{"three whole days", at(2026, 3, 9, 9, 0), 27 * time.Hour, at(2026, 3, 11, 18, 0)},
		{"start at day end", at(2026, 3, 10, 18, 0), 1 * time.Minute, at(2026, 3, 11, 9, 1)},
		{"over the year end into new year holiday", at(2026, 12, 31, 17, 0), 2 * time.Hour, at(2027, 1, 4, 10, 0)},
		{"seconds are kept", at(2026, 3, 10, 9, 0).Add(30 * time.Second), 90 * time.Second, at(2026, 3, 10, 9, 2)},
		{"zero at night returns start", at(2026, 3, 10, 22, 0), 0, at(2026, 3, 10, 22, 0)},
		{"zero on holiday returns start", at(2026, 2, 17, 10, 0), 0, at(2026, 2, 17, 10, 0)},
		{"negative back over spring festival", at(2026, 2, 24, 10, 0), -2 * time.Hour, at(2026, 2, 14, 17, 0)},
		{"negative from night", at(2026, 3, 10, 22, 0), -1 * time.Hour, at(2026, 3, 10, 17, 0)},
		{"negative exactly to day start", at(2026, 3, 10, 12, 0), -3 * time.Hour, at(2026, 3, 10, 9, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Add(tc.start, tc.d, rules.WorkingHours)
			assert.True(t, tc.want.Equal(got), "Add(%s, %s) = %s, want %s", tc.start, tc.d, got, tc.want)
		})
	}
}

func TestAddKeepsStartLocation(t *testing.T) {
	c := newDefaultCalendar(t)
	start := at(2026, 2, 14, 9, 0).UTC() // 01:00 UTC

	got := c.Add(start, 16*time.Hour, rules.WorkingHours)

	assert.Equal(t, time.UTC, got.Location())
	assert.Equal(t, time.Date(2026, 2, 24, 8, 0, 0, 0, time.UTC), got)
}

func TestAddCalendarHours(t *testing.T) {
	c := newDefaultCalendar(t)
	cases := []struct {
		name  string
		hours rules.Hours
	}{
		{"calendar", rules.CalendarHours},
		{"empty counts calendar hours", ""},
	}
	start := at(2026, 2, 14, 17, 0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Add(start, 16*time.Hour, tc.hours)
			assert.True(t, at(2026, 2, 15, 9, 0).Equal(got), "got %s", got)
			assert.Equal(t, 16*time.Hour, c.Sub(got, start, tc.hours))
		})
	}
}

func TestAddCustomDay(t *testing.T) {
	c, err := New(rules.Calendar{TimeZone: "UTC", DayStart: "08:30", DayEnd: "24:00"})
	require.NoError(t, err)
	start := time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)

	got := c.Add(start, 2*time.Hour, rules.WorkingHours)

	assert.Equal(t, time.Date(2026, 3, 11, 9, 30, 0, 0, time.UTC), got)
	assert.Equal(t, "08:30", c.DayStart())
	assert.Equal(t, "24:00", c.DayEnd())
}

func TestSubWorkingHours(t *testing.T) {
	c := newDefaultCalendar(t)
	cases := []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"same day", at(2026, 3, 10, 10, 0), at(2026, 3, 10, 12, 30), 150 * time.Minute},
		{"night only", at(2026, 3, 10, 19, 0), at(2026, 3, 11, 8, 0), 0},
		{"weekend only", at(2026, 3, 14, 0, 0), at(2026, 3, 16, 0, 0), 0},
		{"over spring festival", at(2026, 2, 13, 9, 0), at(2026, 2, 24, 18, 0), 27 * time.Hour},
		{"over national day", at(2026, 9, 30, 0, 0), at(2026, 10, 9, 0, 0), 18 * time.Hour},
		{"over the year end", at(2026, 12, 31, 12, 0), at(2027, 1, 4, 12, 0), 9 * time.Hour},
		{"equal moments", at(2026, 3, 10, 10, 0), at(2026, 3, 10, 10, 0), 0},
		{"b before a is negative", at(2026, 3, 11, 10, 0), at(2026, 3, 10, 17, 0), -2 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, c.Sub(tc.b, tc.a, rules.WorkingHours))
		})
	}
}

// TestSubInvertsAdd checks Sub(Add(start, d), start) == d for starts every
// 97 minutes from late January to mid-March 2026 (across the Spring
// Festival and both make-up Saturdays) and for durations from zero to
// several weeks of working time, in both directions.
func TestSubInvertsAdd(t *testing.T) {
	c := newDefaultCalendar(t)
	durations := []time.Duration{
		0, time.Minute, 59 * time.Minute, time.Hour, 9 * time.Hour, 16 * time.Hour,
		27*time.Hour + 17*time.Minute, 100 * time.Hour, 400 * time.Hour,
	}
	for start := at(2026, 1, 25, 0, 0); start.Before(at(2026, 3, 15, 0, 0)); start = start.Add(97 * time.Minute) {
		for _, d := range durations {
			for _, signed := range []time.Duration{d, -d} {
				end := c.Add(start, signed, rules.WorkingHours)
				require.Equal(t, signed, c.Sub(end, start, rules.WorkingHours),
					"Sub(Add(%s, %s), start) with Add = %s", start, signed, end)
				if signed > 0 {
					require.True(t, c.IsWorkday(end), "Add(%s, %s) = %s is not on a working day", start, signed, end)
				}
			}
		}
	}
}

func TestIsWorkday(t *testing.T) {
	c := newDefaultCalendar(t)
	cases := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"plain monday", at(2026, 3, 9, 12, 0), true},
		{"plain saturday", at(2026, 3, 14, 12, 0), false},
		{"spring festival monday", at(2026, 2, 16, 12, 0), false},
		{"make-up saturday", at(2026, 2, 14, 12, 0), true},
		{"make-up sunday", at(2026, 9, 20, 12, 0), true},
		{"national day wednesday", at(2026, 10, 7, 12, 0), false},
		{"friday evening utc is make-up saturday", time.Date(2026, 2, 13, 17, 0, 0, 0, time.UTC), true},
		{"saturday evening utc is holiday sunday", time.Date(2026, 2, 14, 17, 0, 0, 0, time.UTC), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, c.IsWorkday(tc.t))
		})
	}
}

func TestDaysOfLibraryYear(t *testing.T) {
	c := newDefaultCalendar(t)

	days := c.Days(2026)

	require.NotEmpty(t, days)
	byDate := map[civil.Date]Day{}
	for i, day := range days {
		assert.Equal(t, SourceLibrary, day.Source, "day %s", day.Date)
		assert.Equal(t, 2026, day.Date.Year, "day %s", day.Date)
		if i > 0 {
			assert.True(t, days[i-1].Date.Before(day.Date), "days not sorted at %s", day.Date)
		}
		byDate[day.Date] = day
	}
	assert.Equal(t, Day{Date: civil.Date{Year: 2026, Month: 2, Day: 14}, Kind: Workday, Name: "春节", Source: SourceLibrary},
		byDate[civil.Date{Year: 2026, Month: 2, Day: 14}])
	assert.Equal(t, Holiday, byDate[civil.Date{Year: 2026, Month: 2, Day: 23}].Kind)
	assert.Equal(t, "国庆节", byDate[civil.Date{Year: 2026, Month: 10, Day: 1}].Name)
	assert.Equal(t, []Source{SourceLibrary}, c.Coverage(2026))
	assert.True(t, c.Covered(2026))
}

const overrides2028 = `
days:
  - date: 2028-01-03
    kind: holiday
    name: 元旦
  - date: 2028-01-08
    kind: workday
    name: 元旦调休
  - date: "2026-02-23"
    kind: workday
`

func TestOverrideFileUnknownYear(t *testing.T) {
	c, err := New(rules.Calendar{OverrideFile: writeOverrides(t, overrides2028)})
	require.NoError(t, err)

	assert.False(t, c.IsWorkday(at(2028, 1, 3, 12, 0)), "override holiday on a Monday")
	assert.True(t, c.IsWorkday(at(2028, 1, 8, 12, 0)), "override working Saturday")
	assert.True(t, c.IsWorkday(at(2028, 1, 10, 12, 0)), "plain Monday")

	// Fri 31 Dec 2027 17:00 + 2h: one hour that evening, then Sat 1, Sun 2
	// and the override holiday Mon 3 January 2028 are off.
	got := c.Add(at(2027, 12, 31, 17, 0), 2*time.Hour, rules.WorkingHours)
	assert.True(t, at(2028, 1, 4, 10, 0).Equal(got), "got %s", got)

	// Fri 7 January 2028 17:00 + 2h ends on the override working Saturday.
	got = c.Add(at(2028, 1, 7, 17, 0), 2*time.Hour, rules.WorkingHours)
	assert.True(t, at(2028, 1, 8, 10, 0).Equal(got), "got %s", got)

	assert.True(t, c.Covered(2028))
	assert.Equal(t, []Source{SourceOverride}, c.Coverage(2028))
	assert.Equal(t, []Day{
		{Date: civil.Date{Year: 2028, Month: 1, Day: 3}, Kind: Holiday, Name: "元旦", Source: SourceOverride, Line: 3},
		{Date: civil.Date{Year: 2028, Month: 1, Day: 8}, Kind: Workday, Name: "元旦调休", Source: SourceOverride, Line: 6},
	}, c.Days(2028))
}

func TestOverrideFileCorrectsLibraryDay(t *testing.T) {
	c, err := New(rules.Calendar{OverrideFile: writeOverrides(t, overrides2028)})
	require.NoError(t, err)

	assert.True(t, c.IsWorkday(at(2026, 2, 23, 12, 0)), "override turns the last Spring Festival day into a working day")
	got := c.Add(at(2026, 2, 14, 9, 0), 16*time.Hour, rules.WorkingHours)
	assert.True(t, at(2026, 2, 23, 16, 0).Equal(got), "got %s", got)

	var corrected Day
	for _, day := range c.Days(2026) {
		if day.Date == (civil.Date{Year: 2026, Month: 2, Day: 23}) {
			corrected = day
		}
	}
	assert.Equal(t, Workday, corrected.Kind)
	assert.Equal(t, SourceOverride, corrected.Source)
	require.NotNil(t, corrected.Replaced)
	assert.Equal(t, Holiday, corrected.Replaced.Kind)
	assert.Equal(t, SourceLibrary, corrected.Replaced.Source)
	assert.Equal(t, []Source{SourceLibrary, SourceOverride}, c.Coverage(2026))
}

func TestUncoveredYearWarnsOnce(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	const year = 2150 // no other test touches it, and the warning is once per process
	for range 2 {
		c, err := New(rules.Calendar{}, WithLogger(logger))
		require.NoError(t, err)
		assert.False(t, c.Covered(year))
		assert.Empty(t, c.Coverage(year))
		c.Add(time.Date(year, 3, 1, 0, 0, 0, 0, shanghai), 40*time.Hour, rules.WorkingHours)
		c.Days(year)
	}

	entries := hook.AllEntries()
	require.Len(t, entries, 1)
	assert.Equal(t, logrus.WarnLevel, entries[0].Level)
	assert.Equal(t, year, entries[0].Data[keyYear])
	assert.Contains(t, entries[0].Message, "2150")
	assert.Contains(t, entries[0].Message, "calendar.override_file")
}

func TestCoveredYearDoesNotWarn(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	c, err := New(rules.Calendar{}, WithLogger(logger))
	require.NoError(t, err)

	c.Add(at(2026, 12, 30, 9, 0), 100*time.Hour, rules.WorkingHours)
	c.Days(2027)

	assert.Empty(t, hook.AllEntries())
}

func TestNewDefaults(t *testing.T) {
	c := newDefaultCalendar(t)

	assert.Equal(t, "Asia/Shanghai", c.Location().String())
	assert.Equal(t, "09:00", c.DayStart())
	assert.Equal(t, "18:00", c.DayEnd())
	assert.Empty(t, c.OverrideFile())
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  rules.Calendar
		want string
	}{
		{"unknown zone", rules.Calendar{TimeZone: "Mars/Olympus"}, `invalid calendar time_zone "Mars/Olympus": use an IANA name`},
		{"day start not HH:MM", rules.Calendar{DayStart: "9am"}, `invalid calendar day_start "9am": write it as HH:MM`},
		{"day start out of range", rules.Calendar{DayStart: "25:00"}, `invalid calendar day_start "25:00"`},
		{"day start 24:00", rules.Calendar{DayStart: "24:00"}, `invalid calendar day_start "24:00"`},
		{"day end not HH:MM", rules.Calendar{DayEnd: "six"}, `invalid calendar day_end "six"`},
		{"day end before start", rules.Calendar{DayStart: "18:00", DayEnd: "09:00"}, "calendar day_end 09:00 is not after day_start 18:00"},
		{"day end equal to start", rules.Calendar{DayStart: "09:00", DayEnd: "09:00"}, "calendar day_end 09:00 is not after day_start 09:00"},
		{"missing override file", rules.Calendar{OverrideFile: "/nonexistent/overrides.yaml"},
			"read calendar override file: open /nonexistent/overrides.yaml: no such file or directory: check calendar.override_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestOverrideFileErrors(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    []string
	}{
		{"unknown top-level key", "days: []\nyears: [2028]\n",
			[]string{`line 2: unknown key "years": the only top-level key is "days"`}},
		{"unknown entry key", "days:\n  - date: 2028-01-03\n    kind: holiday\n    note: x\n",
			[]string{`line 4: unknown key "note": an entry has only date, kind and name`}},
		{"impossible date", "days:\n  - date: 2028-02-30\n    kind: holiday\n",
			[]string{`line 2: invalid date "2028-02-30": write it as YYYY-MM-DD`}},
		{"date in another format", "days:\n  - date: 2028/01/03\n    kind: holiday\n",
			[]string{`line 2: invalid date "2028/01/03"`}},
		{"date with a time", "days:\n  - date: 2028-01-03T09:00:00Z\n    kind: holiday\n",
			[]string{`line 2: invalid date "2028-01-03T09:00:00Z"`}},
		{"invalid kind", "days:\n  - date: 2028-01-03\n    kind: day_off\n",
			[]string{`line 3: invalid kind "day_off": use holiday or workday`}},
		{"missing date", "days:\n  - kind: holiday\n    name: x\n",
			[]string{"line 2: entry has no date: add date: YYYY-MM-DD"}},
		{"missing kind", "days:\n  - date: 2028-01-03\n",
			[]string{"line 2: entry has no kind: add kind: holiday or kind: workday"}},
		{"date listed twice", "days:\n  - date: 2028-01-03\n    kind: holiday\n  - date: 2028-01-03\n    kind: workday\n",
			[]string{"line 4: date 2028-01-03 is listed twice (first on line 2): keep one entry"}},
		{"key twice in entry", "days:\n  - date: 2028-01-03\n    kind: holiday\n    kind: workday\n",
			[]string{`line 4: key "kind" is given twice in one entry: keep one`}},
		{"days twice", "days: []\ndays: []\n",
			[]string{`line 2: key "days" is given twice: merge the two lists`}},
		{"days not a list", "days:\n  date: 2028-01-03\n",
			[]string{`line 2: "days" must be a list of entries`}},
		{"entry not a mapping", "days:\n  - 2028-01-03\n",
			[]string{"line 2: an entry must be a mapping with date, kind and an optional name"}},
		{"value not scalar", "days:\n  - date: [2028-01-03]\n    kind: holiday\n",
			[]string{`line 2: "date" must be a single value`}},
		{"top level is a list", "- date: 2028-01-03\n  kind: holiday\n",
			[]string{`line 1: the file must be a mapping with the key "days"`}},
		{"invalid yaml", "days:\n  - date: 2028-01-03\n    kind: holiday\n  x\n",
			[]string{"invalid YAML: yaml: line 4: could not find expected ':': fix the YAML syntax at or after that line"}},
		{"every problem reported", "days:\n  - date: 2028-13-01\n    kind: holiday\n  - date: 2028-01-04\n    kind: off\n",
			[]string{`line 2: invalid date "2028-13-01"`, `line 5: invalid kind "off"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeOverrides(t, tc.content)

			c, err := New(rules.Calendar{OverrideFile: path})

			require.Error(t, err)
			assert.Nil(t, c)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), "calendar override file "+path+", "+want)
			}
		})
	}
}

func TestOverrideFileAccepted(t *testing.T) {
	cases := []struct {
		name    string
		content string
		days    int
	}{
		{"empty file", "", 0},
		{"comments only", "# nothing announced yet\n", 0},
		{"null days", "days:\n", 0},
		{"empty list", "days: []\n", 0},
		{"quoted date and no name", "days:\n  - date: \"2028-01-03\"\n    kind: holiday\n", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(rules.Calendar{OverrideFile: writeOverrides(t, tc.content)})
			require.NoError(t, err)
			assert.Len(t, c.overrides, tc.days)
		})
	}
}

func TestExampleOverrideFileLoads(t *testing.T) {
	c, err := New(rules.Calendar{OverrideFile: filepath.Join("..", "..", "deploy", "calendar-overrides.example.yaml")})
	require.NoError(t, err)
	assert.NotEmpty(t, c.overrides)
}
