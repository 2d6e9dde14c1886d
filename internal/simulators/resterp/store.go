package resterp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// document is one stored document of any collection.
type document struct {
	bun.BaseModel `bun:"table:sim_resterp_documents"`

	ID         int64  `bun:"id,pk,autoincrement"`
	Collection string `bun:"collection,notnull,unique:sim_resterp_number"`
	Number     string `bun:"number,notnull,unique:sim_resterp_number"`
	ContractNo string `bun:"contract_no,notnull"`
	// IdempotencyKey is the key of the create request, empty without one.
	IdempotencyKey string    `bun:"idempotency_key,notnull"`
	Body           string    `bun:"body,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

func migrate(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewCreateTable().Model((*document)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_resterp_documents: %w", err)
	}
	if _, err := db.NewCreateIndex().Model((*document)(nil)).Index("sim_resterp_key").
		Column("collection", "idempotency_key").IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create sim_resterp_documents index: %w", err)
	}
	return nil
}

func findByNumber(ctx context.Context, db bun.IDB, collection, number string) (*document, error) {
	doc := new(document)
	err := db.NewSelect().Model(doc).Where("collection = ? AND number = ?", collection, number).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return doc, err
}

func findByKey(ctx context.Context, db bun.IDB, collection, key string) (*document, error) {
	doc := new(document)
	err := db.NewSelect().Model(doc).Where("collection = ? AND idempotency_key = ?", collection, key).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return doc, err
}
