package chatsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Index is an index on a table of messages.
type Index struct {
	Name    string
	Columns []string
}

// Migrate creates the table of model, called table, and its indexes if
// missing.
func Migrate(ctx context.Context, db bun.IDB, model any, table string, indexes ...Index) error {
	if _, err := db.NewCreateTable().Model(model).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create %s: %w", table, err)
	}
	for _, index := range indexes {
		if _, err := db.NewCreateIndex().Model(model).Index(index.Name).
			Column(index.Columns...).IfNotExists().Exec(ctx); err != nil {
			return fmt.Errorf("create %s index %s: %w", table, index.Name, err)
		}
	}
	return nil
}

// CountOutcomes returns the number of rows of table per value of its
// outcome column.
func CountOutcomes(ctx context.Context, db bun.IDB, table string) (map[string]int, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw(`SELECT outcome, COUNT(*) AS n FROM ? GROUP BY outcome`, bun.Ident(table)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("summarise %s: %w", table, err)
	}
	counts := make(map[string]int, len(rows))
	for _, row := range rows {
		counts[row.Outcome] = row.N
	}
	return counts, nil
}

// CountDistinct returns the number of distinct values of the columns
// expression among the rows of table with outcome. The expression is SQL,
// so it must come from code, never from a request.
func CountDistinct(ctx context.Context, db bun.IDB, table, columns, outcome string) (int, error) {
	var n int
	query := `SELECT COUNT(*) FROM (SELECT DISTINCT ` + columns + ` FROM ? WHERE outcome = ?) AS pairs`
	if err := db.NewRaw(query, bun.Ident(table), outcome).Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("count distinct delivered rows of %s: %w", table, err)
	}
	return n, nil
}

// List returns the rows of table, oldest first. A non-empty recipient
// selects the rows whose column equals it.
func List[M any](ctx context.Context, db bun.IDB, table, column, recipient string) ([]M, error) {
	var messages []M
	q := db.NewSelect().Model(&messages).Order("id")
	if recipient != "" {
		q = q.Where("? = ?", bun.Ident(column), recipient)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	return messages, nil
}

// CountSince returns the number of rows of model with outcome that the
// recipient, in column, received after since. A non-empty digest counts
// only the rows with that digest.
func CountSince(ctx context.Context, db bun.IDB, model any, column, recipient, outcome, digest string, since time.Time) (int64, error) {
	q := db.NewSelect().Model(model).Where("? = ?", bun.Ident(column), recipient)
	if digest != "" {
		q = q.Where("digest = ?", digest)
	}
	return q.Where("outcome = ? AND received_at > ?", outcome, since).Count(ctx)
}

// Digest identifies the content of a message, for the rules that drop the
// same content sent twice: the first 16 bytes of the SHA-256 of the
// fields, in hex.
func Digest(msgType, title, content, url string) string {
	sum := sha256.Sum256([]byte(msgType + "\x00" + title + "\x00" + content + "\x00" + url))
	return hex.EncodeToString(sum[:16])
}
