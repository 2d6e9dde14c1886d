package erpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	kingdee "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/store"
)

// Outcomes of a retry, as the audit records them.
const (
	OutcomeResolved = "resolved"
	OutcomeFailed   = "failed"
)

// ErrAlreadyResolved means a retried dead letter is resolved already.
var ErrAlreadyResolved = errors.New("dead letter is already resolved")

// RetryResult is the dead letter after a retry.
type RetryResult struct {
	DeadLetter store.DeadLetter `json:"dead_letter"`
	Outcome    string           `json:"outcome"`
}

// Retry applies a dead letter's record again and writes an audit entry by
// operator whatever the outcome. The letter is marked requeued before the
// record is applied. Success marks it resolved. A record that fails
// validation again goes back to open with the new error and one more
// attempt. The upsert keeps a newer ERP version that a later sync stored,
// so a retry never overwrites fresher data.
func (s *Syncer) Retry(ctx context.Context, id int64, operator string) (RetryResult, error) {
	if strings.TrimSpace(operator) == "" {
		return RetryResult{}, errors.New("retry of a dead letter needs the operator's name for the audit")
	}
	letter, err := store.GetDeadLetter(ctx, s.Store.DB, id)
	if err != nil {
		return RetryResult{}, err
	}
	if letter.State == store.DeadLetterResolved {
		return RetryResult{}, fmt.Errorf("dead letter %d (%s %s): %w", id, letter.SyncName, letter.RecordKey, ErrAlreadyResolved)
	}
	if err := store.SetDeadLetterState(ctx, s.Store.DB, id, store.DeadLetterRequeued, "", false); err != nil {
		return RetryResult{}, err
	}

	problem := reapply(ctx, s.Store.DB, letter)
	outcome := OutcomeResolved
	if problem != nil {
		outcome = OutcomeFailed
	}
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if problem != nil {
			if err := store.SetDeadLetterState(ctx, tx, id, store.DeadLetterOpen, problem.Error(), true); err != nil {
				return err
			}
		}
		audit := &store.DLQAudit{DeadLetterID: id, By: operator, Action: "retry", Outcome: outcome}
		if problem != nil {
			audit.Outcome = OutcomeFailed + ": " + problem.Error()
		}
		return store.AddDLQAudit(ctx, tx, audit)
	})
	if err != nil {
		return RetryResult{}, err
	}
	updated, err := store.GetDeadLetter(ctx, s.Store.DB, id)
	if err != nil {
		return RetryResult{}, err
	}
	return RetryResult{DeadLetter: *updated, Outcome: outcome}, nil
}

// reapply decodes the record of a dead letter, validates it and stores it
// in one transaction that also marks the letter resolved.
func reapply(ctx context.Context, db *bun.DB, letter *store.DeadLetter) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		switch {
		case letter.SyncName == StreamCustomers:
			var record kingdee.CustomerRecord
			if err := json.Unmarshal([]byte(letter.Context), &record); err != nil {
				return fmt.Errorf("dead letter %d has an undecodable customer record: %w", letter.ID, err)
			}
			row, err := CustomerRow(record)
			if err != nil {
				return err
			}
			if err := store.UpsertERPCustomers(ctx, tx, []store.ERPCustomer{row}); err != nil {
				return err
			}
		case strings.HasPrefix(letter.SyncName, StreamDocumentsPrefix):
			var record kingdee.DocumentStateRecord
			if err := json.Unmarshal([]byte(letter.Context), &record); err != nil {
				return fmt.Errorf("dead letter %d has an undecodable document record: %w", letter.ID, err)
			}
			row, err := DocumentRow(record)
			if err != nil {
				return err
			}
			if err := store.UpsertERPDocumentStates(ctx, tx, []store.ERPDocumentState{row}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("dead letter %d belongs to sync %q: %w", letter.ID, letter.SyncName, ErrUnknownStream)
		}
		return store.SetDeadLetterState(ctx, tx, letter.ID, store.DeadLetterResolved, "", true)
	})
}
