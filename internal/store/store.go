// Package store is ordo's own database: master data imported from the CRM,
// contracts and the recorded progress of their chains, bank lines and their
// allocations, and the audit of imports and inbound events. It runs on
// SQLite (embedded default) and PostgreSQL (production) through bun.
//
// The workflows are the source of truth for a process; this database is
// the durable record the API, reports and matching read, written by
// activities in idempotent upserts.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/migrate"

	"github.com/ordo-project/ordo/internal/sqlitedb"
)

//go:embed migrations
var migrationFiles embed.FS

// Options selects the database.
type Options struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is a SQLite file path or a PostgreSQL connection string.
	DSN      string
	MaxConns int
}

// Store is an open ordo database.
type Store struct {
	DB *bun.DB
}

// ErrNotFound means the requested record does not exist.
var ErrNotFound = errors.New("not found")

// Open connects to the database. Call Migrate before first use.
func Open(ctx context.Context, opts Options) (*Store, error) {
	switch opts.Driver {
	case "sqlite", "":
		db, err := sqlitedb.Open(opts.DSN, opts.MaxConns)
		if err != nil {
			return nil, err
		}
		return &Store{DB: db}, nil
	case "postgres":
		sqldb, err := sql.Open("pgx", opts.DSN)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		if opts.MaxConns > 0 {
			sqldb.SetMaxOpenConns(opts.MaxConns)
			sqldb.SetMaxIdleConns(opts.MaxConns)
		}
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := sqldb.PingContext(pingCtx); err != nil {
			_ = sqldb.Close()
			return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		return &Store{DB: bun.NewDB(sqldb, pgdialect.New())}, nil
	default:
		return nil, fmt.Errorf("unsupported database driver %q: use sqlite or postgres", opts.Driver)
	}
}

// Close closes the connection pool.
func (s *Store) Close() error {
	return s.DB.Close()
}

// IsPostgres reports whether the store runs on PostgreSQL.
func (s *Store) IsPostgres() bool {
	return s.DB.Dialect().Name() == dialect.PG
}

// Migrate applies pending schema migrations under bun's migration lock, so
// several ordo processes starting at once apply each migration once.
func (s *Store) Migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.IsPostgres() {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return fmt.Errorf("open embedded migrations %s: %w", dir, err)
	}
	migrations := migrate.NewMigrations()
	if err := migrations.Discover(sub); err != nil {
		return fmt.Errorf("discover migrations: %w", err)
	}
	migrator := migrate.NewMigrator(s.DB, migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := migrator.Init(ctx); err != nil {
		return fmt.Errorf("create migration tables: %w", err)
	}
	if err := lockMigrations(ctx, migrator); err != nil {
		return err
	}
	defer func() { _ = migrator.Unlock(context.WithoutCancel(ctx)) }()
	if _, err := migrator.Migrate(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// lockMigrations waits for another process's migration to finish.
func lockMigrations(ctx context.Context, migrator *migrate.Migrator) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := migrator.Lock(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lock migrations (another ordo process may be migrating, or a crashed one left the lock: delete the row in bun_migration_locks): %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either database.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// now returns the current time in UTC at microsecond precision, which both
// databases store exactly.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Now returns the current time as the store writes it.
func Now() time.Time { return now() }
