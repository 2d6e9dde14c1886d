package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Import run statuses.
const (
	ImportStatusRunning   = "running"
	ImportStatusSucceeded = "succeeded"
	ImportStatusFailed    = "failed"
)

// batchSize bounds the rows of one INSERT and the keys of one IN list. bun
// inlines values into the SQL text, so the bound keeps statements a few
// hundred kilobytes long instead of hitting a parameter limit.
const batchSize = 500

// AccountHashes returns the content hash of each stored account among names.
func AccountHashes(ctx context.Context, db bun.IDB, names []string) (map[string]string, error) {
	return contentHashes(ctx, db, (*Account)(nil), "name", names)
}

// ProductHashes returns the content hash of each stored product among names.
func ProductHashes(ctx context.Context, db bun.IDB, names []string) (map[string]string, error) {
	return contentHashes(ctx, db, (*Product)(nil), "name", names)
}

// SalesAgentHashes returns the content hash of each stored sales agent among
// names.
func SalesAgentHashes(ctx context.Context, db bun.IDB, names []string) (map[string]string, error) {
	return contentHashes(ctx, db, (*SalesAgent)(nil), "name", names)
}

// OpportunityHashes returns the content hash of each stored opportunity
// among ids.
func OpportunityHashes(ctx context.Context, db bun.IDB, ids []string) (map[string]string, error) {
	return contentHashes(ctx, db, (*Opportunity)(nil), "opportunity_id", ids)
}

// LeadHashes returns the content hash of each stored lead among opportunity
// ids.
func LeadHashes(ctx context.Context, db bun.IDB, ids []string) (map[string]string, error) {
	return contentHashes(ctx, db, (*Lead)(nil), "opportunity_id", ids)
}

// contentHashes reads key → content_hash of model's table for the given
// keys. Keys that are not stored are absent from the map.
func contentHashes(ctx context.Context, db bun.IDB, model any, keyColumn string, keys []string) (map[string]string, error) {
	hashes := make(map[string]string, len(keys))
	for start := 0; start < len(keys); start += batchSize {
		chunk := keys[start:min(start+batchSize, len(keys))]
		var rows []struct {
			Key  string `bun:"row_key"`
			Hash string `bun:"content_hash"`
		}
		err := db.NewSelect().
			Model(model).
			ColumnExpr("? AS row_key", bun.Ident(keyColumn)).
			Column("content_hash").
			Where("? IN (?)", bun.Ident(keyColumn), bun.In(chunk)).
			Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("read content hashes by %s: %w", keyColumn, err)
		}
		for _, row := range rows {
			hashes[row.Key] = row.Hash
		}
	}
	return hashes, nil
}

// UpsertAccounts inserts new accounts and overwrites the imported fields of
// existing ones, keeping created_at.
func UpsertAccounts(ctx context.Context, db bun.IDB, accounts []Account) error {
	return upsert(ctx, db, accounts, "accounts", "name",
		"customer_no", "sector", "year_established", "revenue_musd", "employees",
		"office_location", "subsidiary_of", "content_hash", "updated_at")
}

// UpsertProducts inserts new products and overwrites the imported fields of
// existing ones, keeping created_at.
func UpsertProducts(ctx context.Context, db bun.IDB, products []Product) error {
	return upsert(ctx, db, products, "products", "name",
		"product_no", "series", "sales_price", "content_hash", "updated_at")
}

// UpsertSalesAgents inserts new sales agents and overwrites the imported
// fields of existing ones, keeping created_at.
func UpsertSalesAgents(ctx context.Context, db bun.IDB, agents []SalesAgent) error {
	return upsert(ctx, db, agents, "sales agents", "name",
		"manager", "regional_office", "content_hash", "updated_at")
}

// UpsertOpportunities inserts new opportunities and overwrites the imported
// fields of existing ones, keeping created_at.
func UpsertOpportunities(ctx context.Context, db bun.IDB, opportunities []Opportunity) error {
	return upsert(ctx, db, opportunities, "opportunities", "opportunity_id",
		"sales_agent", "product_name", "account_name", "deal_stage", "engage_date",
		"close_date", "close_value", "currency", "content_hash", "updated_at")
}

// UpsertLeads inserts new leads and overwrites the CRM fields of existing
// ones. It never changes an existing lead's state, first_contact_at or
// created_at, which belong to the lead's follow-up. assigned_at of an
// existing lead is overwritten only when updateAssignedAt is true, so a
// caller that defaulted assigned_at to the import time keeps the time of
// the first import.
func UpsertLeads(ctx context.Context, db bun.IDB, leads []Lead, updateAssignedAt bool) error {
	columns := []string{"sales_agent", "account_name", "product_name", "stage", "content_hash", "updated_at"}
	if updateAssignedAt {
		columns = append(columns, "assigned_at")
	}
	return upsert(ctx, db, leads, "leads", "opportunity_id", columns...)
}

// upsert inserts rows in batches. On a key conflict it sets the columns in
// update to the incoming values. table names the rows in errors.
func upsert[T any](ctx context.Context, db bun.IDB, rows []T, table, key string, update ...string) error {
	for start := 0; start < len(rows); start += batchSize {
		chunk := rows[start:min(start+batchSize, len(rows))]
		query := db.NewInsert().Model(&chunk).On("CONFLICT (?) DO UPDATE", bun.Ident(key))
		for _, column := range update {
			query = query.Set("? = EXCLUDED.?", bun.Ident(column), bun.Ident(column))
		}
		if _, err := query.Exec(ctx); err != nil {
			return fmt.Errorf("upsert %d %s: %w", len(chunk), table, err)
		}
	}
	return nil
}

// CloseLeads sets the state of the open or contacted leads among ids to
// closed and returns the ids of the leads it changed.
func CloseLeads(ctx context.Context, db bun.IDB, ids []string, at time.Time) ([]string, error) {
	var closed []string
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		var changed []string
		err := db.NewUpdate().
			Model((*Lead)(nil)).
			Set("state = ?", LeadClosed).
			Set("updated_at = ?", at).
			Where("opportunity_id IN (?)", bun.In(chunk)).
			Where("state <> ?", LeadClosed).
			Returning("opportunity_id").
			Scan(ctx, &changed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return closed, fmt.Errorf("close leads: %w", err)
		}
		closed = append(closed, changed...)
	}
	return closed, nil
}

// ContractImportState is the part of a stored contract that decides
// whether an importer may rewrite it.
type ContractImportState struct {
	ContractNo        string     `bun:"contract_no"`
	OpportunityID     *string    `bun:"opportunity_id"`
	Source            string     `bun:"source"`
	State             string     `bun:"state"`
	ContentHash       string     `bun:"content_hash"`
	WorkflowStartedAt *time.Time `bun:"workflow_started_at"`
}

// ContractImportStates returns the stored contracts whose opportunity id is
// among opportunityIDs or whose number is among contractNos.
func ContractImportStates(ctx context.Context, db bun.IDB, opportunityIDs, contractNos []string) ([]ContractImportState, error) {
	var states []ContractImportState
	for start := 0; start < max(len(opportunityIDs), len(contractNos)); start += batchSize {
		ids := opportunityIDs[min(start, len(opportunityIDs)):min(start+batchSize, len(opportunityIDs))]
		nos := contractNos[min(start, len(contractNos)):min(start+batchSize, len(contractNos))]
		var chunk []ContractImportState
		query := db.NewSelect().
			Model((*Contract)(nil)).
			Column("contract_no", "opportunity_id", "source", "state", "content_hash", "workflow_started_at")
		// An empty IN list is invalid SQL on both databases.
		if len(ids) > 0 {
			query = query.WhereOr("opportunity_id IN (?)", bun.In(ids))
		}
		if len(nos) > 0 {
			query = query.WhereOr("contract_no IN (?)", bun.In(nos))
		}
		if err := query.Scan(ctx, &chunk); err != nil {
			return nil, fmt.Errorf("read contracts for import: %w", err)
		}
		states = append(states, chunk...)
	}
	return dedupeContractStates(states), nil
}

// dedupeContractStates drops repeats, which occur when one contract matches
// the opportunity ids of one chunk and the numbers of another.
func dedupeContractStates(states []ContractImportState) []ContractImportState {
	seen := make(map[string]bool, len(states))
	unique := states[:0]
	for _, s := range states {
		if !seen[s.ContractNo] {
			seen[s.ContractNo] = true
			unique = append(unique, s)
		}
	}
	return unique
}

// InsertContracts inserts contracts that do not exist yet, with their
// instalments, and returns the numbers of the contracts it inserted. A
// contract whose number or opportunity id is already stored is skipped
// together with its instalments, so a concurrent writer never has its
// contract overwritten.
func InsertContracts(ctx context.Context, db bun.IDB, contracts []Contract, instalments []PaymentInstalment) ([]string, error) {
	var inserted []string
	for start := 0; start < len(contracts); start += batchSize {
		chunk := contracts[start:min(start+batchSize, len(contracts))]
		var numbers []string
		err := db.NewInsert().
			Model(&chunk).
			On("CONFLICT DO NOTHING").
			Returning("contract_no").
			Scan(ctx, &numbers)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return inserted, fmt.Errorf("insert %d contracts: %w", len(chunk), err)
		}
		inserted = append(inserted, numbers...)
	}

	isNew := make(map[string]bool, len(inserted))
	for _, no := range inserted {
		isNew[no] = true
	}
	var plan []PaymentInstalment
	for _, inst := range instalments {
		if isNew[inst.ContractNo] {
			plan = append(plan, inst)
		}
	}
	for start := 0; start < len(plan); start += batchSize {
		chunk := plan[start:min(start+batchSize, len(plan))]
		if _, err := db.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return inserted, fmt.Errorf("insert %d payment instalments: %w", len(chunk), err)
		}
	}
	return inserted, nil
}

// UpdateUnstartedContract overwrites the imported fields of a contract and
// replaces its payment plan, but only while the contract is an imported,
// signed contract whose workflow has not started. It returns false, and
// changes nothing, when the contract does not meet that condition, so a
// workflow started since the caller read the contract is never rewritten.
// It never writes state, paid_amount, workflow_id or workflow_started_at.
func UpdateUnstartedContract(ctx context.Context, db bun.IDB, c *Contract, instalments []PaymentInstalment) (bool, error) {
	result, err := db.NewUpdate().
		Model(c).
		Column("opportunity_id", "account_name", "customer_no", "product_name", "product_no",
			"sales_agent", "quantity", "unit_price", "amount", "currency", "tax_rate",
			"tax_code", "signed_on", "content_hash", "updated_at").
		WherePK().
		Where("workflow_started_at IS NULL").
		Where("state = ?", ContractSigned).
		Where("source = ?", SourceCRMImport).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("update contract %s: %w", c.ContractNo, err)
	}
	n, err := result.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update contract %s: count changed rows: %w", c.ContractNo, err)
	}
	if n == 0 {
		return false, nil
	}

	// Nothing can have been paid on a contract whose chain never started,
	// so the old plan is replaced whole.
	if _, err := db.NewDelete().
		Model((*PaymentInstalment)(nil)).
		Where("contract_no = ?", c.ContractNo).
		Exec(ctx); err != nil {
		return false, fmt.Errorf("delete payment plan of contract %s: %w", c.ContractNo, err)
	}
	if len(instalments) > 0 {
		if _, err := db.NewInsert().Model(&instalments).Exec(ctx); err != nil {
			return false, fmt.Errorf("insert payment plan of contract %s: %w", c.ContractNo, err)
		}
	}
	return true, nil
}

// InsertImportRun records the start of an import run.
func InsertImportRun(ctx context.Context, db bun.IDB, run *ImportRun) error {
	if _, err := db.NewInsert().Model(run).Exec(ctx); err != nil {
		return fmt.Errorf("insert import run %s: %w", run.ID, err)
	}
	return nil
}

// FinishImportRun records the status, summary JSON and end time of an
// import run.
func FinishImportRun(ctx context.Context, db bun.IDB, id, status, summary string, finishedAt time.Time) error {
	result, err := db.NewUpdate().
		Model((*ImportRun)(nil)).
		Set("status = ?", status).
		Set("summary = ?", summary).
		Set("finished_at = ?", finishedAt).
		Where("id = ?", id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("finish import run %s: %w", id, err)
	}
	if n, err := result.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("finish import run %s: %w", id, ErrNotFound)
	}
	return nil
}

// InsertImportIssues records the issues of an import run in batches.
func InsertImportIssues(ctx context.Context, db bun.IDB, issues []ImportIssue) error {
	for start := 0; start < len(issues); start += batchSize {
		chunk := issues[start:min(start+batchSize, len(issues))]
		if _, err := db.NewInsert().Model(&chunk).ExcludeColumn("id").Exec(ctx); err != nil {
			return fmt.Errorf("insert %d import issues: %w", len(chunk), err)
		}
	}
	return nil
}

// GetImportRun returns the import run with id, or ErrNotFound.
func GetImportRun(ctx context.Context, db bun.IDB, id string) (*ImportRun, error) {
	run := new(ImportRun)
	err := db.NewSelect().Model(run).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("import run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read import run %s: %w", id, err)
	}
	return run, nil
}

// ListImportIssues returns up to limit issues of an import run after
// skipping offset, in the order they were recorded. A limit of 0 or less
// returns all of them.
func ListImportIssues(ctx context.Context, db bun.IDB, runID string, limit, offset int) ([]ImportIssue, error) {
	var issues []ImportIssue
	query := db.NewSelect().Model(&issues).Where("run_id = ?", runID).Order("id")
	if limit > 0 {
		query = query.Limit(int64(limit))
	}
	if offset > 0 {
		query = query.Offset(int64(offset))
	}
	if err := query.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read issues of import run %s: %w", runID, err)
	}
	return issues, nil
}
