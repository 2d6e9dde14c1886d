// Package sqlitedb opens SQLite files the way every ordo component needs
// them: WAL journal, a busy timeout, immediate write transactions and bun.
package sqlitedb

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Open opens or creates the SQLite file at path.
//
// WAL mode lets readers run beside the single writer and keeps every
// committed transaction across a kill -9. synchronous=NORMAL skips the fsync
// per commit, so only an operating-system crash or power loss can drop the
// last transactions. _txlock=immediate takes the write lock at BEGIN, which
// avoids the SQLITE_BUSY error a deferred transaction gets when it upgrades
// from reading to writing while another connection writes.
func Open(path string, maxConns int) (*bun.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	query := url.Values{}
	query.Add("_pragma", "journal_mode(wal)")
	query.Add("_pragma", "synchronous(normal)")
	query.Add("_pragma", "busy_timeout(15000)")
	query.Add("_pragma", "foreign_keys(on)")
	query.Set("_txlock", "immediate")
	query.Set("_time_format", "sqlite")
	dsn := "file:" + path + "?" + query.Encode()

	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	if maxConns <= 0 {
		maxConns = 4
	}
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	if err := sqldb.Ping(); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}
