package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/internal/calendar"
	"github.com/ordo-project/ordo/internal/rules"
)

// calendarFlags select the calendar of the calendar commands. They run
// locally and never call the API.
type calendarFlags struct {
	rulesFile    string
	timeZone     string
	dayStart     string
	dayEnd       string
	overrideFile string
}

func (f *calendarFlags) register(cmd *cobra.Command) {
	flags := cmd.PersistentFlags()
	flags.StringVar(&f.rulesFile, "rules", "", "rules document (YAML or JSON) whose calendar section to use; --time-zone, --day-start, --day-end and --override-file override its fields when given")
	flags.StringVar(&f.timeZone, "time-zone", calendar.DefaultTimeZone, "time zone of working time (IANA name)")
	flags.StringVar(&f.dayStart, "day-start", calendar.DefaultDayStart, "start of working time on a working day, HH:MM")
	flags.StringVar(&f.dayEnd, "day-end", calendar.DefaultDayEnd, "end of working time on a working day, HH:MM (24:00 allowed)")
	flags.StringVar(&f.overrideFile, "override-file", "", "override file of holidays and working days (see deploy/calendar-overrides.example.yaml)")
}

// calendar builds the calendar from the rules document, if one is named,
// with every flag given on the command line taking precedence.
func (f *calendarFlags) calendar(cmd *cobra.Command, log logrus.FieldLogger) (*calendar.Calendar, error) {
	var cfg rules.Calendar
	if f.rulesFile != "" {
		section, err := readCalendarSection(f.rulesFile)
		if err != nil {
			return nil, err
		}
		cfg = section
	}

	flags := cmd.Flags()
	if f.rulesFile == "" || flags.Changed("time-zone") {
		cfg.TimeZone = f.timeZone
	}
	if f.rulesFile == "" || flags.Changed("day-start") {
		cfg.DayStart = f.dayStart
	}
	if f.rulesFile == "" || flags.Changed("day-end") {
		cfg.DayEnd = f.dayEnd
	}
	if f.rulesFile == "" || flags.Changed("override-file") {
		cfg.OverrideFile = f.overrideFile
	}
	return calendar.New(cfg, calendar.WithLogger(log))
}

// readCalendarSection reads the calendar section of a rules document and
// ignores the other sections.
func readCalendarSection(path string) (rules.Calendar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return rules.Calendar{}, fmt.Errorf("read rules document: %w", err)
	}
	var doc struct {
		Calendar rules.Calendar `yaml:"calendar"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return rules.Calendar{}, fmt.Errorf("invalid rules document %s: %w: fix the YAML or JSON syntax", path, err)
	}
	return doc.Calendar, nil
}

// stderrLogger sends the calendar's warnings, such as a year with no known
// holidays, to the command's standard error.
func stderrLogger(out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	return log
}

func newCalendarCommand() *cobra.Command {
	flags := &calendarFlags{}
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "Show the holidays behind working hours and compute deadlines, locally without the API",
	}
	flags.register(cmd)
	cmd.AddCommand(newCalendarShowCommand(flags), newCalendarAddCommand(flags))
	return cmd
}

func newCalendarShowCommand(flags *calendarFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show YEAR",
		Short: "List a year's holidays and make-up working days and where each comes from",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			year, err := strconv.Atoi(args[0])
			if err != nil || year < 1 || year > 9999 {
				return fmt.Errorf("invalid year %q: give a year such as 2026", args[0])
			}
			// The coverage line below replaces the calendar's warning.
			cal, err := flags.calendar(cmd, discardLogger())
			if err != nil {
				return err
			}
			return printYear(cmd.OutOrStdout(), cal, year)
		},
	}
}

func discardLogger() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}

func printYear(out io.Writer, cal *calendar.Calendar, year int) error {
	first, last := calendar.LibraryYears()
	fmt.Fprintf(out, "Calendar %d: %s, working time %s-%s on working days\n",
		year, cal.Location(), cal.DayStart(), cal.DayEnd())
	fmt.Fprintln(out, describeCoverage(cal, year, first, last))

	days := cal.Days(year)
	if len(days) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	table := newTable(out)
	fmt.Fprintln(table, "DATE\tDAY\tKIND\tSOURCE\tNAME")
	for _, day := range days {
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\n", day.Date, day.Date.Weekday().String()[:3], day.Kind,
			describeSource(cal, day), describeName(day))
	}
	return table.Flush()
}

func describeCoverage(cal *calendar.Calendar, year, first, last int) string {
	library := fmt.Sprintf("lunar-go (%d to %d)", first, last)
	sources := cal.Coverage(year)
	switch {
	case len(sources) == 2:
		return fmt.Sprintf("Holidays from %s, with corrections from the override file %s.", library, cal.OverrideFile())
	case len(sources) == 1 && sources[0] == calendar.SourceLibrary:
		return fmt.Sprintf("Holidays from %s.", library)
	case len(sources) == 1:
		return fmt.Sprintf("Holidays from the override file %s.", cal.OverrideFile())
	default:
		return fmt.Sprintf("WARNING: neither %s nor the override file lists the holidays of %d, so working hours "+
			"count every Monday to Friday of it. Add the year's holidays and make-up working days to the "+
			"override file when they are announced.", library, year)
	}
}

func describeSource(cal *calendar.Calendar, day calendar.Day) string {
	if day.Source == calendar.SourceOverride {
		return fmt.Sprintf("%s:%d", cal.OverrideFile(), day.Line)
	}
	return "library"
}

func describeName(day calendar.Day) string {
	name := dash(day.Name)
	if day.Replaced != nil {
		name += fmt.Sprintf(" (replaces library %s %s)", day.Replaced.Kind, day.Replaced.Name)
	}
	return name
}

func newCalendarAddCommand(flags *calendarFlags) *cobra.Command {
	var from, within, hours string
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Print the deadline a duration after a start, in working or calendar hours",
		Example: "  ordo calendar add --from '2026-02-13 17:00' --within 16h --hours working\n" +
			"  ordo calendar add --from 2026-09-30T17:00:00+08:00 --within 2d --hours calendar",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			duration, err := rules.ParseDuration(within)
			if err != nil {
				return fmt.Errorf("invalid --within: %w", err)
			}
			mode := rules.Hours(hours)
			if mode != rules.WorkingHours && mode != rules.CalendarHours {
				return fmt.Errorf("invalid --hours %q: use %s or %s", hours, rules.WorkingHours, rules.CalendarHours)
			}
			cal, err := flags.calendar(cmd, stderrLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			start, err := parseStart(from, cal.Location())
			if err != nil {
				return err
			}

			deadline := cal.Add(start, duration.D(), mode)
			return printDeadline(cmd.OutOrStdout(), cal, start, strings.TrimSpace(within), mode, deadline)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start time: RFC 3339, or YYYY-MM-DD HH:MM[:SS] in the calendar's time zone; empty means now")
	cmd.Flags().StringVar(&within, "within", "", "time allowed, such as 16h, 90m, 2d or 1d12h (a day is 24 hours)")
	cmd.Flags().StringVar(&hours, "hours", string(rules.WorkingHours), "how --within counts: working or calendar")
	_ = cmd.MarkFlagRequired("within")
	return cmd
}

// startLayouts are the accepted forms of --from without a UTC offset.
var startLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

func parseStart(value string, loc *time.Location) (time.Time, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return time.Now().In(loc), nil
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range startLayouts {
		if t, err := time.ParseInLocation(layout, value, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid --from %q: write it as 2026-02-13 17:00 (in the calendar's time zone) or as RFC 3339 with an offset", value)
}

func printDeadline(out io.Writer, cal *calendar.Calendar, start time.Time, within string,
	mode rules.Hours, deadline time.Time) error {
	const layout = "2006-01-02 15:04:05 Mon"
	table := newTable(out)
	fmt.Fprintf(table, "from:\t%s\n", start.Format(layout))
	fmt.Fprintf(table, "within:\t%s %s hours\n", within, mode)
	fmt.Fprintf(table, "deadline:\t%s\n", deadline.Format(layout))
	if mode == rules.WorkingHours {
		fmt.Fprintf(table, "working time:\t%s-%s on working days\n", cal.DayStart(), cal.DayEnd())
	}
	fmt.Fprintf(table, "time zone:\t%s\n", cal.Location())
	return table.Flush()
}
