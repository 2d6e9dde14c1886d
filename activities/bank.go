package activities

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/matching"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// PaymentSignalName and PaymentSignal mirror the contract workflow's
// payment signal; they live here so activities need not import workflows.
const PaymentSignalName = "payment"

// PaymentSignal is the payload of the contract workflow's payment signal.
type PaymentSignal struct {
	AllocationID string          `json:"allocation_id"`
	LineID       string          `json:"line_id"`
	Amount       decimal.Decimal `json:"amount"`
	BusinessDate string          `json:"business_date"`
}

// BankActivities read the bank statement, match receipts to contracts and
// hand the matches to the contract workflows.
type BankActivities struct {
	Bank     connectors.Bank
	Store    *store.Store
	Temporal client.Client
	// AccountNo names the statement's cursor.
	AccountNo string
	PageSize  int
	// ContractPattern finds contract numbers in remarks; nil uses the
	// default CT-… pattern.
	ContractPattern *regexp.Regexp
	Logger          *logrus.Logger
}

// SyncResult counts what one page of the statement brought.
type SyncResult struct {
	Fetched   int  `json:"fetched"`
	New       int  `json:"new"`
	Matched   int  `json:"matched"`
	Unmatched int  `json:"unmatched"`
	Ignored   int  `json:"ignored"`
	More      bool `json:"more"`
}

// ReconcileResult counts what one reconciliation activity did.
type ReconcileResult struct {
	Pages     int  `json:"pages"`
	New       int  `json:"new"`
	Matched   int  `json:"matched"`
	Unmatched int  `json:"unmatched"`
	Delivered int  `json:"delivered"`
	CaughtUp  bool `json:"caught_up"`
}

// reconcileBudget bounds one Reconcile run, so the workflow records
// progress regularly even while the bank keeps sending lines.
const reconcileBudget = 20 * time.Second

// Reconcile reads statement pages, matches them and hands the matches to
// the contract workflows, page after page, until it has caught up with the
// bank or its time budget is spent. Running the loop inside one activity
// keeps a busy statement from waiting on workflow round trips between
// pages; each page is its own transaction, so a crash repeats at most the
// page it was in.
func (a *BankActivities) Reconcile(ctx context.Context) (ReconcileResult, error) {
	var result ReconcileResult
	deadline := time.Now().Add(reconcileBudget)
	for time.Now().Before(deadline) {
		synced, err := a.SyncBankLines(ctx)
		if err != nil {
			return result, err
		}
		delivered, err := a.DeliverAllocations(ctx)
		if err != nil {
			return result, err
		}
		if synced.Fetched > 0 {
			result.Pages++
		}
		result.New += synced.New
		result.Matched += synced.Matched
		result.Unmatched += synced.Unmatched
		result.Delivered += delivered.Delivered
		activity.RecordHeartbeat(ctx, result)
		if !synced.More && !delivered.More {
			result.CaughtUp = true
			return result, nil
		}
	}
	return result, nil
}

// SyncBankLines reads the next page of the statement, stores new lines,
// matches them and advances the cursor, all in one transaction: a crash
// before the commit reads the same page again, and lines already stored
// are skipped, so no receipt is booked twice.
func (a *BankActivities) SyncBankLines(ctx context.Context) (SyncResult, error) {
	cursorName := "bank:" + a.AccountNo
	cursor, err := a.Store.GetCursor(ctx, cursorName)
	if err != nil {
		return SyncResult{}, err
	}
	lines, next, err := a.Bank.ListLines(ctx, cursor, a.PageSize)
	if err != nil {
		return SyncResult{}, classify("read bank statement", err)
	}
	// A bank may cap the page below the requested size, so any non-empty
	// page means the next one may have more.
	result := SyncResult{Fetched: len(lines), More: len(lines) > 0 && next != cursor}
	if len(lines) == 0 {
		return result, nil
	}

	fetched := time.Now().UTC()
	rows := make([]store.BankLine, 0, len(lines))
	for _, l := range lines {
		rows = append(rows, store.BankLine{
			LineID: l.LineID, BusinessDate: l.BusinessDate, Amount: l.Amount, AmountText: l.AmountText,
			Currency: l.Currency, PayerName: l.PayerName, PayerAccount: l.PayerAccount, Remark: l.Remark,
			Status: store.LineNew, AllocatedAmount: decimal.Zero, FetchedAt: fetched, UpdatedAt: fetched,
		})
	}

	err = a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := store.InsertNewBankLines(ctx, tx, rows)
		if err != nil {
			return err
		}
		result.New = len(fresh)
		if len(fresh) > 0 {
			if err := a.match(ctx, tx, fresh, &result); err != nil {
				return err
			}
		}
		return store.SetCursor(ctx, tx, cursorName, next)
	})
	if err != nil {
		return SyncResult{}, fmt.Errorf("store bank lines after cursor %q: %w", cursor, err)
	}
	if result.Unmatched > 0 {
		a.Logger.WithFields(logrus.Fields{logging.KeyCount: result.Unmatched}).Warn("bank lines need a person to match them")
	}
	return result, nil
}

func (a *BankActivities) match(ctx context.Context, tx bun.Tx, lines []store.BankLine, result *SyncResult) error {
	var payers, numbers []string
	for _, line := range lines {
		payers = append(payers, line.PayerName)
		numbers = append(numbers, matching.ContractNumbers(line.Remark, a.ContractPattern)...)
	}
	open, err := store.OpenBalances(ctx, tx, payers, numbers)
	if err != nil {
		return err
	}
	balances := make([]*matching.Balance, 0, len(open))
	known := make(map[string]bool, len(open))
	for _, b := range open {
		balances = append(balances, &matching.Balance{
			ContractNo: b.ContractNo, AccountName: b.AccountName, SignedOn: b.SignedOn,
			Total: b.Amount, Allocated: b.Allocated, Instalments: b.Instalments,
		})
		known[b.ContractNo] = true
	}
	// Remarks may name contracts that are closed already; they join the
	// book fully paid, so only a remark directs money to them.
	var named []string
	for _, no := range numbers {
		if !known[no] {
			known[no] = true
			named = append(named, no)
		}
	}
	closed, err := store.ContractsByNumber(ctx, tx, named)
	if err != nil {
		return err
	}
	for _, c := range closed {
		balances = append(balances, &matching.Balance{
			ContractNo: c.ContractNo, AccountName: c.AccountName, SignedOn: c.SignedOn,
			Total: c.Amount, Allocated: c.Amount,
		})
	}
	book := matching.NewBook(balances, a.ContractPattern)
	created := store.Now()

	for _, line := range lines {
		decision := book.Match(matching.Line{LineID: line.LineID, Amount: line.Amount, PayerName: line.PayerName, Remark: line.Remark})
		switch decision.Outcome {
		case matching.OutcomeIgnored:
			result.Ignored++
			if err := store.SetLineStatus(ctx, tx, line.LineID, store.LineIgnored, decimal.Zero, decision.Note); err != nil {
				return err
			}
		case matching.OutcomeUnmatched:
			result.Unmatched++
			if err := store.SetLineStatus(ctx, tx, line.LineID, store.LineUnmatched, decimal.Zero, decision.Note); err != nil {
				return err
			}
			if _, err := store.AddAttention(ctx, tx, &store.AttentionItem{
				Kind: store.AttentionUnmatchedLine, Reference: line.LineID,
				Message: fmt.Sprintf("bank line %s of %s from %s (remark %q) matches no contract: %s. Assign it with: ordo receipt assign %s CONTRACT_NO",
					line.LineID, line.AmountText, line.PayerName, line.Remark, decision.Note, line.LineID),
				Amount: decimal.NullDecimal{Decimal: line.Amount, Valid: true},
			}); err != nil {
				return err
			}
		default:
			result.Matched++
			allocations := make([]store.Allocation, 0, len(decision.Allocations))
			total := decimal.Zero
			for _, m := range decision.Allocations {
				allocations = append(allocations, store.Allocation{
					ID: line.LineID + "/" + m.ContractNo, LineID: line.LineID, ContractNo: m.ContractNo,
					Amount: m.Amount, Method: m.Method, CreatedBy: "matcher", CreatedAt: created,
				})
				total = total.Add(m.Amount)
			}
			if err := store.InsertAllocations(ctx, tx, allocations); err != nil {
				return err
			}
			if err := store.SetLineStatus(ctx, tx, line.LineID, store.LineMatched, total, decision.Note); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeliverResult counts allocations handed to workflows.
type DeliverResult struct {
	Delivered     int  `json:"delivered"`
	Undeliverable int  `json:"undeliverable"`
	Waiting       int  `json:"waiting"`
	More          bool `json:"more"`
}

// deliverBatch bounds one activity run; the workflow loops while More.
const deliverBatch = 500

// DeliverAllocations signals undelivered allocations to their contract
// workflows and marks them delivered. The workflow ignores an allocation
// id it has seen, so delivering twice after a crash is harmless.
func (a *BankActivities) DeliverAllocations(ctx context.Context) (DeliverResult, error) {
	pending, err := a.Store.UndeliveredAllocations(ctx, deliverBatch)
	if err != nil {
		return DeliverResult{}, err
	}
	result := DeliverResult{More: len(pending) == deliverBatch}

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, 16)
	)
	for _, alloc := range pending {
		wg.Add(1)
		slots <- struct{}{}
		go func(alloc store.Allocation) {
			defer wg.Done()
			defer func() { <-slots }()
			outcome, err := a.deliver(ctx, alloc)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case outcome == deliveredOutcome:
				result.Delivered++
			case outcome == undeliverableOutcome:
				result.Undeliverable++
			case outcome == unassignedOutcome:
			default:
				result.Waiting++
			}
		}(alloc)
	}
	wg.Wait()
	if firstErr != nil {
		return result, firstErr
	}
	return result, nil
}

const (
	deliveredOutcome = iota
	undeliverableOutcome
	waitingOutcome
	// unassignedOutcome is an allocation deleted by a person after the
	// batch was read. It is not delivered and not counted.
	unassignedOutcome
)

func (a *BankActivities) deliver(ctx context.Context, alloc store.Allocation) (int, error) {
	line, err := store.GetBankLine(ctx, a.Store.DB, alloc.LineID)
	if err != nil {
		return 0, err
	}
	// A person may have unassigned the line since the batch was read. The
	// check and the signal are not one transaction, so an unassignment in
	// between still reaches the chain.
	// NOTE: that window is one round trip to the database wide.
	exists, err := store.AllocationExists(ctx, a.Store.DB, alloc.ID)
	if err != nil {
		return 0, err
	}
	if !exists {
		return unassignedOutcome, nil
	}
	signal := PaymentSignal{AllocationID: alloc.ID, LineID: alloc.LineID, Amount: alloc.Amount, BusinessDate: line.BusinessDate}
	workflowID := numbering.ContractWorkflowID(alloc.ContractNo)
	err = a.Temporal.SignalWorkflow(ctx, workflowID, "", PaymentSignalName, signal)
	if err == nil {
		return deliveredOutcome, a.Store.MarkAllocationDelivered(ctx, alloc.ID, time.Now())
	}
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return 0, fmt.Errorf("signal payment %s to %s: %w", alloc.ID, workflowID, err)
	}

	contract, cerr := a.Store.GetContract(ctx, alloc.ContractNo)
	if cerr != nil {
		return 0, cerr
	}
	if contract.WorkflowStartedAt == nil {
		// The chain has not started yet; deliver on a later run.
		return waitingOutcome, nil
	}
	_, aerr := store.AddAttention(ctx, a.Store.DB, &store.AttentionItem{
		Kind: store.AttentionUndeliverable, Reference: alloc.ID, ContractNo: alloc.ContractNo,
		Message: fmt.Sprintf("payment %s of %s arrived after contract %s ended (%s): refund it or apply it to another contract",
			alloc.LineID, alloc.Amount.StringFixed(2), alloc.ContractNo, strings.TrimSpace(contract.State)),
		Amount: decimal.NullDecimal{Decimal: alloc.Amount, Valid: true},
	})
	if aerr != nil {
		return 0, aerr
	}
	a.Logger.WithFields(logrus.Fields{
		logging.KeyContractNo: alloc.ContractNo, logging.KeyReceiptID: alloc.LineID,
	}).Warn("payment arrived after the contract's chain ended")
	return undeliverableOutcome, a.Store.MarkAllocationDelivered(ctx, alloc.ID, time.Now())
}
