// Package storetest opens migrated, empty ordo databases for tests: a
// SQLite file in a temporary directory, and a fresh PostgreSQL database on
// the server named by ORDO_TEST_POSTGRES_DSN.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/internal/store"
)

// PostgresEnv names the variable holding an administrative PostgreSQL DSN,
// for example postgres://ordo:ordo@127.0.0.1:5432/ordo?sslmode=disable.
// Tests create and drop their own databases through it.
const PostgresEnv = "ORDO_TEST_POSTGRES_DSN"

// Drivers lists the databases a test should run on: SQLite always,
// PostgreSQL when PostgresEnv is set.
func Drivers() []string {
	drivers := []string{"sqlite"}
	if os.Getenv(PostgresEnv) != "" {
		drivers = append(drivers, "postgres")
	}
	return drivers
}

// RequirePostgres fails the test when CI is set and PostgresEnv is not, so
// a CI run can never pass by silently skipping PostgreSQL.
func RequirePostgres(t testing.TB) {
	t.Helper()
	if os.Getenv("CI") != "" && os.Getenv(PostgresEnv) == "" {
		t.Fatalf("CI is set but %s is not: PostgreSQL tests would be skipped", PostgresEnv)
	}
}

// ForEachDriver runs fn as a subtest on every driver of Drivers.
func ForEachDriver(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	RequirePostgres(t)
	for _, driver := range Drivers() {
		t.Run(driver, func(t *testing.T) {
			fn(t, Open(t, driver))
		})
	}
}

// Open returns a migrated, empty store on driver, closed and removed when
// the test ends.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	ctx := context.Background()
	var opts store.Options
	switch driver {
	case "sqlite":
		opts = store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "ordo.db"), MaxConns: 4}
	case "postgres":
		dsn, cleanup := createPostgresDatabase(t)
		t.Cleanup(cleanup)
		opts = store.Options{Driver: "postgres", DSN: dsn, MaxConns: 8}
	default:
		t.Fatalf("unknown test driver %q", driver)
	}
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s store: %v", driver, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s store: %v", driver, err)
	}
	return s
}

// createPostgresDatabase creates a database with a random name and returns
// its DSN and a function that drops it.
func createPostgresDatabase(t testing.TB) (string, func()) {
	t.Helper()
	adminDSN := os.Getenv(PostgresEnv)
	if adminDSN == "" {
		t.Skipf("%s is not set", PostgresEnv)
	}
	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatalf("open PostgreSQL admin connection: %v", err)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random database name: %v", err)
	}
	name := "ordo_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		_ = admin.Close()
		t.Fatalf("create database %s (does the %s user have CREATEDB?): %v", name, PostgresEnv, err)
	}
	dsn, err := withDatabase(adminDSN, name)
	if err != nil {
		_ = admin.Close()
		t.Fatalf("build test DSN: %v", err)
	}
	return dsn, func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = admin.Close()
	}
}

// withDatabase replaces the database of a URL-form or key=value DSN.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	fields := strings.Fields(dsn)
	out := make([]string, 0, len(fields)+1)
	for _, f := range fields {
		if !strings.HasPrefix(f, "dbname=") {
			out = append(out, f)
		}
	}
	return strings.Join(append(out, fmt.Sprintf("dbname=%s", name)), " "), nil
}
