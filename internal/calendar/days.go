package calendar

import (
	"container/list"
	"sort"
	"sync"
	"time"

	"cloud.google.com/go/civil"
	"github.com/6tail/lunar-go/HolidayUtil"
)

// DayKind is the kind of a listed day: a day off or a working day.
type DayKind string

const (
	// Holiday is a public holiday: no working time, even on a weekday.
	Holiday DayKind = "holiday"
	// Workday is a working day, even on a Saturday or Sunday: a make-up
	// working day (调休) or a correction of a holiday.
	Workday DayKind = "workday"
)

// Source is the origin of a listed day's entry.
type Source string

const (
	// SourceLibrary marks days from the holiday data of
	// github.com/6tail/lunar-go (package HolidayUtil).
	SourceLibrary Source = "library"
	// SourceOverride marks days from the operator's override file.
	SourceOverride Source = "override file"
)

// Day is a date that does not follow the plain rule "Monday to Friday
// work, Saturday and Sunday off": a holiday or a make-up working day.
type Day struct {
	Date civil.Date
	Kind DayKind
	// Name is the holiday the day belongs to, such as 春节; it may be
	// empty for override entries.
	Name   string
	Source Source
	// Line is the line of the entry in the override file; zero for
	// library days.
	Line int
	// Replaced is the library's entry for the same date when an override
	// entry replaces it; nil otherwise.
	Replaced *Day
}

// libraryData is the holiday data of lunar-go, read once.
type libraryData struct {
	days map[civil.Date]Day
	// years contains every year with an official arrangement in the data.
	years       map[int]bool
	first, last int
}

var (
	libraryOnce sync.Once
	library     libraryData
)

// libraryFirstYear is the first year in lunar-go's holiday data. Its first
// entries are the make-up working days of 2001-12-29 and 2001-12-30,
// which belong to the 2002 New Year's Day holiday.
const libraryFirstYear = 2001

// loadLibrary returns lunar-go's holiday data. A year counts as known when
// at least one entry belongs to a holiday of that year (the entry's target
// date), so 2001, which holds only make-up days for 2002, is not known.
//
// NOTE: HolidayUtil.Fix changes the library's data in place. ordo never
// calls it; a change made after the first load would not be seen here.
func loadLibrary() libraryData {
	libraryOnce.Do(func() {
		library = libraryData{days: map[civil.Date]Day{}, years: map[int]bool{}}
		for year := libraryFirstYear; ; year++ {
			entries := HolidayUtil.GetHolidaysByYear(year)
			if entries.Len() == 0 && year > libraryFirstYear {
				break
			}
			addLibraryEntries(&library, entries)
		}
		for year := range library.years {
			if library.first == 0 || year < library.first {
				library.first = year
			}
			if year > library.last {
				library.last = year
			}
		}
	})
	return library
}

func addLibraryEntries(data *libraryData, entries *list.List) {
	for e := entries.Front(); e != nil; e = e.Next() {
		holiday := e.Value.(*HolidayUtil.Holiday)
		date, err := civil.ParseDate(holiday.GetDay())
		if err != nil {
			continue // the library's own data; every entry parses
		}
		day := Day{Date: date, Kind: Holiday, Name: holiday.GetName(), Source: SourceLibrary}
		if holiday.IsWork() {
			day.Kind = Workday
		}
		data.days[date] = day
		if target, err := civil.ParseDate(holiday.GetTarget()); err == nil {
			data.years[target.Year] = true
		}
	}
}

// LibraryYears returns the first and last year whose official holiday
// arrangement lunar-go lists (2002 and 2027 in v1.4.7).
func LibraryYears() (first, last int) {
	data := loadLibrary()
	return data.first, data.last
}

// lookup returns the listed day at date, the override file first.
func (c *Calendar) lookup(date civil.Date) (Day, bool) {
	c.warnIfUncovered(date.Year)
	if day, ok := c.overrides[date]; ok {
		return day, true
	}
	day, ok := loadLibrary().days[date]
	return day, ok
}

// isWorkday applies the listed days over the weekly rule.
func (c *Calendar) isWorkday(date civil.Date) bool {
	if day, ok := c.lookup(date); ok {
		return day.Kind == Workday
	}
	weekday := date.Weekday()
	return weekday != time.Saturday && weekday != time.Sunday
}

// Days returns the holidays and make-up working days of year, sorted by
// date, with the override file's entries in place of the library's.
func (c *Calendar) Days(year int) []Day {
	c.warnIfUncovered(year)
	byDate := map[civil.Date]Day{}
	for date, day := range loadLibrary().days {
		if date.Year == year {
			byDate[date] = day
		}
	}
	for date, day := range c.overrides {
		if date.Year != year {
			continue
		}
		if replaced, ok := byDate[date]; ok {
			day.Replaced = &replaced
		}
		byDate[date] = day
	}

	days := make([]Day, 0, len(byDate))
	for _, day := range byDate {
		days = append(days, day)
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Date.Before(days[j].Date) })
	return days
}

// Coverage returns the sources that list year's holiday arrangement:
// none, the library, the override file, or both. With none, the calendar
// treats only Saturdays and Sundays as days off in that year.
func (c *Calendar) Coverage(year int) []Source {
	var sources []Source
	if loadLibrary().years[year] {
		sources = append(sources, SourceLibrary)
	}
	if c.overrideYears[year] {
		sources = append(sources, SourceOverride)
	}
	return sources
}

// Covered reports whether the library or the override file lists year's
// holiday arrangement.
func (c *Calendar) Covered(year int) bool {
	return loadLibrary().years[year] || c.overrideYears[year]
}
