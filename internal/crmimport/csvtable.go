package crmimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// utf8BOM is the byte order mark spreadsheet programs put at the start of
// a UTF-8 CSV file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// HeaderError means the header of a file does not list the expected
// columns in the expected order. The importer reads columns by position,
// so it stops instead of guessing which column is which.
type HeaderError struct {
	File string
	// Column is the missing, unexpected or misplaced column.
	Column  string
	Problem string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("%s: header: column %q %s; expected the columns %s",
		e.File, e.Column, e.Problem, strings.Join(headers[e.File], ","))
}

// record is a data row of a file with its fields trimmed.
type record struct {
	line   int
	fields []string
}

// table is a file's data rows that passed the structural checks.
type table struct {
	file    string
	records []record
	// read counts every data row read, rejected ones included.
	read     int
	rejected int
}

// readTable reads a CSV file, checks its header against the expected
// columns and returns its data rows. Rows that are not valid CSV, have the
// wrong number of fields, contain invalid text or are empty are rejected
// with an issue. Whitespace around and repeated inside fields is removed
// with an issue. It returns an error only when the file as a whole cannot
// be read.
func readTable(file string, r io.Reader, issues *issueList) (*table, error) {
	br := bufio.NewReader(r)
	if prefix, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(prefix, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
		issues.warn(file, 1, "", "", ActionCorrected,
			"file starts with a UTF-8 byte order mark; ignored it")
	}

	reader := csv.NewReader(br)
	// Field counts are checked per row below, so one short row is
	// rejected instead of stopping the file.
	reader.FieldsPerRecord = -1

	header, err := reader.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: file is empty; expected a header with the columns %s", file, strings.Join(headers[file], ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: unreadable header: %w", file, err)
	}
	if err := checkHeader(file, header, issues); err != nil {
		return nil, err
	}

	t := &table{file: file}
	want := len(headers[file])
	for {
		fields, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			t.read++
			t.rejected++
			issues.reject(file, parseErr.StartLine, "", "",
				fmt.Sprintf("row is not valid CSV (%v); row not imported: fix the quoting of this row in the export", parseErr.Err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read: %w", file, err)
		}
		t.read++
		line, _ := reader.FieldPos(0)
		if len(fields) != want {
			t.rejected++
			issues.reject(file, line, "", strings.Join(fields, ","),
				fmt.Sprintf("row has %d fields, expected %d (%s); row not imported: check for a missing or extra comma",
					len(fields), want, strings.Join(headers[file], ",")))
			continue
		}
		if column, problem := invalidText(fields); problem != "" {
			t.rejected++
			issues.reject(file, line, headers[file][column], strings.ToValidUTF8(fields[column], "\uFFFD"),
				fmt.Sprintf("%s; row not imported: export the file again as UTF-8 text", problem))
			continue
		}
		if isBlank(fields) {
			t.rejected++
			issues.warn(file, line, "", strings.Join(fields, ","), ActionRejected,
				"row has no values; skipped it")
			continue
		}
		t.records = append(t.records, record{line: line, fields: normaliseSpaces(file, line, fields, issues)})
	}
	return t, nil
}

// checkHeader compares a header with the expected columns, ignoring case
// and surrounding spaces, and returns a *HeaderError for the first column
// that is missing, unexpected or out of place.
func checkHeader(file string, got []string, issues *issueList) error {
	want := headers[file]
	names := make([]string, len(got))
	count := make(map[string]int, len(got))
	for i, name := range got {
		names[i] = strings.ToLower(strings.TrimSpace(name))
		count[names[i]]++
		if names[i] != name {
			issues.warn(file, 1, names[i], name, ActionCorrected,
				fmt.Sprintf("header column %q has other case or surrounding spaces; read it as %q", name, names[i]))
		}
	}
	for _, column := range want {
		if count[column] == 0 {
			return &HeaderError{File: file, Column: column, Problem: "is missing"}
		}
	}
	for _, name := range names {
		if !slices.Contains(want, name) {
			return &HeaderError{File: file, Column: name, Problem: "is not expected"}
		}
		if count[name] > 1 {
			return &HeaderError{File: file, Column: name, Problem: "appears more than once"}
		}
	}
	for i, name := range names {
		if name != want[i] {
			return &HeaderError{File: file, Column: name,
				Problem: fmt.Sprintf("is in position %d, expected %q there", i+1, want[i])}
		}
	}
	return nil
}

// invalidText returns the index of the first field that is not valid
// UTF-8 or contains a control character, with a description. PostgreSQL
// rejects both in text columns, which would fail a whole batch.
func invalidText(fields []string) (int, string) {
	for i, f := range fields {
		if !utf8.ValidString(f) {
			return i, "value is not valid UTF-8 text"
		}
		for _, r := range f {
			if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
				return i, fmt.Sprintf("value contains the control character U+%04X", r)
			}
		}
	}
	return -1, ""
}

func isBlank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// normaliseSpaces trims each field and collapses runs of white space,
// including line breaks inside quotes and non-breaking or ideographic
// spaces, to one space. Every changed field gets an issue.
func normaliseSpaces(file string, line int, fields []string, issues *issueList) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = strings.Join(strings.FieldsFunc(f, unicode.IsSpace), " ")
		if out[i] != f {
			issues.warn(file, line, headers[file][i], f, ActionCorrected,
				fmt.Sprintf("value %q has extra white space; corrected to %q", f, out[i]))
		}
	}
	return out
}
