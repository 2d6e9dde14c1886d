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

// Counts are the numbers of rows in a table of messages.
type Counts struct {
	// ByOutcome is the number of rows per outcome.
	ByOutcome map[string]int
	// Delivered is the number of delivered rows. Distinct is the number of
	// distinct messages among them, and Copies the delivered copies beyond
	// the first of each message.
	Delivered, Distinct, Copies int
}

// Count counts the rows of table per outcome, and the distinct messages
// among the rows with outcome delivered. The identity SQL expression
// selects what makes messages distinct, such as "userid, digest". It must
// come from code, never from a request. On error the Counts are zero.
func Count(ctx context.Context, db bun.IDB, table, identity, delivered string) (Counts, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw(`SELECT outcome, COUNT(*) AS n FROM ? GROUP BY outcome`, bun.Ident(table)).Scan(ctx, &rows); err != nil {
		return Counts{}, fmt.Errorf("summarise %s: %w", table, err)
	}
	counts := Counts{ByOutcome: make(map[string]int, len(rows))}
	for _, row := range rows {
		counts.ByOutcome[row.Outcome] = row.N
	}
	query := `SELECT COUNT(*) FROM (SELECT DISTINCT ` + identity + ` FROM ? WHERE outcome = ?) AS pairs`
	if err := db.NewRaw(query, bun.Ident(table), delivered).Scan(ctx, &counts.Distinct); err != nil {
		return Counts{}, fmt.Errorf("count distinct delivered rows of %s: %w", table, err)
	}
	counts.Delivered = counts.ByOutcome[delivered]
	counts.Copies = counts.Delivered - counts.Distinct
	return counts, nil
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
