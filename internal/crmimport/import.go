package crmimport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ordo-project/ordo/internal/store"
)

// RunKind is the kind of the import runs this package records.
const RunKind = "crm"

// Import reads a CRM export from src, validates it and writes it to s:
// accounts, products and sales agents, every opportunity, a contract with
// its payment plan for every Won deal and a lead for every open one. It
// records the run and its issues as an import run.
//
// Import returns an error without writing anything when the options are
// invalid or a file is missing or has a wrong header. Row-level defects
// never stop it. When writing fails it marks the run failed and returns
// the summary so far with the error. Rows written before the failure stay
// written, and importing the same files again completes them.
//
// NOTE: two imports into one database at the same time are not
// serialised. Every write is an upsert or a guarded insert, so neither
// import corrupts the other's rows, but their counts may then disagree with
// what each of them wrote.
func Import(ctx context.Context, s *store.Store, src Source, opts Options) (*Summary, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ds, err := Parse(src, opts)
	if err != nil {
		return nil, err
	}
	if opts.RunID == "" {
		opts.RunID, err = newRunID(opts.Now)
		if err != nil {
			return nil, err
		}
	}

	issues := &issueList{items: ds.Issues}
	m := newMapper(opts, issues)
	deals := make([]deal, len(ds.Opportunities))
	for i := range ds.Opportunities {
		deals[i] = m.deal(&ds.Opportunities[i])
	}

	summary := &Summary{
		RunID:     opts.RunID,
		Source:    src.Name,
		Status:    store.ImportStatusRunning,
		StartedAt: opts.Now,
		Currency:  opts.Currency,
		Files:     ds.Files,
	}
	run := &store.ImportRun{
		ID:        opts.RunID,
		Kind:      RunKind,
		Source:    src.Name,
		Status:    store.ImportStatusRunning,
		Summary:   "{}",
		StartedAt: opts.Now,
	}
	if err := store.InsertImportRun(ctx, s.DB, run); err != nil {
		return nil, err
	}

	a := &applier{db: s.DB, opts: opts, issues: issues, summary: summary}
	applyErr := a.masterData(ctx, ds)
	if applyErr == nil {
		applyErr = a.pipeline(ctx, deals)
	}

	summary.Status = store.ImportStatusSucceeded
	if applyErr != nil {
		summary.Status = store.ImportStatusFailed
		summary.Error = applyErr.Error()
	}
	summary.Issues = issues.sorted()
	for _, issue := range summary.Issues {
		if issue.Severity == SeverityError {
			summary.Errors++
		} else {
			summary.Warnings++
		}
	}
	summary.FinishedAt = time.Now().UTC().Truncate(time.Microsecond)

	// The run is recorded even when ctx was cancelled, so a failed run does
	// not stay "running" forever.
	recordErr := recordRun(context.WithoutCancel(ctx), a, summary)
	if err := errors.Join(applyErr, recordErr); err != nil {
		return summary, fmt.Errorf("import CRM export %s (run %s): %w", src.Name, opts.RunID, err)
	}
	return summary, nil
}

func recordRun(ctx context.Context, a *applier, summary *Summary) error {
	// The issues are stored as rows of their own, so the JSON leaves them
	// out.
	withoutIssues := *summary
	withoutIssues.Issues = nil
	data, err := json.Marshal(withoutIssues)
	if err != nil {
		return fmt.Errorf("encode summary of import run %s: %w", summary.RunID, err)
	}
	return a.record(ctx, summary.RunID, string(data), summary.Status, summary.FinishedAt)
}

// newRunID returns an id that sorts by start time and is unique across
// processes.
func newRunID(now time.Time) (string, error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("generate import run id: %w", err)
	}
	return "crm-" + now.Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix), nil
}
