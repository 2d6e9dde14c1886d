package calendar

import (
	"errors"
	"fmt"
	"os"
	"time"

	"cloud.google.com/go/civil"
	"gopkg.in/yaml.v3"
)

// The override file lists holidays and working days that replace or add to
// the library's data, for years not announced when the library was
// released, or to correct a day. deploy/calendar-overrides.example.yaml is
// a commented example:
//
//	days:
//	  - date: 2028-01-03     # YYYY-MM-DD, in the calendar's time zone
//	    kind: holiday        # holiday or workday
//	    name: 元旦           # optional
//
// The top level has the single key days. Every entry needs date and kind,
// and may have name. Unknown keys, invalid dates and kinds, and a date
// listed twice are rejected with the line to fix. An empty file lists no
// days.

const (
	overrideKeyDays = "days"
	entryKeyDate    = "date"
	entryKeyKind    = "kind"
	entryKeyName    = "name"
)

// overrideSet is the parsed override file.
type overrideSet struct {
	days map[civil.Date]Day
	// years contains every year with at least one entry. Such a year
	// counts as covered by the file.
	years map[int]bool
}

// loadOverrides reads and validates the override file at path. Every
// problem in the file is reported, each with its line.
func loadOverrides(path string) (overrideSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return overrideSet{}, fmt.Errorf("read calendar override file: %w: check calendar.override_file", err)
	}
	set, problems := parseOverrides(data)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, problem := range problems {
			errs[i] = fmt.Errorf("calendar override file %s, %w", path, problem)
		}
		return overrideSet{}, errors.Join(errs...)
	}
	return set, nil
}

// lineError is a problem at one line of the override file.
type lineError struct {
	line    int
	message string
}

func (e lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.message) }

func problemAt(node *yaml.Node, format string, args ...any) error {
	return lineError{line: node.Line, message: fmt.Sprintf(format, args...)}
}

func parseOverrides(data []byte) (overrideSet, []error) {
	set := overrideSet{days: map[civil.Date]Day{}, years: map[int]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 puts the line into its message ("yaml: line 3: ..."),
		// but for some mistakes it names an earlier line.
		return set, []error{fmt.Errorf("invalid YAML: %w: fix the YAML syntax at or after that line", err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return set, nil // an empty file lists no days
	}

	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return set, []error{problemAt(root, "the file must be a mapping with the key %q holding a list of dates", overrideKeyDays)}
	}
	var problems []error
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		switch {
		case key.Value != overrideKeyDays:
			problems = append(problems, problemAt(key, "unknown key %q: the only top-level key is %q", key.Value, overrideKeyDays))
		case list != nil:
			problems = append(problems, problemAt(key, "key %q is given twice: merge the two lists", overrideKeyDays))
		default:
			list = value
		}
	}
	if list == nil || isNull(list) {
		return set, problems
	}
	if list.Kind != yaml.SequenceNode {
		return set, append(problems, problemAt(list, "%q must be a list of entries, each starting with \"- date:\"", overrideKeyDays))
	}

	for _, item := range list.Content {
		day, errs := parseEntry(item)
		problems = append(problems, errs...)
		if len(errs) > 0 {
			continue
		}
		if first, ok := set.days[day.Date]; ok {
			problems = append(problems, problemAt(item, "date %s is listed twice (first on line %d): keep one entry", day.Date, first.Line))
			continue
		}
		set.days[day.Date] = day
		set.years[day.Date.Year] = true
	}
	return set, problems
}

// parseEntry reads one list item: date, kind and an optional name.
func parseEntry(item *yaml.Node) (Day, []error) {
	if item.Kind != yaml.MappingNode {
		return Day{}, []error{problemAt(item, "an entry must be a mapping with date, kind and an optional name")}
	}
	day := Day{Source: SourceOverride, Line: item.Line}
	var problems []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(item.Content); i += 2 {
		key, value := item.Content[i], item.Content[i+1]
		if seen[key.Value] {
			problems = append(problems, problemAt(key, "key %q is given twice in one entry: keep one", key.Value))
			continue
		}
		seen[key.Value] = true
		if value.Kind != yaml.ScalarNode {
			problems = append(problems, problemAt(value, "%q must be a single value", key.Value))
			continue
		}

		switch key.Value {
		case entryKeyDate:
			date, err := time.Parse(time.DateOnly, value.Value)
			if err != nil {
				problems = append(problems, problemAt(value, "invalid date %q: write it as YYYY-MM-DD, such as 2028-01-03", value.Value))
				continue
			}
			day.Date = civil.DateOf(date)
		case entryKeyKind:
			switch DayKind(value.Value) {
			case Holiday, Workday:
				day.Kind = DayKind(value.Value)
			default:
				problems = append(problems, problemAt(value, "invalid kind %q: use %s or %s", value.Value, Holiday, Workday))
			}
		case entryKeyName:
			day.Name = value.Value
		default:
			problems = append(problems, problemAt(key, "unknown key %q: an entry has only date, kind and name", key.Value))
		}
	}
	if !seen[entryKeyDate] {
		problems = append(problems, problemAt(item, "entry has no date: add date: YYYY-MM-DD"))
	}
	if !seen[entryKeyKind] {
		problems = append(problems, problemAt(item, "entry has no kind: add kind: %s or kind: %s", Holiday, Workday))
	}
	return day, problems
}

func isNull(node *yaml.Node) bool {
	return node.Kind == yaml.ScalarNode && node.Tag == "!!null"
}
