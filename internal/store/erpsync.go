package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Dead letter states.
const (
	DeadLetterOpen = "open"
	// DeadLetterRequeued marks a dead letter whose retry has started. A
	// retry that fails sets it back to open, so a letter stays requeued
	// only when the process stopped during the retry.
	DeadLetterRequeued = "requeued"
	DeadLetterResolved = "resolved"
)

// UpsertBatchSize is the number of rows in one multi-row INSERT. bun
// formats values into the statement text, so no bind-parameter limit
// applies. 500 customer rows make a statement of roughly 100 KB.
const UpsertBatchSize = 500

// ERPCustomer is a customer as the ERP last reported it.
type ERPCustomer struct {
	bun.BaseModel `bun:"table:erp_customers"`

	Number         string    `bun:"number,pk" json:"number"`
	ERPID          int64     `bun:"erp_id" json:"erp_id"`
	Name           string    `bun:"name" json:"name"`
	TaxNo          string    `bun:"tax_no" json:"tax_no"`
	DocumentStatus string    `bun:"document_status" json:"document_status"`
	ERPModifiedAt  time.Time `bun:"erp_modified_at" json:"erp_modified_at"`
	SyncedAt       time.Time `bun:"synced_at" json:"synced_at"`
}

// ERPDocumentState is the status of one ERP document as the last sync saw
// it.
type ERPDocumentState struct {
	bun.BaseModel `bun:"table:erp_document_states"`

	FormID         string    `bun:"form_id,pk" json:"form_id"`
	Number         string    `bun:"number,pk" json:"number"`
	ERPID          int64     `bun:"erp_id" json:"erp_id"`
	DocumentStatus string    `bun:"document_status" json:"document_status"`
	ContractNo     string    `bun:"contract_no" json:"contract_no"`
	ERPModifiedAt  time.Time `bun:"erp_modified_at" json:"erp_modified_at"`
	SyncedAt       time.Time `bun:"synced_at" json:"synced_at"`
}

// SyncCursor is the watermark of one sync: the ERP modification time (in
// the ERP's own text form) and id of the last stored record, and counters.
type SyncCursor struct {
	bun.BaseModel `bun:"table:sync_cursors"`

	Name       string     `bun:"name,pk" json:"name"`
	ModifiedAt string     `bun:"modified_at" json:"modified_at"`
	LastID     int64      `bun:"last_id" json:"last_id"`
	Stored     int64      `bun:"stored" json:"stored"`
	Dead       int64      `bun:"dead" json:"dead"`
	LastRunAt  *time.Time `bun:"last_run_at" json:"last_run_at,omitempty"`
	UpdatedAt  time.Time  `bun:"updated_at" json:"updated_at"`
}

// DeadLetter is a record a sync could not apply. Context is the record
// and its business context as JSON, enough to apply it again.
type DeadLetter struct {
	bun.BaseModel `bun:"table:dead_letters"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	SyncName  string    `bun:"sync_name" json:"sync_name"`
	RecordKey string    `bun:"record_key" json:"record_key"`
	Context   string    `bun:"context" json:"context"`
	Error     string    `bun:"error" json:"error"`
	Attempts  int       `bun:"attempts" json:"attempts"`
	State     string    `bun:"state" json:"state"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt time.Time `bun:"updated_at" json:"updated_at"`
}

// DLQAudit is one operator action on a dead letter.
type DLQAudit struct {
	bun.BaseModel `bun:"table:dlq_audit"`

	ID           int64     `bun:"id,pk,autoincrement" json:"id"`
	DeadLetterID int64     `bun:"dead_letter_id" json:"dead_letter_id"`
	By           string    `bun:"by_person" json:"by"`
	Action       string    `bun:"action" json:"action"`
	Outcome      string    `bun:"outcome" json:"outcome"`
	At           time.Time `bun:"at" json:"at"`
}

// UpsertERPCustomers inserts or updates customers in multi-row statements
// of UpsertBatchSize rows. Call it inside a transaction: on SQLite one
// transaction per call is what makes bulk writes fast. A row never
// replaces a stored row with a later ERP modification time, so replaying
// an old page changes nothing.
func UpsertERPCustomers(ctx context.Context, db bun.IDB, customers []ERPCustomer) error {
	synced := now()
	for start := 0; start < len(customers); start += UpsertBatchSize {
		batch := customers[start:min(start+UpsertBatchSize, len(customers))]
		for i := range batch {
			batch[i].ERPModifiedAt = batch[i].ERPModifiedAt.UTC()
			batch[i].SyncedAt = synced
		}
		_, err := db.NewInsert().Model(&batch).
			On("CONFLICT (number) DO UPDATE").
			Set("erp_id = EXCLUDED.erp_id").
			Set("name = EXCLUDED.name").
			Set("tax_no = EXCLUDED.tax_no").
			Set("document_status = EXCLUDED.document_status").
			Set("erp_modified_at = EXCLUDED.erp_modified_at").
			Set("synced_at = EXCLUDED.synced_at").
			Where("?TableAlias.erp_modified_at <= EXCLUDED.erp_modified_at").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("upsert ERP customers %s to %s: %w", batch[0].Number, batch[len(batch)-1].Number, err)
		}
	}
	return nil
}

// UpsertERPDocumentStates inserts or updates document states the way
// UpsertERPCustomers does customers.
func UpsertERPDocumentStates(ctx context.Context, db bun.IDB, states []ERPDocumentState) error {
	synced := now()
	for start := 0; start < len(states); start += UpsertBatchSize {
		batch := states[start:min(start+UpsertBatchSize, len(states))]
		for i := range batch {
			batch[i].ERPModifiedAt = batch[i].ERPModifiedAt.UTC()
			batch[i].SyncedAt = synced
		}
		_, err := db.NewInsert().Model(&batch).
			On("CONFLICT (form_id, number) DO UPDATE").
			Set("erp_id = EXCLUDED.erp_id").
			Set("document_status = EXCLUDED.document_status").
			Set("contract_no = EXCLUDED.contract_no").
			Set("erp_modified_at = EXCLUDED.erp_modified_at").
			Set("synced_at = EXCLUDED.synced_at").
			Where("?TableAlias.erp_modified_at <= EXCLUDED.erp_modified_at").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("upsert ERP document states %s to %s: %w", batch[0].Number, batch[len(batch)-1].Number, err)
		}
	}
	return nil
}

// CountERPCustomers returns the number of stored ERP customers.
func CountERPCustomers(ctx context.Context, db bun.IDB) (int, error) {
	n, err := db.NewSelect().Model((*ERPCustomer)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count ERP customers: %w", err)
	}
	return int(n), nil
}

// GetSyncCursor returns the watermark of a sync, or a zero cursor named
// name when the sync never stored a page.
func GetSyncCursor(ctx context.Context, db bun.IDB, name string) (SyncCursor, error) {
	cursor := SyncCursor{Name: name}
	err := db.NewSelect().Model(&cursor).WherePK().Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return SyncCursor{}, fmt.Errorf("read watermark of sync %s: %w", name, err)
	}
	return cursor, nil
}

// AdvanceSyncCursor moves the watermark of a sync to modifiedAt and
// lastID and adds to its counters. Call it in the transaction that stored
// the page, so the watermark never passes an unstored record.
func AdvanceSyncCursor(ctx context.Context, db bun.IDB, name, modifiedAt string, lastID int64, stored, dead int) error {
	at := now()
	cursor := &SyncCursor{
		Name: name, ModifiedAt: modifiedAt, LastID: lastID,
		Stored: int64(stored), Dead: int64(dead), LastRunAt: &at, UpdatedAt: at,
	}
	_, err := db.NewInsert().Model(cursor).
		On("CONFLICT (name) DO UPDATE").
		Set("modified_at = EXCLUDED.modified_at").
		Set("last_id = EXCLUDED.last_id").
		Set("stored = ?TableAlias.stored + EXCLUDED.stored").
		Set("dead = ?TableAlias.dead + EXCLUDED.dead").
		Set("last_run_at = EXCLUDED.last_run_at").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("advance watermark of sync %s to %s/%d: %w", name, modifiedAt, lastID, err)
	}
	return nil
}

// ListSyncCursors returns every sync's watermark by name.
func ListSyncCursors(ctx context.Context, db bun.IDB) ([]SyncCursor, error) {
	var cursors []SyncCursor
	if err := db.NewSelect().Model(&cursors).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read sync watermarks: %w", err)
	}
	return cursors, nil
}

// AddDeadLetters stores records a sync could not apply. A record that
// already has an unresolved dead letter in the same sync updates it: the
// context and error become the new ones and attempts grows by one.
func AddDeadLetters(ctx context.Context, db bun.IDB, letters []DeadLetter) error {
	at := now()
	for i := range letters {
		letter := &letters[i]
		letter.State = DeadLetterOpen
		letter.Attempts = 1
		letter.CreatedAt, letter.UpdatedAt = at, at
		_, err := db.NewInsert().Model(letter).
			On("CONFLICT (sync_name, record_key) WHERE state <> 'resolved' DO UPDATE").
			Set("context = EXCLUDED.context").
			Set("error = EXCLUDED.error").
			Set("attempts = ?TableAlias.attempts + 1").
			Set("state = 'open'").
			Set("updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("store dead letter of %s record %s: %w", letter.SyncName, letter.RecordKey, err)
		}
	}
	return nil
}

// ResolveDeadLetters marks the unresolved dead letters of records that a
// sync has since stored as resolved, because a newer ERP version of the
// record replaced the one that failed.
func ResolveDeadLetters(ctx context.Context, db bun.IDB, syncName string, recordKeys []string) error {
	if len(recordKeys) == 0 {
		return nil
	}
	_, err := db.NewUpdate().Model((*DeadLetter)(nil)).
		Set("state = ?", DeadLetterResolved).
		Set("updated_at = ?", now()).
		Where("sync_name = ?", syncName).
		Where("state <> ?", DeadLetterResolved).
		Where("record_key IN (?)", bun.In(recordKeys)).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("resolve dead letters of sync %s: %w", syncName, err)
	}
	return nil
}

// DeadLetterFilter selects dead letters. Empty fields match all.
type DeadLetterFilter struct {
	State    string
	SyncName string
	// After is the last id of the previous page. Dead letters run newest
	// first, so the next page contains the lower ids. 0 starts at the
	// newest.
	After int64
	// Limit is 1 to MaxPageLimit, and other values mean DefaultPageLimit.
	Limit int
}

// ListDeadLetters returns one page of dead letters, newest first.
func ListDeadLetters(ctx context.Context, db bun.IDB, filter DeadLetterFilter) ([]DeadLetter, error) {
	letters := []DeadLetter{}
	q := keysetPage(db.NewSelect().Model(&letters), "id", true, max(filter.After, 0), filter.Limit)
	if filter.State != "" {
		q = q.Where("state = ?", filter.State)
	}
	if filter.SyncName != "" {
		q = q.Where("sync_name = ?", filter.SyncName)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return letters, nil
}

// GetDeadLetter returns one dead letter or an error wrapping ErrNotFound.
func GetDeadLetter(ctx context.Context, db bun.IDB, id int64) (*DeadLetter, error) {
	letter := &DeadLetter{ID: id}
	err := db.NewSelect().Model(letter).WherePK().Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	return letter, nil
}

// SetDeadLetterState changes the state of a dead letter. A non-empty
// errorText replaces the stored error, and countAttempt adds one to
// attempts.
func SetDeadLetterState(ctx context.Context, db bun.IDB, id int64, state, errorText string, countAttempt bool) error {
	q := db.NewUpdate().Model((*DeadLetter)(nil)).
		Set("state = ?", state).
		Set("updated_at = ?", now()).
		Where("id = ?", id)
	if errorText != "" {
		q = q.Set("error = ?", errorText)
	}
	if countAttempt {
		q = q.Set("attempts = attempts + 1")
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("set dead letter %d to %s: %w", id, state, err)
	}
	return nil
}

// AddDLQAudit records an operator action on a dead letter.
func AddDLQAudit(ctx context.Context, db bun.IDB, entry *DLQAudit) error {
	if entry.At.IsZero() {
		entry.At = now()
	}
	if _, err := db.NewInsert().Model(entry).Exec(ctx); err != nil {
		return fmt.Errorf("audit %s of dead letter %d by %s: %w", entry.Action, entry.DeadLetterID, entry.By, err)
	}
	return nil
}

// DLQAuditOf returns the audit entries of a dead letter, oldest first.
func DLQAuditOf(ctx context.Context, db bun.IDB, id int64) ([]DLQAudit, error) {
	entries := []DLQAudit{}
	if err := db.NewSelect().Model(&entries).Where("dead_letter_id = ?", id).Order("at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read audit of dead letter %d: %w", id, err)
	}
	return entries, nil
}
