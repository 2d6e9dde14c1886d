package activities

import (
	"context"
	"errors"
	"time"

	"github.com/ordo-project/ordo/internal/rules"
)

// RulesActivities give workflows the rules version they run under and the
// deadlines computed from it. Deadlines are computed here, never from the
// clock inside workflow code.
//
// STUB: owned by the rules work; bodies are placeholders.
type RulesActivities struct{}

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

// Rules returns the requested version of the rules.
func (a *RulesActivities) Rules(ctx context.Context, in RulesRequest) (RulesVersion, error) {
	return RulesVersion{}, errors.New("not implemented")
}

// DeadlineRequest asks for Start + Within counted in Hours, under the
// calendar of rules version RulesVersion.
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

// Deadline computes a deadline.
func (a *RulesActivities) Deadline(ctx context.Context, in DeadlineRequest) (DeadlineResult, error) {
	return DeadlineResult{}, errors.New("not implemented")
}
