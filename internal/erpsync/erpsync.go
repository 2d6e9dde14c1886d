// Package erpsync copies customers and document states from the ERP into
// ordo's database, one page at a time from a stored watermark. Records
// that fail validation go to the dead-letter table with the record as
// context, where an operator can retry them.
//
// A page is stored, dead-lettered and the watermark moved in one
// transaction, so a crash repeats at most that page, and repeating a page
// changes nothing because the upserts keep the newer ERP version.
package erpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	kingdee "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/validation"
)

// StreamCustomers is the sync of BD_Customer. Document streams are named
// StreamDocumentsPrefix plus the form id, e.g. "documents:SAL_SaleOrder".
const (
	StreamCustomers       = "customers"
	StreamDocumentsPrefix = "documents:"
)

// DefaultStreams are the syncs the scheduled workflow runs: customers, and
// the states of the documents the contract-to-cash chain creates.
var DefaultStreams = []string{
	StreamCustomers,
	StreamDocumentsPrefix + kingdee.FormSalesOrder,
	StreamDocumentsPrefix + kingdee.FormDelivery,
	StreamDocumentsPrefix + kingdee.FormReceivable,
}

// Source reads changed ERP records. *kingdee.Client implements it.
type Source interface {
	CustomersChangedSince(ctx context.Context, since kingdee.Watermark, limit int) ([]kingdee.CustomerRecord, error)
	DocumentStatesChangedSince(ctx context.Context, formID string, since kingdee.Watermark, limit int) ([]kingdee.DocumentStateRecord, error)
}

// Syncer runs sync pages and dead-letter retries.
type Syncer struct {
	Store  *store.Store
	Source Source
}

// PageResult is the outcome of one SyncPage call.
type PageResult struct {
	Stream       string `json:"stream"`
	Fetched      int    `json:"fetched"`
	Stored       int    `json:"stored"`
	DeadLettered int    `json:"dead_lettered"`
	// Watermark is the position after the page.
	Watermark kingdee.Watermark `json:"watermark"`
	// CaughtUp is set when the page was shorter than the page size, so no
	// more changes are waiting.
	CaughtUp bool `json:"caught_up"`
}

// ErrUnknownStream means a stream name is neither customers nor a
// documents stream.
var ErrUnknownStream = errors.New("unknown sync stream")

// SyncPage reads up to pageSize records after the stream's watermark and
// stores them.
func (s *Syncer) SyncPage(ctx context.Context, stream string, pageSize int) (PageResult, error) {
	if pageSize <= 0 || pageSize > kingdee.MaxPageSize {
		pageSize = kingdee.MaxPageSize
	}
	cursor, err := store.GetSyncCursor(ctx, s.Store.DB, stream)
	if err != nil {
		return PageResult{}, err
	}
	since := kingdee.Watermark{ModifiedAt: cursor.ModifiedAt, ID: cursor.LastID}

	var batch page
	switch {
	case stream == StreamCustomers:
		records, err := s.Source.CustomersChangedSince(ctx, since, pageSize)
		if err != nil {
			return PageResult{}, fmt.Errorf("read customers after %s/%d: %w", since.ModifiedAt, since.ID, err)
		}
		batch = customerPage(stream, records)
	case strings.HasPrefix(stream, StreamDocumentsPrefix):
		formID := strings.TrimPrefix(stream, StreamDocumentsPrefix)
		records, err := s.Source.DocumentStatesChangedSince(ctx, formID, since, pageSize)
		if err != nil {
			return PageResult{}, fmt.Errorf("read %s states after %s/%d: %w", formID, since.ModifiedAt, since.ID, err)
		}
		batch = documentPage(stream, records)
	default:
		return PageResult{}, fmt.Errorf("sync stream %q: %w: use %q or %q followed by a form id", stream, ErrUnknownStream, StreamCustomers, StreamDocumentsPrefix)
	}

	result := PageResult{
		Stream: stream, Fetched: batch.fetched, Stored: batch.stored(), DeadLettered: len(batch.dead),
		Watermark: since, CaughtUp: batch.fetched < pageSize,
	}
	if batch.fetched == 0 {
		return result, nil
	}
	result.Watermark = batch.last
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := batch.apply(ctx, tx); err != nil {
			return err
		}
		if err := store.AddDeadLetters(ctx, tx, batch.dead); err != nil {
			return err
		}
		return store.AdvanceSyncCursor(ctx, tx, stream, batch.last.ModifiedAt, batch.last.ID, batch.stored(), len(batch.dead))
	})
	if err != nil {
		return PageResult{}, err
	}
	return result, nil
}

// page is one page of records, split into the valid rows and the dead
// letters.
type page struct {
	fetched   int
	last      kingdee.Watermark
	customers []store.ERPCustomer
	documents []store.ERPDocumentState
	keys      []string
	dead      []store.DeadLetter
	stream    string
}

func (p *page) stored() int { return len(p.customers) + len(p.documents) }

// apply upserts the valid rows and resolves the dead letters they replace.
func (p *page) apply(ctx context.Context, db bun.IDB) error {
	if err := store.UpsertERPCustomers(ctx, db, p.customers); err != nil {
		return err
	}
	if err := store.UpsertERPDocumentStates(ctx, db, p.documents); err != nil {
		return err
	}
	return store.ResolveDeadLetters(ctx, db, p.stream, p.keys)
}

func (p *page) deadLetter(key string, record any, problem error) {
	encoded, err := json.Marshal(record)
	if err != nil {
		encoded = []byte(`{}`)
	}
	p.dead = append(p.dead, store.DeadLetter{SyncName: p.stream, RecordKey: key, Context: string(encoded), Error: problem.Error()})
}

func customerPage(stream string, records []kingdee.CustomerRecord) page {
	p := page{stream: stream, fetched: len(records)}
	for _, record := range records {
		p.last = record.Watermark()
		row, err := CustomerRow(record)
		if err != nil {
			p.deadLetter(customerKey(record), record, err)
			continue
		}
		p.customers = append(p.customers, row)
		p.keys = append(p.keys, row.Number)
	}
	return p
}

func documentPage(stream string, records []kingdee.DocumentStateRecord) page {
	p := page{stream: stream, fetched: len(records)}
	for _, record := range records {
		p.last = record.Watermark()
		row, err := DocumentRow(record)
		if err != nil {
			p.deadLetter(documentKey(record), record, err)
			continue
		}
		p.documents = append(p.documents, row)
		p.keys = append(p.keys, row.Number)
	}
	return p
}

// customerKey names a customer in a dead letter: its number, or its ERP id
// when the number is missing.
func customerKey(record kingdee.CustomerRecord) string {
	if record.Number != "" {
		return record.Number
	}
	return fmt.Sprintf("FCUSTID=%d", record.ID)
}

func documentKey(record kingdee.DocumentStateRecord) string {
	if record.Number != "" {
		return record.Number
	}
	return fmt.Sprintf("FID=%d", record.ID)
}

// CustomerRow validates an ERP customer and converts it to a store row.
// A customer needs a number and a name, and a tax number, when present,
// must be a valid unified social credit code.
func CustomerRow(record kingdee.CustomerRecord) (store.ERPCustomer, error) {
	subject := "ERP customer " + customerKey(record)
	if strings.TrimSpace(record.Number) == "" {
		return store.ERPCustomer{}, fmt.Errorf("%s: FNumber is missing: give the customer a number in the ERP", subject)
	}
	if strings.TrimSpace(record.Name) == "" {
		return store.ERPCustomer{}, fmt.Errorf("%s: FName is missing: enter the customer name in the ERP", subject)
	}
	if record.TaxNo != "" {
		if err := validation.CheckTaxNo(record.TaxNo); err != nil {
			return store.ERPCustomer{}, fmt.Errorf("%s: %s: %w", subject, kingdee.CustomerTaxField, err)
		}
	}
	modified, err := modifiedTime(subject, record.ModifiedAt)
	if err != nil {
		return store.ERPCustomer{}, err
	}
	return store.ERPCustomer{
		Number: record.Number, ERPID: record.ID, Name: strings.TrimSpace(record.Name), TaxNo: record.TaxNo,
		DocumentStatus: record.DocumentStatus, ERPModifiedAt: modified,
	}, nil
}

// DocumentRow validates an ERP document state and converts it to a store
// row. A document needs a number, a status and a modification time.
func DocumentRow(record kingdee.DocumentStateRecord) (store.ERPDocumentState, error) {
	subject := "ERP " + record.FormID + " " + documentKey(record)
	if strings.TrimSpace(record.Number) == "" {
		return store.ERPDocumentState{}, fmt.Errorf("%s: FBillNo is missing", subject)
	}
	if record.DocumentStatus == "" {
		return store.ERPDocumentState{}, fmt.Errorf("%s: FDocumentStatus is missing", subject)
	}
	modified, err := modifiedTime(subject, record.ModifiedAt)
	if err != nil {
		return store.ERPDocumentState{}, err
	}
	return store.ERPDocumentState{
		FormID: record.FormID, Number: record.Number, ERPID: record.ID, DocumentStatus: record.DocumentStatus,
		ContractNo: record.ContractNo, ERPModifiedAt: modified,
	}, nil
}

func modifiedTime(subject, text string) (time.Time, error) {
	modified, err := (kingdee.CustomerRecord{ModifiedAt: text}).ModifiedTime()
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: FModifyDate %q is not a Kingdee date and time: %w", subject, text, err)
	}
	return modified, nil
}
