package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/numbering"
)

// Ticket states. A ticket is open until the routed department replies to
// it or returns it to the sender, and escalated while overdue. The time of
// each step is kept, so an escalated ticket that was answered later still
// counts as having timed out.
const (
	TicketOpen      = "open"
	TicketEscalated = "escalated"
	TicketAnswered  = "answered"
	TicketReturned  = "returned"
)

// Ticket is a customer's feature request routed to another department.
type Ticket struct {
	bun.BaseModel `bun:"table:tickets"`

	// ID is "TK-" and ten random hex digits; see NewTicketID.
	ID         string `bun:"id,pk" json:"id"`
	Customer   string `bun:"customer" json:"customer"`
	CustomerNo string `bun:"customer_no" json:"customer_no"`
	Title      string `bun:"title" json:"title"`
	Body       string `bun:"body" json:"body"`
	// From is the person who raised the ticket for the customer.
	From string `bun:"sender" json:"from"`
	// RoutedTo is the person of the receiving role, set by the workflow.
	RoutedTo string `bun:"routed_to" json:"routed_to,omitempty"`
	State    string `bun:"state" json:"state"`
	// RulesVersion is the rules version the ticket's workflow runs under.
	RulesVersion int `bun:"rules_version" json:"rules_version"`
	// RespondBy is the response deadline.
	RespondBy         *time.Time `bun:"respond_by" json:"respond_by,omitempty"`
	Answer            string     `bun:"answer" json:"answer,omitempty"`
	AnsweredBy        string     `bun:"answered_by" json:"answered_by,omitempty"`
	ReturnReason      string     `bun:"return_reason" json:"return_reason,omitempty"`
	ReturnedBy        string     `bun:"returned_by" json:"returned_by,omitempty"`
	WorkflowStartedAt *time.Time `bun:"workflow_started_at" json:"workflow_started_at,omitempty"`
	CreatedAt         time.Time  `bun:"created_at" json:"created_at"`
	AnsweredAt        *time.Time `bun:"answered_at" json:"answered_at,omitempty"`
	ReturnedAt        *time.Time `bun:"returned_at" json:"returned_at,omitempty"`
	EscalatedAt       *time.Time `bun:"escalated_at" json:"escalated_at,omitempty"`
	UpdatedAt         time.Time  `bun:"updated_at" json:"updated_at"`
}

// NewTicketID returns a random ticket ID such as TK-3F9A0C71D2. Ticket
// workflow IDs derive from ticket IDs, so random IDs keep a ticket of a
// recreated database from meeting an earlier ticket's workflow, which a
// sequence starting at 1 again would.
func NewTicketID() (string, error) {
	raw := make([]byte, 5)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate ticket id: %w", err)
	}
	return "TK-" + strings.ToUpper(hex.EncodeToString(raw)), nil
}

// InsertTicket stores a new ticket in state open, giving it an ID when it
// has none.
func InsertTicket(ctx context.Context, db bun.IDB, ticket *Ticket) error {
	if ticket.ID == "" {
		id, err := NewTicketID()
		if err != nil {
			return err
		}
		ticket.ID = id
	}
	at := now()
	if ticket.CreatedAt.IsZero() {
		ticket.CreatedAt = at
	}
	ticket.CreatedAt = ticket.CreatedAt.UTC()
	ticket.UpdatedAt = at
	if ticket.CustomerNo == "" {
		ticket.CustomerNo = numbering.CustomerNo(ticket.Customer)
	}
	if ticket.State == "" {
		ticket.State = TicketOpen
	}
	if _, err := db.NewInsert().Model(ticket).Exec(ctx); err != nil {
		return fmt.Errorf("insert ticket %q of customer %s: %w", ticket.Title, ticket.Customer, err)
	}
	return nil
}

// GetTicket returns the ticket or ErrNotFound.
func GetTicket(ctx context.Context, db bun.IDB, id string) (*Ticket, error) {
	ticket := new(Ticket)
	err := db.NewSelect().Model(ticket).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read ticket %s: %w", id, err)
	}
	return ticket, nil
}

// TicketFilter selects tickets for listing.
type TicketFilter struct {
	State    string
	Customer string
	Limit    int
}

// ListTickets returns tickets, newest first.
func ListTickets(ctx context.Context, db bun.IDB, filter TicketFilter) ([]Ticket, error) {
	var tickets []Ticket
	q := db.NewSelect().Model(&tickets).OrderExpr("created_at DESC, id DESC")
	if filter.State != "" {
		q = q.Where("state = ?", filter.State)
	}
	if strings.TrimSpace(filter.Customer) != "" {
		q = q.Where("customer_no = ?", numbering.CustomerNo(filter.Customer))
	}
	if err := q.Limit(int64(PageLimit(filter.Limit))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return tickets, nil
}

// UnstartedTickets returns tickets whose workflow has not been started,
// oldest first.
func UnstartedTickets(ctx context.Context, db bun.IDB, limit int) ([]Ticket, error) {
	var tickets []Ticket
	err := db.NewSelect().Model(&tickets).Where("workflow_started_at IS NULL").Order("created_at", "id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tickets without a workflow: %w", err)
	}
	return tickets, nil
}

// MarkTicketStarted records that the ticket's workflow runs.
func MarkTicketStarted(ctx context.Context, db bun.IDB, id string, at time.Time) error {
	_, err := db.NewUpdate().Model((*Ticket)(nil)).
		Set("workflow_started_at = ?", at.UTC()).
		Where("id = ? AND workflow_started_at IS NULL", id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark workflow of ticket %s started: %w", id, err)
	}
	return nil
}

// TicketChange records a step of a ticket's workflow. Empty fields and
// nil times leave the stored values; a time already stored is kept, so a
// retried activity does not move it.
type TicketChange struct {
	ID           string
	State        string
	RoutedTo     string
	RulesVersion int
	RespondBy    *time.Time
	Answer       string
	AnsweredBy   string
	ReturnReason string
	ReturnedBy   string
	AnsweredAt   *time.Time
	ReturnedAt   *time.Time
	EscalatedAt  *time.Time
}

// UpdateTicket applies a change to a ticket, or returns ErrNotFound.
func UpdateTicket(ctx context.Context, db bun.IDB, change TicketChange) error {
	q := db.NewUpdate().Model((*Ticket)(nil)).Set("updated_at = ?", now()).Where("id = ?", change.ID)

	setText := func(column, value string) {
		if value != "" {
			q = q.Set("? = ?", bun.Ident(column), value)
		}
	}
	setTime := func(column string, value *time.Time) {
		if value != nil {
			q = q.Set("? = COALESCE(?, ?)", bun.Ident(column), bun.Ident(column), value.UTC())
		}
	}
	setText("state", change.State)
	setText("routed_to", change.RoutedTo)
	setText("answer", change.Answer)
	setText("answered_by", change.AnsweredBy)
	setText("return_reason", change.ReturnReason)
	setText("returned_by", change.ReturnedBy)
	if change.RulesVersion != 0 {
		q = q.Set("rules_version = ?", change.RulesVersion)
	}
	setTime("respond_by", change.RespondBy)
	setTime("answered_at", change.AnsweredAt)
	setTime("returned_at", change.ReturnedAt)
	setTime("escalated_at", change.EscalatedAt)

	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("update ticket %s: %w", change.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update ticket %s: %w", change.ID, ErrNotFound)
	}
	return nil
}

// TicketCounts are the numbers behind the cross-department blocking rate:
// Blocked ÷ Routed.
type TicketCounts struct {
	// Routed counts tickets created in the period.
	Routed int `json:"routed"`
	// Blocked counts those of them that were returned to the sender or
	// escalated because no answer came in time.
	Blocked int `json:"blocked"`
}

// CountTickets returns the tickets created from from (inclusive) to to
// (exclusive) and how many of them were blocked.
func CountTickets(ctx context.Context, db bun.IDB, from, to time.Time) (TicketCounts, error) {
	var counts TicketCounts
	err := db.NewSelect().Model((*Ticket)(nil)).
		ColumnExpr("COUNT(*) AS routed").
		ColumnExpr("COALESCE(SUM(CASE WHEN returned_at IS NOT NULL OR escalated_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS blocked").
		Where("created_at >= ? AND created_at < ?", from.UTC(), to.UTC()).
		Scan(ctx, &counts.Routed, &counts.Blocked)
	if err != nil {
		return counts, fmt.Errorf("count tickets from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return counts, nil
}

// CustomerFreeze holds a customer's next renewal approval while one of
// their tickets is overdue and unanswered. The unique ticket_id column
// allows one freeze per ticket, and LiftTicketFreeze lifts only the
// freeze of the ticket it names.
type CustomerFreeze struct {
	bun.BaseModel `bun:"table:customer_freezes"`

	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	Customer   string     `bun:"customer" json:"customer"`
	CustomerNo string     `bun:"customer_no" json:"customer_no"`
	Reason     string     `bun:"reason" json:"reason"`
	TicketID   string     `bun:"ticket_id" json:"ticket_id"`
	FrozenAt   time.Time  `bun:"frozen_at" json:"frozen_at"`
	LiftedAt   *time.Time `bun:"lifted_at" json:"lifted_at,omitempty"`
	LiftedBy   string     `bun:"lifted_by" json:"lifted_by,omitempty"`
	LiftReason string     `bun:"lift_reason" json:"lift_reason,omitempty"`
}

// FreezeRenewalApproval records the freeze of a ticket. It returns false
// when the ticket froze before, lifted or not, and changes nothing then.
func FreezeRenewalApproval(ctx context.Context, db bun.IDB, freeze *CustomerFreeze) (bool, error) {
	if freeze.CustomerNo == "" {
		freeze.CustomerNo = numbering.CustomerNo(freeze.Customer)
	}
	if freeze.FrozenAt.IsZero() {
		freeze.FrozenAt = now()
	}
	freeze.FrozenAt = freeze.FrozenAt.UTC()
	res, err := db.NewInsert().Model(freeze).On("CONFLICT (ticket_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("freeze renewal approval of %s for ticket %s: %w", freeze.Customer, freeze.TicketID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// LiftTicketFreeze lifts the freeze that ticketID set, if it is still in
// force, and returns whether it lifted one. Freezes of other tickets of
// the same customer stay.
func LiftTicketFreeze(ctx context.Context, db bun.IDB, ticketID string, by, reason string, at time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*CustomerFreeze)(nil)).
		Set("lifted_at = ?", at.UTC()).
		Set("lifted_by = ?", by).
		Set("lift_reason = ?", reason).
		Where("ticket_id = ? AND lifted_at IS NULL", ticketID).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("lift the freeze of ticket %s: %w", ticketID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CustomerFreezes returns the freezes of a customer, those in force only
// unless all is set, oldest first.
func CustomerFreezes(ctx context.Context, db bun.IDB, customer string, all bool) ([]CustomerFreeze, error) {
	var freezes []CustomerFreeze
	q := db.NewSelect().Model(&freezes).Where("customer_no = ?", numbering.CustomerNo(customer)).Order("frozen_at", "id")
	if !all {
		q = q.Where("lifted_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read freezes of customer %s: %w", customer, err)
	}
	return freezes, nil
}

// IsRenewalApprovalFrozen reports whether the customer's next renewal
// approval is frozen, with the reason of the oldest freeze in force. The
// customer is matched by name apart from case and surrounding space.
func IsRenewalApprovalFrozen(ctx context.Context, db bun.IDB, customer string) (bool, string, error) {
	freezes, err := CustomerFreezes(ctx, db, customer, false)
	if err != nil {
		return false, "", err
	}
	if len(freezes) == 0 {
		return false, "", nil
	}
	reason := fmt.Sprintf("ticket %s: %s", freezes[0].TicketID, freezes[0].Reason)
	if len(freezes) > 1 {
		reason = fmt.Sprintf("%s (and %d more unanswered tickets)", reason, len(freezes)-1)
	}
	return true, reason, nil
}
