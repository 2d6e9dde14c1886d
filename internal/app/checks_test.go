package app_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	kingdeeconnector "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/app"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/sqlitedb"
	"github.com/ordo-project/ordo/internal/store"
)

// getContract reads one contract through the API. live adds the
// workflow's own status, which costs a query to the workflow.
func getContract(t testing.TB, c *apiclient.Client, no string, live bool) api.ContractView {
	t.Helper()
	var view api.ContractView
	query := url.Values{"live": {fmt.Sprint(live)}}
	if err := c.Get(context.Background(), "/api/v1/contracts/"+no, query, &view); err != nil {
		t.Fatalf("read contract %s: %v", no, err)
	}
	return view
}

// waitForState polls the contract until it reaches want and returns it.
// It fails at once when the contract reaches another final state, and
// after timeout otherwise.
func waitForState(t testing.TB, c *apiclient.Client, no, want string, timeout time.Duration) api.ContractView {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		view := getContract(t, c, no, false)
		state := view.Contract.State
		if state == want {
			return view
		}
		if state != want && (state == store.ContractClosed || state == store.ContractCancelled) {
			t.Fatalf("contract %s ended %s, expected %s:\n%s", no, state, want, describeContract(view))
		}
		if time.Now().After(deadline) {
			t.Fatalf("contract %s is %s after %s, expected %s:\n%s", no, state, timeout, want, describeContract(view))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAllClosed waits until every contract of the stack is closed. On
// timeout it fails with the count per state and the first contracts that
// are not closed.
func waitAllClosed(t testing.TB, c *apiclient.Client, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		summary := getSummary(t, c)
		if closedCount(summary) == want && summary.Total == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d contracts closed after %s (by state: %s); first open ones:\n%s",
				closedCount(summary), want, timeout, formatCounts(summary), describeOpenContracts(t, c, 5))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func getSummary(t testing.TB, c *apiclient.Client) api.Summary {
	t.Helper()
	var summary api.Summary
	if err := c.Get(context.Background(), "/api/v1/summary", nil, &summary); err != nil {
		t.Fatalf("read summary: %v", err)
	}
	return summary
}

func stateCount(summary api.Summary, state string) int {
	for _, c := range summary.Contracts {
		if c.State == state {
			return c.Count
		}
	}
	return 0
}

func closedCount(summary api.Summary) int {
	return stateCount(summary, store.ContractClosed)
}

func formatCounts(summary api.Summary) string {
	parts := make([]string, 0, len(summary.Contracts))
	for _, c := range summary.Contracts {
		parts = append(parts, fmt.Sprintf("%s=%d", c.State, c.Count))
	}
	return strings.Join(parts, " ")
}

// describeOpenContracts describes up to limit contracts that are not
// closed, with their steps and open attention items.
func describeOpenContracts(t testing.TB, c *apiclient.Client, limit int) string {
	t.Helper()
	var out strings.Builder
	after := ""
	shown := 0
	for shown < limit {
		var page api.ContractList
		if err := c.Get(context.Background(), "/api/v1/contracts", url.Values{"limit": {"1000"}, "after": {after}}, &page); err != nil {
			return "(listing contracts failed: " + err.Error() + ")"
		}
		for _, contract := range page.Contracts {
			if contract.State == store.ContractClosed || shown >= limit {
				continue
			}
			shown++
			out.WriteString(describeContract(getContract(t, c, contract.ContractNo, true)))
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	return out.String()
}

// describeContract formats a contract's state, steps and attention items
// for a failure message.
func describeContract(view api.ContractView) string {
	var out strings.Builder
	c := view.Contract
	fmt.Fprintf(&out, "  %s %s (%s), paid %s of %s\n", c.ContractNo, c.State, c.StateReason, c.PaidAmount, c.Amount)
	for _, s := range view.Steps {
		fmt.Fprintf(&out, "    step %-24s %-8s %-22s %s\n", s.Step, s.State, s.ExternalNo, s.Detail)
	}
	for _, a := range view.Attention {
		status := "open"
		if a.ResolvedAt != nil {
			status = "resolved"
		}
		fmt.Fprintf(&out, "    attention %s (%s): %s\n", a.Kind, status, a.Message)
	}
	if view.Live != nil && view.Live.Parked != nil {
		fmt.Fprintf(&out, "    parked at %s: %s\n", view.Live.Parked.Step, view.Live.Parked.Error)
	}
	if view.LiveError != "" {
		fmt.Fprintf(&out, "    live status unavailable: %s\n", view.LiveError)
	}
	return out.String()
}

// stepsWithDocuments are the steps of a closed chain that record the
// number of an outside document.
var stepsWithDocuments = []string{
	activities.StepCustomer, activities.StepSalesOrder, activities.StepProductionOrder,
	activities.StepProduction, activities.StepDelivery, activities.StepReceivable,
	activities.StepInvoice, activities.StepWriteOff,
}

// checkClosedContract checks what ordo recorded for a closed contract:
// every step done, each outside document's number, and a write-off of the
// contract total.
func checkClosedContract(t testing.TB, view api.ContractView) {
	t.Helper()
	c := view.Contract
	if c.State != store.ContractClosed {
		t.Errorf("contract %s is %s, expected closed:\n%s", c.ContractNo, c.State, describeContract(view))
		return
	}
	steps := map[string]store.ContractStep{}
	for _, s := range view.Steps {
		steps[s.Step] = s
		if s.State != store.StepDone {
			t.Errorf("contract %s: step %s is %s, expected done (%s)", c.ContractNo, s.Step, s.State, s.Detail)
		}
	}
	for _, name := range append(stepsWithDocuments, activities.StepPayment, activities.StepClose) {
		if _, ok := steps[name]; !ok {
			t.Errorf("contract %s: step %s is not recorded", c.ContractNo, name)
		}
	}
	for _, name := range stepsWithDocuments {
		if s, ok := steps[name]; ok && s.ExternalNo == "" {
			t.Errorf("contract %s: step %s has no external number", c.ContractNo, name)
		}
	}
	expectedNumbers := map[string]string{
		activities.StepCustomer:        c.CustomerNo,
		activities.StepSalesOrder:      numbering.SalesOrderNo(c.ContractNo),
		activities.StepProductionOrder: numbering.ProductionOrderNo(c.ContractNo),
		activities.StepDelivery:        numbering.DeliveryNo(c.ContractNo),
		activities.StepReceivable:      numbering.ReceivableNo(c.ContractNo),
		activities.StepWriteOff:        numbering.WriteOffNo(c.ContractNo),
	}
	for step, number := range expectedNumbers {
		if s, ok := steps[step]; ok && s.ExternalNo != number {
			t.Errorf("contract %s: step %s has external number %q, expected %q", c.ContractNo, step, s.ExternalNo, number)
		}
	}
	writeOff := steps[activities.StepWriteOff]
	if !writeOff.Amount.Valid || !writeOff.Amount.Decimal.Equal(c.Amount) {
		t.Errorf("contract %s: write-off amount %s, expected the contract total %s", c.ContractNo, writeOff.Amount.Decimal, c.Amount)
	}
	if c.PaidAmount.LessThan(c.Amount) {
		t.Errorf("contract %s is closed with %s paid of %s", c.ContractNo, c.PaidAmount, c.Amount)
	}
	if c.ClosedAt == nil {
		t.Errorf("contract %s is closed without a closing time", c.ContractNo)
	}
}

// readLedger returns every entry of the simulators' ledger in the data
// dir. The simulators write the ledger in the transaction that creates each
// document, so a document exists exactly when its entry does.
func readLedger(t testing.TB, dataDir string) []simulators.LedgerEntry {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(dataDir, app.SimulatorsFile), 1)
	if err != nil {
		t.Fatalf("open the simulators' ledger: %v", err)
	}
	defer db.Close()
	var entries []simulators.LedgerEntry
	if err := db.NewSelect().Model(&entries).Order("id").Scan(context.Background()); err != nil {
		t.Fatalf("read the simulators' ledger: %v", err)
	}
	return entries
}

// ledgerIndex counts ledger entries per "system/kind" and contract number
// (the customer number for customers).
type ledgerIndex map[string]map[string]int

func indexLedger(entries []simulators.LedgerEntry) ledgerIndex {
	index := ledgerIndex{}
	for _, e := range entries {
		key := e.System + "/" + e.Kind
		if index[key] == nil {
			index[key] = map[string]int{}
		}
		index[key][e.ContractNo]++
	}
	return index
}

// documentsPerClosedChain are the ledger kinds a closed chain creates
// exactly once.
var documentsPerClosedChain = []string{
	"kingdee/sales_order", "kingdee/production_order", "kingdee/delivery",
	"kingdee/receivable", "kingdee/write_off", "einvoice/invoice",
}

// checkLedgerOnePerStep checks that the simulators hold exactly one
// document per step for every contract, one customer per customer number,
// at least one bank receipt per contract, no red invoice, and no document
// of any other contract.
func checkLedgerOnePerStep(t testing.TB, entries []simulators.LedgerEntry, contracts []string) {
	t.Helper()
	index := indexLedger(entries)
	want := map[string]bool{}
	for _, no := range contracts {
		want[no] = true
	}
	for _, kind := range documentsPerClosedChain {
		for _, no := range contracts {
			if n := index[kind][no]; n != 1 {
				t.Errorf("ledger has %d %s documents for contract %s, expected exactly 1", n, kind, no)
			}
		}
		for no := range index[kind] {
			if !want[no] {
				t.Errorf("ledger has a %s document for contract %s, which the test never created", kind, no)
			}
		}
	}
	for number, n := range index["kingdee/customer"] {
		if n != 1 {
			t.Errorf("ledger has %d customer documents numbered %s, expected 1", n, number)
		}
	}
	for _, no := range contracts {
		if index["bank/receipt"][no] == 0 {
			t.Errorf("ledger has no bank receipt for contract %s", no)
		}
	}
	if n := len(index["einvoice/red_invoice"]); n != 0 {
		t.Errorf("ledger has red invoices for %d contracts, expected none without a cancellation", n)
	}
}

// newERPClient returns a Kingdee connector logged in to the stack's
// simulator with ordo's own credentials.
func newERPClient(t testing.TB, cfg *config.Config) *kingdeeconnector.Client {
	t.Helper()
	password, err := cfg.ERP.Password.Resolve()
	if err != nil {
		t.Fatalf("resolve the ERP password: %v", err)
	}
	erp, err := kingdeeconnector.New(kingdeeconnector.Config{
		BaseURL: cfg.ERP.BaseURL, AccountID: cfg.ERP.AcctID, OrgNumber: cfg.ERP.OrgNumber,
		Username: cfg.ERP.User, Password: password, Logger: logging.Discard(),
	})
	if err != nil {
		t.Fatalf("create the Kingdee connector: %v", err)
	}
	return erp
}

// erpDocument reads header fields of one ERP document by number. found
// is false when the ERP has no such document.
func erpDocument(t testing.TB, erp *kingdeeconnector.Client, kind connectors.DocumentKind, number string, fields ...string) (values map[string]string, found bool) {
	t.Helper()
	formID, ok := kingdeeconnector.FormID(kind)
	if !ok {
		t.Fatalf("no Kingdee form for document kind %s", kind)
	}
	keys := append([]string{"FBillNo"}, fields...)
	rows, err := erp.QueryPage(context.Background(), kingdeeconnector.QueryRequest{
		FormID: formID, FieldKeys: keys, Filter: "FBillNo = '" + number + "'", Limit: 10,
	})
	if err != nil {
		t.Fatalf("query %s %s in the ERP: %v", formID, number, err)
	}
	if len(rows) == 0 {
		return nil, false
	}
	values = map[string]string{}
	for i, key := range keys {
		values[key] = fmt.Sprint(rows[0][i])
	}
	return values, true
}

// checkReceivableWrittenOff checks in the ERP that the contract's
// receivable is written off in full, by exactly the contract total.
func checkReceivableWrittenOff(t testing.TB, erp *kingdeeconnector.Client, contract *store.Contract) {
	t.Helper()
	number := numbering.ReceivableNo(contract.ContractNo)
	doc, found := erpDocument(t, erp, connectors.KindReceivable, number, "FWRITTENOFFSTATUS", "FWRITTENOFFAMOUNTFOR")
	if !found {
		t.Errorf("receivable %s of contract %s is not in the ERP", number, contract.ContractNo)
		return
	}
	if doc["FWRITTENOFFSTATUS"] != "C" {
		t.Errorf("receivable %s has write-off status %q, expected C (written off in full)", number, doc["FWRITTENOFFSTATUS"])
	}
	amount, err := decimal.NewFromString(doc["FWRITTENOFFAMOUNTFOR"])
	if err != nil || !amount.Equal(contract.Amount) {
		t.Errorf("receivable %s is written off by %q, expected the contract total %s", number, doc["FWRITTENOFFAMOUNTFOR"], contract.Amount)
	}
}

// sortedKeys returns the keys of m in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
