package crmimport

import (
	"cmp"
	"slices"
)

// Severity is the grade of an issue: whether data was left out.
type Severity string

const (
	// SeverityError marks an issue whose row or derived record was not
	// imported.
	SeverityError Severity = "error"
	// SeverityWarning marks an issue the importer resolved or kept, so the
	// data is imported but someone should check it.
	SeverityWarning Severity = "warning"
)

// Action is the importer's response to an issue.
type Action string

const (
	// ActionRejected means the row, or the record derived from it that the
	// message names, was not imported.
	ActionRejected Action = "rejected"
	// ActionCorrected means the value was replaced by the unambiguous value
	// the message names.
	ActionCorrected Action = "corrected"
	// ActionKept means the value was imported as it is.
	ActionKept Action = "kept"
	// ActionDefaulted means the value was missing or unusable and was
	// replaced by the default the message names, often an empty value.
	ActionDefaulted Action = "defaulted"
)

// Issue is a defect of one field, row or file and what the importer did
// about it. Line is 1-based and the header is line 1; Column is empty when
// the issue concerns the whole row or file.
type Issue struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   string   `json:"column"`
	Value    string   `json:"value"`
	Severity Severity `json:"severity"`
	Action   Action   `json:"action"`
	Message  string   `json:"message"`
}

// issueList collects issues of one import.
type issueList struct {
	items []Issue
}

func (l *issueList) add(issue Issue) {
	if issue.Severity == "" {
		issue.Severity = SeverityWarning
		if issue.Action == ActionRejected {
			issue.Severity = SeverityError
		}
	}
	l.items = append(l.items, issue)
}

// reject records an error that kept a row or record out of the database.
func (l *issueList) reject(file string, line int, column, value, message string) {
	l.add(Issue{File: file, Line: line, Column: column, Value: value, Severity: SeverityError, Action: ActionRejected, Message: message})
}

// warn records a warning with the given action.
func (l *issueList) warn(file string, line int, column, value string, action Action, message string) {
	l.add(Issue{File: file, Line: line, Column: column, Value: value, Severity: SeverityWarning, Action: action, Message: message})
}

// sorted returns the issues ordered by file, line and column, keeping the
// order of issues on the same field.
func (l *issueList) sorted() []Issue {
	issues := slices.Clone(l.items)
	slices.SortStableFunc(issues, func(a, b Issue) int {
		return cmp.Or(
			cmp.Compare(fileOrder(a.File), fileOrder(b.File)),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(columnOrder(a.File, a.Column), columnOrder(b.File, b.Column)),
		)
	})
	return issues
}

func fileOrder(file string) int {
	if i := slices.Index(Files, file); i >= 0 {
		return i
	}
	return len(Files)
}

// columnOrder places row-level issues (no column) before field issues, and
// field issues in header order.
func columnOrder(file, column string) int {
	if column == "" {
		return -1
	}
	return slices.Index(headers[file], column)
}
