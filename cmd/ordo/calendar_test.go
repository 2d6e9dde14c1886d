package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOrdo runs the root command with args and returns its standard output.
func runOrdo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.Execute()
	return stdout.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestCalendarShowLibraryYear(t *testing.T) {
	out, err := runOrdo(t, "calendar", "show", "2026")
	require.NoError(t, err)

	assert.Contains(t, out, "Calendar 2026: Asia/Shanghai, working time 09:00-18:00 on working days\n")
	assert.Contains(t, out, "Holidays from lunar-go (2002 to 2027).\n")
	assert.Contains(t, out, "2026-02-14  Sat  workday  library  春节\n")
	assert.Contains(t, out, "2026-10-01  Thu  holiday  library  国庆节\n")
}

func TestCalendarShowOverrideYear(t *testing.T) {
	path := writeFile(t, "overrides.yaml", "days:\n  - date: 2028-01-03\n    kind: holiday\n    name: 元旦\n")

	out, err := runOrdo(t, "calendar", "show", "2028", "--override-file", path)
	require.NoError(t, err)

	assert.Contains(t, out, "Holidays from the override file "+path+".\n")
	assert.Contains(t, out, "2028-01-03  Mon  holiday  "+path+":2  元旦\n")
}

func TestCalendarShowUncoveredYear(t *testing.T) {
	out, err := runOrdo(t, "calendar", "show", "2031")
	require.NoError(t, err)

	assert.Contains(t, out, "WARNING: neither lunar-go (2002 to 2027) nor the override file lists the holidays of 2031")
}

func TestCalendarShowInvalidYear(t *testing.T) {
	_, err := runOrdo(t, "calendar", "show", "next")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid year "next"`)
}

func TestCalendarAddWorkingHours(t *testing.T) {
	out, err := runOrdo(t, "calendar", "add", "--from", "2026-02-13 17:00", "--within", "16h", "--hours", "working")
	require.NoError(t, err)

	assert.Contains(t, out, "from:          2026-02-13 17:00:00 Fri\n")
	assert.Contains(t, out, "within:        16h working hours\n")
	assert.Contains(t, out, "deadline:      2026-02-24 15:00:00 Tue\n")
}

func TestCalendarAddRFC3339Start(t *testing.T) {
	// 09:00 UTC is 17:00 in Asia/Shanghai.
	out, err := runOrdo(t, "calendar", "add", "--from", "2026-02-13T09:00:00Z", "--within", "16h")
	require.NoError(t, err)

	assert.Contains(t, out, "deadline:      2026-02-24 15:00:00 Tue\n")
}

func TestCalendarAddCalendarHours(t *testing.T) {
	out, err := runOrdo(t, "calendar", "add", "--from", "2026-02-13 17:00", "--within", "1d", "--hours", "calendar")
	require.NoError(t, err)

	assert.Contains(t, out, "deadline:   2026-02-14 17:00:00 Sat\n")
	assert.NotContains(t, out, "working time")
}

func TestCalendarAddRulesDocument(t *testing.T) {
	rulesPath := writeFile(t, "rules.yaml", "leads:\n  first_contact:\n    within: 4h\ncalendar:\n  time_zone: UTC\n  day_start: \"10:00\"\n  day_end: \"12:00\"\n")

	out, err := runOrdo(t, "calendar", "add", "--rules", rulesPath, "--from", "2026-03-10 11:00", "--within", "2h")
	require.NoError(t, err)
	assert.Contains(t, out, "deadline:      2026-03-11 11:00:00 Wed\n")
	assert.Contains(t, out, "time zone:     UTC\n")

	// A flag given on the command line takes precedence over the document.
	out, err = runOrdo(t, "calendar", "add", "--rules", rulesPath, "--day-end", "13:00", "--from", "2026-03-10 11:00", "--within", "2h")
	require.NoError(t, err)
	assert.Contains(t, out, "deadline:      2026-03-10 13:00:00 Tue\n")
}

func TestCalendarAddInvalidInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"invalid hours", []string{"--within", "16h", "--hours", "office"}, `invalid --hours "office": use working or calendar`},
		{"invalid within", []string{"--within", "soon"}, "invalid --within"},
		{"invalid from", []string{"--within", "16h", "--from", "13/02/2026"}, `invalid --from "13/02/2026"`},
		{"invalid zone", []string{"--within", "16h", "--time-zone", "Moon/Base"}, `invalid calendar time_zone "Moon/Base"`},
		{"missing rules document", []string{"--within", "16h", "--rules", "/nonexistent/rules.yaml"}, "read rules document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runOrdo(t, append([]string{"calendar", "add"}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
