package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/numbering"
)

// Customer tags and their colours.
const (
	// TagRenewalDue marks a customer whose contract ends soon and has not
	// been renewed; its source is "contract:<no>".
	TagRenewalDue = "renewal_due"

	ColorRed = "red"
)

// CustomerTag is a mark on a customer that the sales dashboard shows, set
// by a process and cleared when its cause is gone.
type CustomerTag struct {
	bun.BaseModel `bun:"table:customer_tags"`

	ID         int64  `bun:"id,pk,autoincrement" json:"id"`
	Customer   string `bun:"customer" json:"customer"`
	CustomerNo string `bun:"customer_no" json:"customer_no"`
	Tag        string `bun:"tag" json:"tag"`
	Color      string `bun:"color" json:"color"`
	// Source is the record that set the tag, e.g. "contract:CT-1C1I7A6R".
	// A customer carries a tag once per source.
	Source        string     `bun:"source" json:"source"`
	Note          string     `bun:"note" json:"note,omitempty"`
	TaggedAt      time.Time  `bun:"tagged_at" json:"tagged_at"`
	ClearedAt     *time.Time `bun:"cleared_at" json:"cleared_at,omitempty"`
	ClearedReason string     `bun:"cleared_reason" json:"cleared_reason,omitempty"`
}

// TagCustomer sets a tag on a customer. Setting an open tag again changes
// only its colour and note, so a retried activity leaves one row. Setting
// a cleared tag opens it again with a new tagged_at.
func TagCustomer(ctx context.Context, db bun.IDB, tag *CustomerTag) error {
	if tag.CustomerNo == "" {
		tag.CustomerNo = numbering.CustomerNo(tag.Customer)
	}
	if tag.TaggedAt.IsZero() {
		tag.TaggedAt = now()
	}
	tag.TaggedAt = tag.TaggedAt.UTC()
	_, err := db.NewInsert().Model(tag).
		On("CONFLICT (customer_no, tag, source) DO UPDATE").
		Set("color = EXCLUDED.color").
		Set("note = EXCLUDED.note").
		Set("tagged_at = CASE WHEN ?TableAlias.cleared_at IS NULL THEN ?TableAlias.tagged_at ELSE EXCLUDED.tagged_at END").
		Set("cleared_at = NULL").
		Set("cleared_reason = ''").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("tag customer %s with %s from %s: %w", tag.Customer, tag.Tag, tag.Source, err)
	}
	return nil
}

// ClearCustomerTag clears the open tag of a customer set by source. It
// returns false when no such tag was open.
func ClearCustomerTag(ctx context.Context, db bun.IDB, customer, tag, source, reason string, at time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*CustomerTag)(nil)).
		Set("cleared_at = ?", at.UTC()).
		Set("cleared_reason = ?", reason).
		Where("customer_no = ? AND tag = ? AND source = ?", numbering.CustomerNo(customer), tag, source).
		Where("cleared_at IS NULL").
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("clear tag %s from %s on customer %s: %w", tag, source, customer, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CustomerTags returns the tags of a customer, open ones only unless all
// is set, oldest first.
func CustomerTags(ctx context.Context, db bun.IDB, customer string, all bool) ([]CustomerTag, error) {
	var tags []CustomerTag
	q := db.NewSelect().Model(&tags).Where("customer_no = ?", numbering.CustomerNo(customer)).Order("tagged_at", "id")
	if !all {
		q = q.Where("cleared_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read tags of customer %s: %w", customer, err)
	}
	return tags, nil
}

// FindAccount returns the account whose name matches name apart from
// case and surrounding space, or ErrNotFound. Customer numbers are derived
// from the lower-cased name, so the lookup goes through them.
func FindAccount(ctx context.Context, db bun.IDB, name string) (*Account, error) {
	account := new(Account)
	err := db.NewSelect().Model(account).Where("customer_no = ?", numbering.CustomerNo(name)).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("customer %q: %w", strings.TrimSpace(name), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read customer %q: %w", name, err)
	}
	return account, nil
}

// SetCustomerContact stores the contact of a customer. An empty value
// leaves the stored one unchanged.
func SetCustomerContact(ctx context.Context, db bun.IDB, customer, contactName, contactPhone string) error {
	q := db.NewUpdate().Model((*Account)(nil)).
		Set("updated_at = ?", now()).
		Where("customer_no = ?", numbering.CustomerNo(customer))
	if contactName != "" {
		q = q.Set("contact_name = ?", contactName)
	}
	if contactPhone != "" {
		q = q.Set("contact_phone = ?", contactPhone)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("set contact of customer %s: %w", customer, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set contact of customer %q: %w", customer, ErrNotFound)
	}
	return nil
}

// SalesAgentManager returns the manager of a sales agent from the sales
// team data, or "" when the agent or their manager is unknown.
func SalesAgentManager(ctx context.Context, db bun.IDB, agent string) (string, error) {
	var managers []string
	err := db.NewSelect().Model((*SalesAgent)(nil)).Column("manager").
		Where("name = ?", agent).Limit(1).Scan(ctx, &managers)
	if err != nil {
		return "", fmt.Errorf("read manager of sales agent %s: %w", agent, err)
	}
	if len(managers) == 0 {
		return "", nil
	}
	return managers[0], nil
}
