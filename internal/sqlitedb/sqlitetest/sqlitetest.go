// Package sqlitetest opens SQLite databases for tests. Only tests import
// it.
package sqlitetest

import (
	"path/filepath"
	"testing"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/sqlitedb"
)

// Open opens a new SQLite database, with one connection, in the test's
// temporary directory. The database is closed when the test ends.
func Open(t testing.TB) *bun.DB {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sim.db"), 1)
	if err != nil {
		t.Fatalf("open SQLite database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
