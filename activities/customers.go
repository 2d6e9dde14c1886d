package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/store"
)

// CustomerActivities are the store writes of the renewal and ticket
// workflows: renewal states and schedules, customer tags, ticket states
// and renewal-approval freezes. Every write is idempotent, so a retried or
// replayed activity leaves the same rows.
type CustomerActivities struct {
	Store  *store.Store
	Logger *logrus.Logger
}

// TagRequest sets a tag on a customer.
type TagRequest struct {
	Customer string `json:"customer"`
	Tag      string `json:"tag"`
	Color    string `json:"color"`
	// Source is the record that sets the tag, e.g. "contract:CT-1C1I7A6R".
	Source string    `json:"source"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// TagCustomer sets a tag on a customer, once per customer, tag and source.
func (a *CustomerActivities) TagCustomer(ctx context.Context, in TagRequest) error {
	if strings.TrimSpace(in.Customer) == "" || in.Tag == "" || in.Source == "" {
		return invalidInput("tag customer: customer, tag and source are required, got %q, %q and %q", in.Customer, in.Tag, in.Source)
	}
	return store.TagCustomer(ctx, a.Store.DB, &store.CustomerTag{
		Customer: in.Customer, Tag: in.Tag, Color: in.Color, Source: in.Source, Note: in.Note, TaggedAt: in.At,
	})
}

// UntagRequest clears the tag that Source set on a customer.
type UntagRequest struct {
	Customer string    `json:"customer"`
	Tag      string    `json:"tag"`
	Source   string    `json:"source"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// UntagCustomer clears a tag; clearing one that is not set does nothing.
func (a *CustomerActivities) UntagCustomer(ctx context.Context, in UntagRequest) error {
	_, err := store.ClearCustomerTag(ctx, a.Store.DB, in.Customer, in.Tag, in.Source, in.Reason, in.At)
	return err
}

// CustomerContactRequest names the customer and the sales agent of a
// contract.
type CustomerContactRequest struct {
	Customer   string `json:"customer"`
	SalesAgent string `json:"sales_agent,omitempty"`
}

// CustomerContact is who to reach about a customer at the moment of the
// call: the customer's contact and the sales agent's manager.
type CustomerContact struct {
	ContactName  string `json:"contact_name,omitempty"`
	ContactPhone string `json:"contact_phone,omitempty"`
	// AgentManager is the sales agent's manager from the sales team data,
	// the "supervisor" of the rules.
	AgentManager string `json:"agent_manager,omitempty"`
}

// LookUpCustomerContact reads the customer's contact and the sales
// agent's manager. An unknown customer or agent gives empty fields, not an
// error, because the caller can go on without them.
func (a *CustomerActivities) LookUpCustomerContact(ctx context.Context, in CustomerContactRequest) (CustomerContact, error) {
	var contact CustomerContact
	account, err := store.FindAccount(ctx, a.Store.DB, in.Customer)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return contact, err
	default:
		contact.ContactName = account.ContactName
		contact.ContactPhone = account.ContactPhone
	}
	if in.SalesAgent != "" {
		manager, err := store.SalesAgentManager(ctx, a.Store.DB, in.SalesAgent)
		if err != nil {
			return contact, err
		}
		contact.AgentManager = manager
	}
	return contact, nil
}

// validateAt rejects a zero time, which would record "0001-01-01" as the
// moment of a step.
func validateAt(what string, at time.Time) error {
	if at.IsZero() {
		return invalidInput("%s: the time of the step is required", what)
	}
	return nil
}
