package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/store"
)

// LeadActivities record the lead SLA workflow's progress in ordo's
// database. Every write replaces a value or keeps the earliest or latest
// time, so a retried or replayed call leaves the same row.
type LeadActivities struct {
	Store *store.Store
}

// LeadSLARecord is the workflow's view of one lead's SLA clock.
type LeadSLARecord struct {
	LeadID string `json:"lead_id"`
	// Kind is store.LeadSLAFirstContact or store.LeadSLAFollowUp; State
	// one of the store.SLA* states.
	Kind         string     `json:"kind"`
	State        string     `json:"state"`
	Rep          string     `json:"rep"`
	RulesVersion int        `json:"rules_version"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	RemindAt     *time.Time `json:"remind_at,omitempty"`
	Deadline     *time.Time `json:"deadline,omitempty"`
	RemindedAt   *time.Time `json:"reminded_at,omitempty"`
	AlertedAt    *time.Time `json:"alerted_at,omitempty"`
}

// RecordLeadSLA stores the SLA clock of a lead. An unknown lead is a
// non-retryable failure.
func (a *LeadActivities) RecordLeadSLA(ctx context.Context, rec LeadSLARecord) error {
	err := store.RecordLeadSLA(ctx, a.Store.DB, rec.LeadID, store.LeadSLA{
		Kind: rec.Kind, State: rec.State, Rep: rec.Rep, RulesVersion: rec.RulesVersion,
		StartedAt: rec.StartedAt, RemindAt: rec.RemindAt, Deadline: rec.Deadline,
		RemindedAt: rec.RemindedAt, AlertedAt: rec.AlertedAt,
	})
	return leadStoreError(err)
}

// LeadContactRecord is one contact between a rep and a lead's customer.
type LeadContactRecord struct {
	LeadID  string    `json:"lead_id"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Channel string    `json:"channel,omitempty"`
}

// RecordLeadContact stores a contact: the first contact when the lead had
// none before it, and the last one when none came after it. An unknown lead
// is a non-retryable failure.
func (a *LeadActivities) RecordLeadContact(ctx context.Context, rec LeadContactRecord) error {
	if rec.At.IsZero() {
		return invalidInput("contact with lead %s has no time", rec.LeadID)
	}
	err := store.RecordLeadContact(ctx, a.Store.DB, rec.LeadID, store.LeadContact{At: rec.At, By: rec.By, Channel: rec.Channel})
	return leadStoreError(err)
}

// leadStoreError makes a missing lead non-retryable, because retrying
// cannot create it.
func leadStoreError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%v: the lead's row is missing from ordo's database", err), ErrTypeNotFound, err)
	}
	return err
}
