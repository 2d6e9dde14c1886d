// Package validation reports every problem of a document at once, each
// with the path of the value it concerns, e.g. approvals.routes[1].up_to.
// It serves the configuration file and the rules document. DecodeYAML and
// DecodeJSON decode strictly and report unknown keys, values of the wrong
// type and missing keys. Problems collects what a Validate method finds
// after decoding.
package validation

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one invalid value of a document.
type Problem struct {
	// Path locates the value, e.g. approvals.routes[1].up_to. It is empty
	// when the problem concerns the document as a whole, such as a syntax
	// error.
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// String writes the problem as "path: reason".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Reason
	}
	return p.Path + ": " + p.Reason
}

// Problems collects the problems of one document in the order they were
// found.
type Problems []Problem

// Add appends a problem at path, with the reason formatted by fmt.Sprintf.
func (p *Problems) Add(path, format string, args ...any) {
	*p = append(*p, Problem{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, and otherwise an *Error
// about subject, e.g. "configuration" or "rules".
func (p Problems) Err(subject string) error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Subject: subject, Problems: p}
}

// Error is a document rejected for one or more problems.
type Error struct {
	// Subject names the kind of document, e.g. "configuration".
	Subject  string
	Problems Problems
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid " + e.Subject + ": " + strings.Join(parts, "; ")
}

// Key returns the path of key inside the mapping at path.
func Key(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index returns the path of item i of the sequence at path.
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
