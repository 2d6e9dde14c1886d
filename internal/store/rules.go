package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/validation"
)

// RuleVersion is one stored version of the rules document. ordo never
// updates or deletes a version, so a workflow that started under it can
// read it again at any time.
type RuleVersion struct {
	bun.BaseModel `bun:"table:rule_versions"`

	// Version counts from 1 in the order versions were applied.
	Version int `bun:"version,pk" json:"version"`
	// Document is the YAML text as applied, comments included.
	Document string `bun:"document" json:"-"`
	// Checksum is rules.Document.Checksum of the applied document.
	Checksum  string    `bun:"checksum" json:"checksum"`
	AppliedBy string    `bun:"applied_by" json:"applied_by"`
	AppliedAt time.Time `bun:"applied_at" json:"applied_at"`
	Comment   string    `bun:"comment" json:"comment"`
}

// Rules decodes the stored document. It does not validate it again, see
// rules.Decode.
func (v *RuleVersion) Rules() (rules.Document, error) {
	doc, err := rules.Decode([]byte(v.Document))
	if err != nil {
		return rules.Document{}, fmt.Errorf("rules version %d: %w", v.Version, err)
	}
	return doc, nil
}

// RulesApplied is the outcome of ApplyRules.
type RulesApplied struct {
	// Version is the version stored, or the newest version when Unchanged.
	Version RuleVersion
	// Unchanged is true when the document's values equal those of the
	// newest version, so no version was stored.
	Unchanged bool
}

// DefaultRulesApplier is the applied_by of the version EnsureDefaultRules
// stores.
const DefaultRulesApplier = "ordo"

// Limits of the text recorded with a rules version, in characters.
const (
	maxAppliedByLength = 200
	maxCommentLength   = 2000
)

// applyAttempts bounds the transactions ApplyRules tries when a
// concurrent apply took the version number first.
const applyAttempts = 5

// ApplyRules parses and validates document, then stores it as the next
// version, unless its values equal those of the newest version: then it
// stores nothing and returns the newest with Unchanged set. An invalid
// document or an empty appliedBy returns a *validation.Error listing every
// problem.
//
// Concurrent applies get distinct, consecutive versions. On PostgreSQL
// the transaction locks the table against other appliers; on SQLite every
// write transaction takes the database's write lock when it begins. A
// unique-key conflict, which the locks are meant to prevent, is retried.
func (s *Store) ApplyRules(ctx context.Context, document []byte, appliedBy, comment string) (RulesApplied, error) {
	var problems validation.Problems
	appliedBy = strings.TrimSpace(appliedBy)
	switch {
	case appliedBy == "":
		problems.Add("applied_by", "is required: name the person who applies the rules")
	case utf8.RuneCountInString(appliedBy) > maxAppliedByLength:
		problems.Add("applied_by", "is longer than %d characters", maxAppliedByLength)
	}
	if utf8.RuneCountInString(comment) > maxCommentLength {
		problems.Add("comment", "is longer than %d characters", maxCommentLength)
	}
	doc, err := rules.Parse(document)
	var invalid *validation.Error
	if errors.As(err, &invalid) {
		problems = append(problems, invalid.Problems...)
	} else if err != nil {
		return RulesApplied{}, err
	}
	if err := problems.Err("rules"); err != nil {
		return RulesApplied{}, err
	}

	candidate := RuleVersion{
		Document:  string(document),
		Checksum:  doc.Checksum(),
		AppliedBy: appliedBy,
		Comment:   comment,
	}
	for attempt := 1; ; attempt++ {
		applied, err := s.applyRulesOnce(ctx, candidate)
		if err == nil {
			return applied, nil
		}
		if !IsUniqueViolation(err) || attempt == applyAttempts {
			return RulesApplied{}, fmt.Errorf("store rules version: %w", err)
		}
	}
}

func (s *Store) applyRulesOnce(ctx context.Context, candidate RuleVersion) (RulesApplied, error) {
	var applied RulesApplied
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if s.IsPostgres() {
			// SHARE ROW EXCLUSIVE conflicts with itself and with inserts,
			// but not with readers.
			if _, err := tx.ExecContext(ctx, "LOCK TABLE rule_versions IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return fmt.Errorf("lock rule_versions: %w", err)
			}
		}
		newest, err := latestRules(ctx, tx)
		switch {
		case errors.Is(err, ErrNotFound):
			newest = RuleVersion{}
		case err != nil:
			return err
		case newest.Checksum == candidate.Checksum:
			applied = RulesApplied{Version: newest, Unchanged: true}
			return nil
		}
		version := candidate
		version.Version = newest.Version + 1
		version.AppliedAt = now()
		if _, err := tx.NewInsert().Model(&version).Exec(ctx); err != nil {
			return err
		}
		applied = RulesApplied{Version: version}
		return nil
	})
	return applied, err
}

// EnsureDefaultRules stores rules.DefaultYAML as version 1, applied by
// DefaultRulesApplier, when no version is stored yet. It is safe to call
// from several processes at once: only one insert of version 1 succeeds.
func (s *Store) EnsureDefaultRules(ctx context.Context) error {
	version := RuleVersion{
		Version:   1,
		Document:  string(rules.DefaultYAML()),
		Checksum:  rules.Default().Checksum(),
		AppliedBy: DefaultRulesApplier,
		AppliedAt: now(),
		Comment:   "defaults of a new installation",
	}
	if _, err := s.DB.NewInsert().Model(&version).On("CONFLICT (version) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("store default rules: %w", err)
	}
	return nil
}

// LatestRules returns the newest rules version, or ErrNotFound when none
// is stored.
func (s *Store) LatestRules(ctx context.Context) (RuleVersion, error) {
	return latestRules(ctx, s.DB)
}

func latestRules(ctx context.Context, db bun.IDB) (RuleVersion, error) {
	var version RuleVersion
	err := db.NewSelect().Model(&version).Order("version DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return RuleVersion{}, fmt.Errorf("rules: no version stored: %w", ErrNotFound)
	}
	if err != nil {
		return RuleVersion{}, fmt.Errorf("read newest rules version: %w", err)
	}
	return version, nil
}

// RulesVersion returns rules version n, or ErrNotFound.
func (s *Store) RulesVersion(ctx context.Context, n int) (RuleVersion, error) {
	var version RuleVersion
	err := s.DB.NewSelect().Model(&version).Where("version = ?", n).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return RuleVersion{}, fmt.Errorf("rules version %d: %w", n, ErrNotFound)
	}
	if err != nil {
		return RuleVersion{}, fmt.Errorf("read rules version %d: %w", n, err)
	}
	return version, nil
}

// ListRuleVersions returns every rules version, newest first, without
// the document text.
func (s *Store) ListRuleVersions(ctx context.Context) ([]RuleVersion, error) {
	var versions []RuleVersion
	err := s.DB.NewSelect().Model(&versions).
		ExcludeColumn("document").
		Order("version DESC").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rules versions: %w", err)
	}
	return versions, nil
}
