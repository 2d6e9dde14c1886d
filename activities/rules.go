package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/calendar"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// RulesActivities give workflows the rules version they run under and the
// deadlines computed from it. Deadlines are computed here, never from the
// clock inside workflow code.
type RulesActivities struct {
	Store *store.Store
	// Now is the clock DeadlineResult.Now reads; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
	// calendars caches the calendar of each rules version. A stored
	// version never changes, so an entry never goes stale.
	calendars map[int]*calendar.Calendar
}

// RulesVersion is one stored version of the rules document.
type RulesVersion struct {
	Version   int            `json:"version"`
	Document  rules.Document `json:"document"`
	AppliedBy string         `json:"applied_by"`
	AppliedAt time.Time      `json:"applied_at"`
}

// RulesRequest asks for a version; Version 0 means the newest.
type RulesRequest struct {
	Version int `json:"version"`
}

// Rules returns the requested version of the rules. A workflow requests
// version 0 when it starts and keeps the version it gets to the end. A
// version that does not exist is a non-retryable ErrTypeNotFound.
func (a *RulesActivities) Rules(ctx context.Context, in RulesRequest) (RulesVersion, error) {
	stored, err := a.version(ctx, in.Version)
	if err != nil {
		return RulesVersion{}, err
	}
	doc, err := stored.Rules()
	if err != nil {
		return RulesVersion{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInput, err)
	}
	return RulesVersion{Version: stored.Version, Document: doc, AppliedBy: stored.AppliedBy, AppliedAt: stored.AppliedAt}, nil
}

// version reads a stored version; 0 reads the newest.
func (a *RulesActivities) version(ctx context.Context, n int) (store.RuleVersion, error) {
	if n < 0 {
		return store.RuleVersion{}, invalidInput("rules version %d: versions count from 1, and 0 means the newest", n)
	}
	if n == 0 {
		// No version at all means the store was not set up yet, which
		// ordo does at startup, so this is retried.
		stored, err := a.Store.LatestRules(ctx)
		if err != nil {
			return store.RuleVersion{}, fmt.Errorf("read newest rules: %w", err)
		}
		return stored, nil
	}
	stored, err := a.Store.RulesVersion(ctx, n)
	if errors.Is(err, store.ErrNotFound) {
		return store.RuleVersion{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	}
	if err != nil {
		return store.RuleVersion{}, fmt.Errorf("read rules version %d: %w", n, err)
	}
	return stored, nil
}

// DeadlineRequest requests Start + Within counted in Hours, under the
// calendar of rules version RulesVersion; RulesVersion 0 means the newest.
type DeadlineRequest struct {
	Start        time.Time      `json:"start"`
	Within       rules.Duration `json:"within"`
	Hours        rules.Hours    `json:"hours"`
	RulesVersion int            `json:"rules_version"`
}

// DeadlineResult is the computed deadline. Now is the activity's clock
// when it ran, so a workflow can tell a deadline already past.
type DeadlineResult struct {
	Deadline time.Time `json:"deadline"`
	Now      time.Time `json:"now"`
}

// Deadline computes a deadline with the calendar of the requested rules
// version. Both times of the result are UTC. A request without a start,
// with a duration that is not positive or with unknown hours is a
// non-retryable ErrTypeInput.
func (a *RulesActivities) Deadline(ctx context.Context, in DeadlineRequest) (DeadlineResult, error) {
	if in.Start.IsZero() {
		return DeadlineResult{}, invalidInput("deadline: start is required")
	}
	if in.Within <= 0 {
		return DeadlineResult{}, invalidInput("deadline: within must be positive, got %s", in.Within)
	}
	if in.Hours != rules.CalendarHours && in.Hours != rules.WorkingHours {
		return DeadlineResult{}, invalidInput("deadline: hours %q is not %s or %s", in.Hours, rules.CalendarHours, rules.WorkingHours)
	}
	cal, err := a.calendar(ctx, in.RulesVersion)
	if err != nil {
		return DeadlineResult{}, err
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	return DeadlineResult{
		Deadline: cal.Add(in.Start, in.Within.D(), in.Hours).UTC(),
		Now:      now().UTC(),
	}, nil
}

// calendar returns the calendar of rules version n, building it on first
// use.
func (a *RulesActivities) calendar(ctx context.Context, n int) (*calendar.Calendar, error) {
	if n > 0 {
		a.mu.Lock()
		cal, ok := a.calendars[n]
		a.mu.Unlock()
		if ok {
			return cal, nil
		}
	}
	stored, err := a.version(ctx, n)
	if err != nil {
		return nil, err
	}
	doc, err := stored.Rules()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInput, err)
	}
	cal, err := calendar.New(doc.Calendar)
	if err != nil {
		// The time zone was checked when the version was applied, so the
		// cause is on this host, e.g. missing time zone data or override
		// file, and the error is retried until an operator fixes it.
		return nil, fmt.Errorf("calendar of rules version %d: %w", stored.Version, err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.calendars == nil {
		a.calendars = map[int]*calendar.Calendar{}
	}
	a.calendars[stored.Version] = cal
	return cal, nil
}
