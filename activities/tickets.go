package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/internal/store"
)

// TicketRecord is a step of a ticket's workflow to store; see
// store.TicketChange for which fields it changes.
type TicketRecord struct {
	TicketID     string     `json:"ticket_id"`
	State        string     `json:"state,omitempty"`
	RoutedTo     string     `json:"routed_to,omitempty"`
	RulesVersion int        `json:"rules_version,omitempty"`
	RespondBy    *time.Time `json:"respond_by,omitempty"`
	Answer       string     `json:"answer,omitempty"`
	AnsweredBy   string     `json:"answered_by,omitempty"`
	ReturnReason string     `json:"return_reason,omitempty"`
	ReturnedBy   string     `json:"returned_by,omitempty"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
	ReturnedAt   *time.Time `json:"returned_at,omitempty"`
	EscalatedAt  *time.Time `json:"escalated_at,omitempty"`
}

// RecordTicket stores a step of a ticket. A ticket that does not exist
// fails without retry.
func (a *CustomerActivities) RecordTicket(ctx context.Context, in TicketRecord) error {
	err := store.UpdateTicket(ctx, a.Store.DB, store.TicketChange{
		ID: in.TicketID, State: in.State, RoutedTo: in.RoutedTo, RulesVersion: in.RulesVersion,
		RespondBy: in.RespondBy, Answer: in.Answer, AnsweredBy: in.AnsweredBy,
		ReturnReason: in.ReturnReason, ReturnedBy: in.ReturnedBy,
		AnsweredAt: in.AnsweredAt, ReturnedAt: in.ReturnedAt, EscalatedAt: in.EscalatedAt,
	})
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	}
	return err
}

// FreezeRequest freezes a customer's next renewal approval because of an
// overdue ticket.
type FreezeRequest struct {
	TicketID string    `json:"ticket_id"`
	Customer string    `json:"customer"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// FreezeRenewalApproval records the freeze, once per ticket.
func (a *CustomerActivities) FreezeRenewalApproval(ctx context.Context, in FreezeRequest) error {
	if err := validateAt("freeze renewal approval", in.At); err != nil {
		return err
	}
	_, err := store.FreezeRenewalApproval(ctx, a.Store.DB, &store.CustomerFreeze{
		Customer: in.Customer, Reason: in.Reason, TicketID: in.TicketID, FrozenAt: in.At,
	})
	return err
}

// LiftFreezeRequest lifts the freeze that a ticket set.
type LiftFreezeRequest struct {
	TicketID string    `json:"ticket_id"`
	By       string    `json:"by"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// LiftRenewalFreeze lifts the ticket's own freeze, if one is in force;
// other tickets' freezes of the same customer stay.
func (a *CustomerActivities) LiftRenewalFreeze(ctx context.Context, in LiftFreezeRequest) error {
	if err := validateAt("lift renewal approval freeze", in.At); err != nil {
		return err
	}
	_, err := store.LiftTicketFreeze(ctx, a.Store.DB, in.TicketID, in.By, in.Reason, in.At)
	return err
}
