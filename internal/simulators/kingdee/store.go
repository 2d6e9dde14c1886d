package kingdee

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators"
)

// document is one saved Kingdee document of any form. The model column
// contains the fields the client sent and the totals the simulator computes.
// The other columns contain the fields the simulator maintains itself, and
// queries read those fields from the columns.
type document struct {
	bun.BaseModel `bun:"table:kingdee_documents,alias:d"`

	ID             int64  `bun:"id,pk,autoincrement"`
	FormID         string `bun:"form_id,notnull"`
	Number         string `bun:"number,notnull"`
	DocumentStatus string `bun:"document_status,notnull"`
	// Status is the PRD_MO FStatus, empty for other forms.
	Status string `bun:"status,notnull,default:''"`
	// WrittenOffStatus is the AR_receivable FWRITTENOFFSTATUS, empty for
	// other forms.
	WrittenOffStatus string `bun:"written_off_status,notnull,default:''"`
	ContractNo       string `bun:"contract_no,notnull,default:''"`
	Model            string `bun:"model,notnull"`
	// Search is Model with lower-case keys, for case-insensitive queries.
	Search string `bun:"search,notnull"`
	// The times are Kingdee's wall-clock format in China Standard Time
	// (2006-01-02T15:04:05), so they sort and compare as text.
	CreatedAt   string `bun:"created_at,notnull"`
	ModifiedAt  string `bun:"modified_at,notnull"`
	ApprovedAt  string `bun:"approved_at,notnull,default:''"`
	CompletedAt string `bun:"completed_at,notnull,default:''"`
	// CompleteDueAt is when an audited production order completes, in Unix
	// milliseconds, or NULL when no completion is pending.
	CompleteDueAt int64 `bun:"complete_due_at,nullzero"`
	// NotifiedAt is when an audited sales order was reported to the
	// simulated world, in Unix milliseconds, or NULL until it was.
	NotifiedAt int64 `bun:"notified_at,nullzero"`
}

// callback is a pending or finished completion callback. Keeping it in the
// database lets a restart resume delivery.
type callback struct {
	bun.BaseModel `bun:"table:kingdee_callbacks,alias:c"`

	ID            int64  `bun:"id,pk,autoincrement"`
	Number        string `bun:"number,notnull"`
	Body          string `bun:"body,notnull"`
	Attempts      int    `bun:"attempts,notnull,default:0"`
	NextAttemptAt int64  `bun:"next_attempt_at,notnull"`
	DeliveredAt   int64  `bun:"delivered_at,nullzero"`
	// FailedAt is set when delivery was given up after the last attempt.
	FailedAt  int64  `bun:"failed_at,nullzero"`
	LastError string `bun:"last_error,notnull,default:''"`
}

// chinaTime is China Standard Time. China has kept UTC+8 without daylight
// saving since 1991, so a fixed zone is exact and needs no tzdata.
var chinaTime = time.FixedZone("CST", 8*60*60)

// wallClock formats t the way Kingdee returns dates and times.
func wallClock(t time.Time) string {
	return t.In(chinaTime).Format("2006-01-02T15:04:05")
}

// migrate creates the simulator's tables and the shared ledger if missing.
func migrate(ctx context.Context, db bun.IDB) error {
	if err := simulators.NewLedger(db).Migrate(ctx); err != nil {
		return err
	}
	for _, model := range []any{(*document)(nil), (*callback)(nil)} {
		if _, err := db.NewCreateTable().Model(model).IfNotExists().Exec(ctx); err != nil {
			return fmt.Errorf("create Kingdee simulator table: %w", err)
		}
	}
	indexes := []struct {
		name    string
		unique  bool
		model   any
		columns []string
		// where makes a partial index over the rows a background loop
		// looks for, so the loop stays cheap however many documents exist.
		where string
	}{
		{"kingdee_documents_number", true, (*document)(nil), []string{"form_id", "number"}, ""},
		// The ERP sync pages through a form by FModifyDate and id.
		{"kingdee_documents_modified", false, (*document)(nil), []string{"form_id", "modified_at", "id"}, ""},
		{"kingdee_documents_due", false, (*document)(nil), []string{"complete_due_at"}, ""},
		{"kingdee_documents_unnotified", false, (*document)(nil), []string{"form_id", "document_status", "id"}, "notified_at IS NULL"},
		{"kingdee_callbacks_pending", false, (*callback)(nil), []string{"delivered_at", "failed_at", "next_attempt_at"}, ""},
	}
	for _, index := range indexes {
		query := db.NewCreateIndex().Model(index.model).Index(index.name).Column(index.columns...).IfNotExists()
		if index.unique {
			query = query.Unique()
		}
		if index.where != "" {
			query = query.Where(index.where)
		}
		if _, err := query.Exec(ctx); err != nil {
			return fmt.Errorf("create index %s: %w", index.name, err)
		}
	}
	return nil
}

// setModel stores model in the document's model and search columns.
func (d *document) setModel(model map[string]any) error {
	encoded, err := json.Marshal(model)
	if err != nil {
		return fmt.Errorf("encode model of %s %s: %w", d.FormID, d.Number, err)
	}
	search, err := json.Marshal(lowerKeys(model))
	if err != nil {
		return fmt.Errorf("encode search copy of %s %s: %w", d.FormID, d.Number, err)
	}
	d.Model = string(encoded)
	d.Search = string(search)
	return nil
}

// model decodes the stored model.
func (d *document) model() (map[string]any, error) {
	model, err := decodeObject([]byte(d.Model))
	if err != nil {
		return nil, fmt.Errorf("decode stored model of %s %s: %w", d.FormID, d.Number, err)
	}
	return model, nil
}

// searchModel decodes the lower-case copy of the model.
func (d *document) searchModel() (map[string]any, error) {
	model, err := decodeObject([]byte(d.Search))
	if err != nil {
		return nil, fmt.Errorf("decode stored model of %s %s: %w", d.FormID, d.Number, err)
	}
	return model, nil
}

// columnValue returns the value of a system column for query results.
func (d *document) columnValue(column string) any {
	text := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	switch column {
	case "d.id":
		return d.ID
	case "d.number":
		return d.Number
	case "d.document_status":
		return d.DocumentStatus
	case "d.status":
		return text(d.Status)
	case "d.written_off_status":
		return text(d.WrittenOffStatus)
	case "d.contract_no":
		return d.ContractNo
	case "d.created_at":
		return d.CreatedAt
	case "d.modified_at":
		return d.ModifiedAt
	case "d.approved_at":
		return text(d.ApprovedAt)
	case "d.completed_at":
		return text(d.CompletedAt)
	}
	return nil
}

// findByNumber loads a document by form and number. found is false when it
// does not exist.
func findByNumber(ctx context.Context, db bun.IDB, formID, number string) (*document, bool, error) {
	doc := new(document)
	err := db.NewSelect().Model(doc).Where("d.form_id = ?", formID).Where("d.number = ?", number).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load %s %s: %w", formID, number, err)
	}
	return doc, true, nil
}

// findByID loads a document by form and internal id.
func findByID(ctx context.Context, db bun.IDB, formID string, id int64) (*document, bool, error) {
	doc := new(document)
	err := db.NewSelect().Model(doc).Where("d.form_id = ?", formID).Where("d.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load %s id %d: %w", formID, id, err)
	}
	return doc, true, nil
}

// updateDocument writes every column of doc back.
func updateDocument(ctx context.Context, db bun.IDB, doc *document) error {
	if _, err := db.NewUpdate().Model(doc).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update %s %s: %w", doc.FormID, doc.Number, err)
	}
	return nil
}
