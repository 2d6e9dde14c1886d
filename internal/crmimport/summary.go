package crmimport

import "time"

// FileSummary counts the data rows of one file by outcome. Imported,
// Updated, Unchanged and Rejected add up to Rows.
//
// A pipeline row counts as imported when its opportunity is new, and as
// updated when its opportunity or a contract or lead derived from it was
// written. It counts as rejected only when its opportunity could not be
// stored, so a Won row whose contract was rejected counts by its
// opportunity.
type FileSummary struct {
	File      string `json:"file"`
	Rows      int    `json:"rows"`
	Imported  int    `json:"imported"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Rejected  int    `json:"rejected"`
}

// ContractCounts counts the contracts of Won deals by outcome.
type ContractCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// NotApplied counts stored contracts the CRM changed but the import
	// left as they are, because their chain has started or they did not
	// come from a CRM import. Each has a warning.
	NotApplied int `json:"not_applied"`
	// Rejected counts Won deals that did not become a contract. Each has
	// an error.
	Rejected int `json:"rejected"`
}

// LeadCounts counts the leads of open deals by outcome.
type LeadCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Closed counts leads closed because their deal is now Won or Lost.
	Closed int `json:"closed"`
}

// Summary is the result of an import run.
type Summary struct {
	RunID  string `json:"run_id"`
	Source string `json:"source"`
	// Status is one of the store.ImportStatus values.
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Currency   string    `json:"currency"`

	Files     []FileSummary  `json:"files"`
	Contracts ContractCounts `json:"contracts"`
	Leads     LeadCounts     `json:"leads"`
	// LostDealsStored counts Lost opportunities inserted or updated.
	LostDealsStored int `json:"lost_deals_stored"`

	Errors   int     `json:"errors"`
	Warnings int     `json:"warnings"`
	Issues   []Issue `json:"issues,omitempty"`
}

// File returns the summary of the named file, or nil.
func (s *Summary) File(name string) *FileSummary {
	for i := range s.Files {
		if s.Files[i].File == name {
			return &s.Files[i]
		}
	}
	return nil
}

// outcome is the result of importing one record or row.
type outcome int

const (
	outcomeUnchanged outcome = iota
	outcomeUpdated
	outcomeImported
	outcomeRejected
)

// count adds one row with outcome o.
func (f *FileSummary) count(o outcome) {
	switch o {
	case outcomeImported:
		f.Imported++
	case outcomeUpdated:
		f.Updated++
	case outcomeUnchanged:
		f.Unchanged++
	case outcomeRejected:
		f.Rejected++
	}
}
