package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/numbering"
)

// Interaction channels. Meetings, calls and visits count as interventions
// for a red customer.
const (
	ChannelCall    = "call"
	ChannelMeeting = "meeting"
	ChannelVisit   = "visit"
	ChannelEmail   = "email"
	ChannelMessage = "message"
)

// InteractionChannels lists the accepted channels.
var InteractionChannels = []string{ChannelCall, ChannelMeeting, ChannelVisit, ChannelEmail, ChannelMessage}

// InterventionChannels are the channels that count as meeting or calling
// a customer.
var InterventionChannels = []string{ChannelCall, ChannelMeeting, ChannelVisit}

// Interaction is one contact with a customer.
type Interaction struct {
	bun.BaseModel `bun:"table:customer_interactions"`

	ID         int64     `bun:"id,pk,autoincrement" json:"id"`
	Customer   string    `bun:"customer" json:"customer"`
	CustomerNo string    `bun:"customer_no" json:"customer_no"`
	Channel    string    `bun:"channel" json:"channel"`
	By         string    `bun:"by_person" json:"by"`
	At         time.Time `bun:"at" json:"at"`
	Note       string    `bun:"note" json:"note,omitempty"`
	// Source is the record that reported it, e.g. "lead:1C1I7A6R" or "api".
	Source     string    `bun:"source" json:"source,omitempty"`
	RecordedAt time.Time `bun:"recorded_at" json:"recorded_at"`
}

// RecordInteraction stores a contact with a customer.
func RecordInteraction(ctx context.Context, db bun.IDB, in *Interaction) error {
	if in.CustomerNo == "" {
		in.CustomerNo = numbering.CustomerNo(in.Customer)
	}
	in.At = in.At.UTC()
	if in.RecordedAt.IsZero() {
		in.RecordedAt = now()
	}
	in.RecordedAt = in.RecordedAt.UTC()
	if _, err := db.NewInsert().Model(in).Exec(ctx); err != nil {
		return fmt.Errorf("record %s with customer %s: %w", in.Channel, in.Customer, err)
	}
	return nil
}

// CustomerInteractions lists a customer's interactions, newest first.
func CustomerInteractions(ctx context.Context, db bun.IDB, customer string, limit int) ([]Interaction, error) {
	var out []Interaction
	q := db.NewSelect().Model(&out).Where("customer_no = ?", numbering.CustomerNo(customer)).OrderExpr("at DESC, id DESC")
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list interactions of customer %s: %w", customer, err)
	}
	return out, nil
}
