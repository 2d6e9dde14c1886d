package crmimport

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/store"
)

// pipelineBatchSize is the number of pipeline rows written per
// transaction. Each transaction holds SQLite's single write lock, so
// batches keep the lead's workflow starter and the API from waiting for
// the whole import.
const pipelineBatchSize = 500

// applier writes parsed records to the database and counts the outcomes.
type applier struct {
	db      *bun.DB
	opts    Options
	issues  *issueList
	summary *Summary
}

// classify compares a record's hash with the stored one.
func classify(stored map[string]string, key, hash string) outcome {
	old, ok := stored[key]
	switch {
	case !ok:
		return outcomeImported
	case old != hash:
		return outcomeUpdated
	default:
		return outcomeUnchanged
	}
}

// masterData writes accounts, products and sales agents in one
// transaction, so a failure leaves none of them half written.
func (a *applier) masterData(ctx context.Context, ds *Dataset) error {
	total := len(ds.Accounts) + len(ds.Products) + len(ds.Agents)
	a.opts.report(Progress{Phase: PhaseMasterData, Done: 0, Total: total})
	counts := map[string]*FileSummary{
		FileAccounts:   {},
		FileProducts:   {},
		FileSalesTeams: {},
	}
	err := a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		accounts := make([]store.Account, len(ds.Accounts))
		for i, row := range ds.Accounts {
			accounts[i] = accountRecord(row, a.opts.Now)
		}
		if err := writeChanged(ctx, tx, accounts, counts[FileAccounts],
			func(r store.Account) (string, string) { return r.Name, r.ContentHash },
			store.AccountHashes, store.UpsertAccounts); err != nil {
			return err
		}

		products := make([]store.Product, len(ds.Products))
		for i, row := range ds.Products {
			products[i] = productRecord(row, a.opts.Now)
		}
		if err := writeChanged(ctx, tx, products, counts[FileProducts],
			func(r store.Product) (string, string) { return r.Name, r.ContentHash },
			store.ProductHashes, store.UpsertProducts); err != nil {
			return err
		}

		agents := make([]store.SalesAgent, len(ds.Agents))
		for i, row := range ds.Agents {
			agents[i] = agentRecord(row, a.opts.Now)
		}
		return writeChanged(ctx, tx, agents, counts[FileSalesTeams],
			func(r store.SalesAgent) (string, string) { return r.Name, r.ContentHash },
			store.SalesAgentHashes, store.UpsertSalesAgents)
	})
	if err != nil {
		return fmt.Errorf("write master data: %w", err)
	}
	for file, c := range counts {
		f := a.summary.File(file)
		f.Imported, f.Updated, f.Unchanged = c.Imported, c.Updated, c.Unchanged
	}
	a.opts.report(Progress{Phase: PhaseMasterData, Done: total, Total: total})
	return nil
}

// writeChanged upserts the records whose content hash differs from the
// stored one and counts every record's outcome in counts.
func writeChanged[T any](
	ctx context.Context, db bun.IDB, records []T, counts *FileSummary,
	identity func(T) (key, hash string),
	hashes func(context.Context, bun.IDB, []string) (map[string]string, error),
	upsert func(context.Context, bun.IDB, []T) error,
) error {
	keys := make([]string, len(records))
	for i, r := range records {
		keys[i], _ = identity(r)
	}
	stored, err := hashes(ctx, db, keys)
	if err != nil {
		return err
	}
	var changed []T
	for _, r := range records {
		key, hash := identity(r)
		o := classify(stored, key, hash)
		counts.count(o)
		if o != outcomeUnchanged {
			changed = append(changed, r)
		}
	}
	return upsert(ctx, db, changed)
}

// pipeline writes the deals in batches, each in its own transaction. A
// failed batch rolls back alone and the batches before it stay written.
// Running the import again completes the rest, because every write is an
// idempotent upsert.
func (a *applier) pipeline(ctx context.Context, deals []deal) error {
	total := len(deals)
	a.opts.report(Progress{Phase: PhasePipeline, Done: 0, Total: total})
	file := a.summary.File(FilePipeline)
	for start := 0; start < total; start += pipelineBatchSize {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write %s rows from line %d: %w", FilePipeline, deals[start].row.Line, err)
		}
		batch := deals[start:min(start+pipelineBatchSize, total)]
		var result batchResult
		err := a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			result = batchResult{}
			return a.pipelineBatch(ctx, tx, batch, &result)
		})
		if err != nil {
			return fmt.Errorf("write %s rows from line %d to line %d: %w",
				FilePipeline, batch[0].row.Line, batch[len(batch)-1].row.Line, err)
		}
		result.addTo(a.summary, file, a.issues)
		a.opts.report(Progress{Phase: PhasePipeline, Done: start + len(batch), Total: total})
	}
	return nil
}

// batchResult collects the outcomes of one batch, merged into the summary
// only after its transaction commits.
type batchResult struct {
	rows      [3]int // by outcome: unchanged, updated, imported
	contracts ContractCounts
	leads     LeadCounts
	lost      int
	issues    issueList
}

func (r *batchResult) addTo(s *Summary, file *FileSummary, issues *issueList) {
	file.Unchanged += r.rows[outcomeUnchanged]
	file.Updated += r.rows[outcomeUpdated]
	file.Imported += r.rows[outcomeImported]
	s.Contracts.Created += r.contracts.Created
	s.Contracts.Updated += r.contracts.Updated
	s.Contracts.Unchanged += r.contracts.Unchanged
	s.Contracts.NotApplied += r.contracts.NotApplied
	s.Contracts.Rejected += r.contracts.Rejected
	s.Leads.Created += r.leads.Created
	s.Leads.Updated += r.leads.Updated
	s.Leads.Unchanged += r.leads.Unchanged
	s.Leads.Closed += r.leads.Closed
	s.LostDealsStored += r.lost
	issues.items = append(issues.items, r.issues.items...)
}

// contractIndex finds stored contracts by number and by opportunity id.
type contractIndex struct {
	byNo          map[string]*store.ContractImportState
	byOpportunity map[string]*store.ContractImportState
}

func newContractIndex(states []store.ContractImportState) contractIndex {
	idx := contractIndex{
		byNo:          make(map[string]*store.ContractImportState, len(states)),
		byOpportunity: make(map[string]*store.ContractImportState, len(states)),
	}
	for i := range states {
		s := &states[i]
		idx.byNo[s.ContractNo] = s
		if s.OpportunityID != nil {
			idx.byOpportunity[*s.OpportunityID] = s
		}
	}
	return idx
}

// forDeal returns the stored contract of a deal: the one with the deal's
// contract number, else the one linked to its opportunity id.
func (idx contractIndex) forDeal(d *deal) *store.ContractImportState {
	if d.contract != nil {
		if s := idx.byNo[d.contract.ContractNo]; s != nil {
			return s
		}
	}
	return idx.byOpportunity[d.row.ID]
}

// pipelineBatch writes one batch of deals inside tx: it reads what is
// stored, decides each record's outcome, then writes the changes.
func (a *applier) pipelineBatch(ctx context.Context, tx bun.Tx, batch []deal, result *batchResult) error {
	stored, err := lookupBatch(ctx, tx, batch)
	if err != nil {
		return err
	}
	plan := a.planBatch(batch, stored, result)
	if err := a.writeBatch(ctx, tx, batch, plan, result); err != nil {
		return err
	}
	for _, o := range plan.rowOutcome {
		result.rows[o]++
	}
	return nil
}

// storedBatch is the stored state of the deals of a batch.
type storedBatch struct {
	opportunities map[string]string // content hash by opportunity id
	leads         map[string]string // content hash by opportunity id
	contracts     contractIndex
}

func lookupBatch(ctx context.Context, tx bun.Tx, batch []deal) (storedBatch, error) {
	ids := make([]string, len(batch))
	var leadIDs, contractNos []string
	for i := range batch {
		d := &batch[i]
		ids[i] = d.row.ID
		if d.lead != nil {
			leadIDs = append(leadIDs, d.row.ID)
		}
		if d.contract != nil {
			contractNos = append(contractNos, d.contract.ContractNo)
		}
	}

	var stored storedBatch
	var err error
	if stored.opportunities, err = store.OpportunityHashes(ctx, tx, ids); err != nil {
		return stored, err
	}
	if stored.leads, err = store.LeadHashes(ctx, tx, leadIDs); err != nil {
		return stored, err
	}
	states, err := store.ContractImportStates(ctx, tx, ids, contractNos)
	if err != nil {
		return stored, err
	}
	stored.contracts = newContractIndex(states)
	return stored, nil
}

// batchPlan is the writes a batch needs and each row's outcome so far.
type batchPlan struct {
	rowOutcome []outcome
	// rowOf maps an opportunity id to its index in the batch.
	rowOf                    map[string]int
	opportunities            []store.Opportunity
	newContracts             []store.Contract
	newInstalments           []store.PaymentInstalment
	updates                  []*deal
	datedLeads, undatedLeads []store.Lead
	// closingIDs are Won and Lost deals whose lead from an earlier import
	// may still be open.
	closingIDs []string
}

// planBatch compares each deal's records with the stored ones and decides
// what to write. Contracts that must not change are reported here.
func (a *applier) planBatch(batch []deal, stored storedBatch, result *batchResult) *batchPlan {
	plan := &batchPlan{rowOutcome: make([]outcome, len(batch)), rowOf: make(map[string]int, len(batch))}
	for i := range batch {
		d := &batch[i]
		plan.rowOf[d.row.ID] = i
		o := classify(stored.opportunities, d.row.ID, d.opportunity.ContentHash)
		plan.rowOutcome[i] = o
		if o != outcomeUnchanged {
			plan.opportunities = append(plan.opportunities, d.opportunity)
			if d.row.Stage == store.StageLost {
				result.lost++
			}
		}

		a.planContract(plan, d, stored.contracts.forDeal(d), result)

		switch {
		case d.lead != nil:
			o := classify(stored.leads, d.row.ID, d.lead.ContentHash)
			switch o {
			case outcomeImported:
				result.leads.Created++
			case outcomeUpdated:
				result.leads.Updated++
			default:
				result.leads.Unchanged++
			}
			if o != outcomeUnchanged {
				plan.rowOutcome[i] = max(plan.rowOutcome[i], outcomeUpdated)
				if d.leadDated {
					plan.datedLeads = append(plan.datedLeads, *d.lead)
				} else {
					plan.undatedLeads = append(plan.undatedLeads, *d.lead)
				}
			}
		case d.row.Stage == store.StageWon || d.row.Stage == store.StageLost:
			plan.closingIDs = append(plan.closingIDs, d.row.ID)
		}
	}
	return plan
}

// planContract decides what happens to the contract of one deal, given
// the contract stored for it, if any.
func (a *applier) planContract(plan *batchPlan, d *deal, stored *store.ContractImportState, result *batchResult) {
	switch {
	case d.contract != nil && stored == nil:
		plan.newContracts = append(plan.newContracts, *d.contract)
		plan.newInstalments = append(plan.newInstalments, d.instalments...)
	case d.contract != nil:
		if a.contractChange(d, stored, result) {
			plan.updates = append(plan.updates, d)
		}
	case d.contractRejected:
		result.contracts.Rejected++
		if stored != nil {
			result.issues.warn(FilePipeline, d.row.Line, "opportunity_id", d.row.ID, ActionKept, fmt.Sprintf(
				"contract %s of this opportunity is already stored (state %s); left it as it is despite the errors on this row: check it in ordo",
				stored.ContractNo, stored.State))
		}
	case stored != nil:
		result.issues.warn(FilePipeline, d.row.Line, "deal_stage", d.row.Stage, ActionKept, fmt.Sprintf(
			"opportunity already has contract %s (state %s), but its stage is now %s; left the contract as it is: cancel it in ordo if the deal fell through",
			stored.ContractNo, stored.State, d.row.Stage))
	}
}

// writeBatch writes the changes planned for a batch and records the
// outcomes that only the writes reveal.
func (a *applier) writeBatch(ctx context.Context, tx bun.Tx, batch []deal, plan *batchPlan, result *batchResult) error {
	if err := store.UpsertOpportunities(ctx, tx, plan.opportunities); err != nil {
		return err
	}

	inserted, err := store.InsertContracts(ctx, tx, plan.newContracts, plan.newInstalments)
	if err != nil {
		return err
	}
	insertedSet := make(map[string]bool, len(inserted))
	for _, no := range inserted {
		insertedSet[no] = true
	}
	if err := store.RecordSignedMarks(ctx, tx, signedMarks(plan.newContracts, insertedSet)); err != nil {
		return err
	}
	for _, c := range plan.newContracts {
		i := plan.rowOf[*c.OpportunityID]
		if insertedSet[c.ContractNo] {
			result.contracts.Created++
			plan.rowOutcome[i] = max(plan.rowOutcome[i], outcomeUpdated)
			continue
		}
		// Another writer stored the number or the opportunity id between
		// the lookup and the insert.
		result.contracts.NotApplied++
		result.issues.warn(FilePipeline, batch[i].row.Line, "opportunity_id", batch[i].row.ID, ActionKept, fmt.Sprintf(
			"contract %s or another contract of this opportunity was created by another process during the import; left it as it is: check the contract in ordo",
			c.ContractNo))
	}

	for _, d := range plan.updates {
		i := plan.rowOf[d.row.ID]
		updated, err := store.UpdateUnstartedContract(ctx, tx, d.contract, d.instalments)
		if err != nil {
			return err
		}
		if updated {
			marks := signedMarks([]store.Contract{*d.contract}, map[string]bool{d.contract.ContractNo: true})
			if err := store.ReplaceSignedMark(ctx, tx, marks[0]); err != nil {
				return err
			}
			result.contracts.Updated++
			plan.rowOutcome[i] = max(plan.rowOutcome[i], outcomeUpdated)
			continue
		}
		result.contracts.NotApplied++
		result.issues.warn(FilePipeline, d.row.Line, "opportunity_id", d.row.ID, ActionKept, fmt.Sprintf(
			"the CRM changed contract %s, but its chain started or its state changed during the import; did not apply the change: change the contract in ordo or cancel it",
			d.contract.ContractNo))
	}

	if err := store.UpsertLeads(ctx, tx, plan.datedLeads, true); err != nil {
		return err
	}
	if err := store.UpsertLeads(ctx, tx, plan.undatedLeads, false); err != nil {
		return err
	}
	closed, err := store.CloseLeads(ctx, tx, plan.closingIDs, a.opts.Now)
	if err != nil {
		return err
	}
	result.leads.Closed += len(closed)
	for _, id := range closed {
		i := plan.rowOf[id]
		plan.rowOutcome[i] = max(plan.rowOutcome[i], outcomeUpdated)
	}
	return nil
}

// signedMarks returns the "signed" marks of the inserted contracts. An
// imported deal was marked signed on its close date, which the export
// gives without a time of day, so the signing verification counts it only
// against deals closed on the same day, never against live contracts.
func signedMarks(contracts []store.Contract, inserted map[string]bool) []store.SignedMark {
	marks := make([]store.SignedMark, 0, len(inserted))
	for _, c := range contracts {
		if !inserted[c.ContractNo] {
			continue
		}
		marks = append(marks, store.SignedMark{
			ContractNo: c.ContractNo, Customer: c.CustomerNo, AccountName: c.AccountName,
			Rep: c.SalesAgent, Source: store.SourceCRMImport, MarkedAt: c.SignedOn,
		})
	}
	return marks
}

// contractChange decides what happens to a Won deal whose contract is
// already stored, and reports whether the stored contract is to be
// rewritten. Only an imported contract that is still signed and whose
// workflow has not started is rewritten. Once the workflow runs, ordo and
// the outside systems hold documents made from the old values, so a
// silent change would put them out of step.
func (a *applier) contractChange(d *deal, stored *store.ContractImportState, result *batchResult) bool {
	line := d.row.Line
	switch {
	case stored.ContractNo != d.contract.ContractNo:
		result.contracts.NotApplied++
		result.issues.warn(FilePipeline, line, "opportunity_id", d.row.ID, ActionKept, fmt.Sprintf(
			"opportunity already has contract %s from source %s; created no second contract %s: check which contract is right",
			stored.ContractNo, stored.Source, d.contract.ContractNo))
		return false
	case stored.ContentHash == d.contract.ContentHash:
		result.contracts.Unchanged++
		return false
	case stored.Source != store.SourceCRMImport:
		result.contracts.NotApplied++
		result.issues.warn(FilePipeline, line, "opportunity_id", d.row.ID, ActionKept, fmt.Sprintf(
			"contract %s came from source %s, not from a CRM import; did not apply the CRM's values to it: change the contract in ordo if they are right",
			stored.ContractNo, stored.Source))
		return false
	case stored.WorkflowStartedAt != nil || stored.State != store.ContractSigned:
		result.contracts.NotApplied++
		started := "its chain has not started"
		if stored.WorkflowStartedAt != nil {
			started = "its chain started at " + stored.WorkflowStartedAt.UTC().Format(time.RFC3339)
		}
		result.issues.warn(FilePipeline, line, "opportunity_id", d.row.ID, ActionKept, fmt.Sprintf(
			"the CRM row of contract %s changed, but the contract is already in progress (state %s, %s); did not apply the change: change the contract in ordo or cancel it",
			stored.ContractNo, stored.State, started))
		return false
	}
	return true
}

// record writes the issues and the summary of the run.
func (a *applier) record(ctx context.Context, runID string, summaryJSON string, status string, finishedAt time.Time) error {
	issues := make([]store.ImportIssue, len(a.summary.Issues))
	for i, issue := range a.summary.Issues {
		issues[i] = store.ImportIssue{
			RunID:    runID,
			File:     issue.File,
			Line:     issue.Line,
			Column:   issue.Column,
			Value:    issue.Value,
			Severity: string(issue.Severity),
			Action:   string(issue.Action),
			Message:  issue.Message,
		}
	}
	a.opts.report(Progress{Phase: PhaseRecord, Done: 0, Total: len(issues)})
	err := a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.InsertImportIssues(ctx, tx, issues); err != nil {
			return err
		}
		return store.FinishImportRun(ctx, tx, runID, status, summaryJSON, finishedAt)
	})
	if err != nil {
		return err
	}
	a.opts.report(Progress{Phase: PhaseRecord, Done: len(issues), Total: len(issues)})
	return nil
}
