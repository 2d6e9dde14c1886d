package simulators

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// LedgerEntry records one document a simulator created. Entries are never
// updated or deleted, so a second document for the same contract, kind and
// part shows up as a second entry.
type LedgerEntry struct {
	bun.BaseModel `bun:"table:sim_ledger"`

	ID         int64  `bun:"id,pk,autoincrement"`
	System     string `bun:"system,notnull"`
	Kind       string `bun:"kind,notnull"`
	Number     string `bun:"number,notnull"`
	ContractNo string `bun:"contract_no,notnull"`
	// Part is the part of the contract that the document is for, such as
	// the instalment that a receipt pays. It is empty for kinds of which a
	// contract gets one document.
	Part      string    `bun:"part,notnull,default:''"`
	Detail    string    `bun:"detail,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Ledger appends and counts the documents simulators create.
type Ledger struct {
	db bun.IDB
}

// NewLedger returns a ledger stored in db. Call Migrate once before use.
func NewLedger(db bun.IDB) *Ledger {
	return &Ledger{db: db}
}

// Migrate creates the ledger table and its indexes if missing.
func (l *Ledger) Migrate(ctx context.Context) error {
	if _, err := l.db.NewCreateTable().Model((*LedgerEntry)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_ledger: %w", err)
	}
	// A ledger created before entries had a part lacks the column.
	if _, err := l.db.NewSelect().Model((*LedgerEntry)(nil)).Column("part").Limit(1).Exists(ctx); err != nil {
		if _, err := l.db.NewAddColumn().Model((*LedgerEntry)(nil)).ColumnExpr("part TEXT NOT NULL DEFAULT ''").Exec(ctx); err != nil {
			return fmt.Errorf("add column part to sim_ledger: %w", err)
		}
	}
	if _, err := l.db.NewCreateIndex().Model((*LedgerEntry)(nil)).Index("sim_ledger_contract").
		Column("system", "kind", "contract_no").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_ledger index: %w", err)
	}
	return nil
}

// Record appends an entry for a kind of which a contract gets one
// document. Pass the transaction that creates the document, so the entry
// exists exactly when the document does.
func Record(ctx context.Context, db bun.IDB, system, kind, number, contractNo, detail string) error {
	return RecordPart(ctx, db, system, kind, number, contractNo, "", detail)
}

// RecordPart appends an entry for a document that covers one part of a
// contract, such as the receipt of one instalment. Documents of different
// parts of a contract are not duplicates of each other.
func RecordPart(ctx context.Context, db bun.IDB, system, kind, number, contractNo, part, detail string) error {
	entry := &LedgerEntry{
		System:     system,
		Kind:       kind,
		Number:     number,
		ContractNo: contractNo,
		Part:       part,
		Detail:     detail,
		CreatedAt:  time.Now().UTC(),
	}
	if _, err := db.NewInsert().Model(entry).Exec(ctx); err != nil {
		return fmt.Errorf("record %s %s %s in ledger: %w", system, kind, number, err)
	}
	return nil
}

// KindCount summarises the ledger for one system and document kind.
type KindCount struct {
	System    string `bun:"system" json:"system"`
	Kind      string `bun:"kind" json:"kind"`
	Documents int    `bun:"documents" json:"documents"`
	Contracts int    `bun:"contracts" json:"contracts"`
	// Duplicated is the number of contracts with more than one document of
	// this kind for the same part, for example two receipts of one
	// instalment.
	Duplicated int `bun:"duplicated" json:"duplicated"`
}

// Summary counts documents, distinct contracts and contracts with more
// than one document for the same part, per system and kind.
func (l *Ledger) Summary(ctx context.Context) ([]KindCount, error) {
	var counts []KindCount
	err := l.db.NewRaw(`
		SELECT system, kind,
		       SUM(n) AS documents,
		       COUNT(DISTINCT contract_no) AS contracts,
		       COUNT(DISTINCT CASE WHEN n > 1 THEN contract_no END) AS duplicated
		FROM (SELECT system, kind, contract_no, part, COUNT(*) AS n
		      FROM sim_ledger GROUP BY system, kind, contract_no, part) AS per_part
		GROUP BY system, kind
		ORDER BY system, kind`).Scan(ctx, &counts)
	if err != nil {
		return nil, fmt.Errorf("summarise sim_ledger: %w", err)
	}
	return counts, nil
}

// Entries returns the ledger entries of one contract, oldest first.
func (l *Ledger) Entries(ctx context.Context, contractNo string) ([]LedgerEntry, error) {
	var entries []LedgerEntry
	err := l.db.NewSelect().Model(&entries).Where("contract_no = ?", contractNo).Order("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read sim_ledger for %s: %w", contractNo, err)
	}
	return entries, nil
}
