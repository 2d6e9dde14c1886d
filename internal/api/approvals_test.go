package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// approvalRules routes up to 30,000 CNY to the supervisor and larger
// amounts also to the sales director, and holds a chain when three reps
// mark a customer signed within 24 hours.
func approvalRules() rules.Document {
	upTo := decimal.NewFromInt(30000)
	supervisor := rules.Level{Role: rules.RoleSupervisor, Timeout: rules.Duration(24 * time.Hour), EscalateTo: rules.RoleSalesDirector}
	return rules.Document{
		Approvals: rules.Approvals{Currency: "CNY", Routes: []rules.Route{
			{UpTo: &upTo, Levels: []rules.Level{supervisor}},
			{Levels: []rules.Level{supervisor, {Role: rules.RoleSalesDirector, Timeout: rules.Duration(48 * time.Hour), EscalateTo: rules.RoleCOO}}},
		}},
		Verification: rules.Verification{DistinctReps: 3, Window: rules.Duration(24 * time.Hour), VerifierRole: rules.RoleSupervisor},
		People: rules.People{EmailDomain: "example.com", Roles: map[string]rules.Person{
			rules.RoleSalesDirector: {Name: "Cara Losch"}, rules.RoleCOO: {Name: "Rosalina Dieter"},
		}},
	}
}

// workerEnv is a worker on a task queue of its own that runs the real
// approval workflow and contract chain with their real store activities.
// The rules and task activities, built elsewhere, and the outside systems
// are fakes.
type workerEnv struct {
	erp *fakeERP

	mu     sync.Mutex
	opened []activities.TaskRequest
	closed []activities.CloseTasksRequest
}

func (e *workerEnv) tasks() []activities.TaskRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]activities.TaskRequest(nil), e.opened...)
}

// newWorkerServer starts an API test server whose workflows run on a
// worker of their own task queue, over seeded master data.
func newWorkerServer(t *testing.T) (*testServer, *workerEnv) {
	t.Helper()
	return newWorkerServerWith(t, approvalRules())
}

// newWorkerServerWith is newWorkerServer under the rules document doc.
func newWorkerServerWith(t *testing.T, doc rules.Document) (*testServer, *workerEnv) {
	t.Helper()
	queue := "api-test-" + strings.ToLower(strings.TrimPrefix(uniqueNo(t), "CT-"))
	ts := newTestServer(t, "sqlite", func(s *Server) {
		s.Config.TaskQueue = queue
		s.Config.Chain.ProductionPollInitial = 200 * time.Millisecond
		s.Config.Chain.RetryMaxInterval = time.Second
	})
	seedMasterData(t, ts.store)
	env := &workerEnv{erp: &fakeERP{}}
	cfg := ts.server.Config

	w := worker.New(temporalClient, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Approval, workflow.RegisterOptions{Name: workflows.ApprovalName})
	w.RegisterWorkflowWithOptions(workflows.ContractToCash, workflow.RegisterOptions{Name: workflows.ContractToCashName})
	w.RegisterActivity(&activities.ApprovalActivities{Store: ts.store, ERP: env.erp, PriceLists: env.erp, CNYRate: cfg.Invoice.RateFor})
	w.RegisterActivity(&activities.VerificationActivities{Store: ts.store, Rules: fixedRules(doc)})
	w.RegisterActivity(&activities.ContractActivities{
		ERP: env.erp, EInvoice: fakeInvoices{}, Store: ts.store, Logger: logging.Discard(),
		Invoicing: activities.InvoiceRules{Tax: cfg.Tax, Invoice: cfg.Invoice},
	})
	w.RegisterActivityWithOptions(fixedRules(doc).Rules, activity.RegisterOptions{Name: "Rules"})
	w.RegisterActivityWithOptions(func(_ context.Context, in activities.DeadlineRequest) (activities.DeadlineResult, error) {
		return activities.DeadlineResult{Deadline: in.Start.Add(in.Within.D()), Now: in.Start}, nil
	}, activity.RegisterOptions{Name: "Deadline"})
	w.RegisterActivityWithOptions(func(_ context.Context, in activities.TaskRequest) (activities.TaskResult, error) {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.opened = append(env.opened, in)
		return activities.TaskResult{TaskID: int64(len(env.opened)), Created: true}, nil
	}, activity.RegisterOptions{Name: "OpenTask"})
	w.RegisterActivityWithOptions(func(_ context.Context, in activities.CloseTasksRequest) error {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.closed = append(env.closed, in)
		return nil
	}, activity.RegisterOptions{Name: "CloseTasks"})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return ts, env
}

// fixedRules is the rules source of the tests: one document, version 3.
type fixedRules rules.Document

func (r fixedRules) Rules(context.Context, activities.RulesRequest) (activities.RulesVersion, error) {
	return activities.RulesVersion{Version: 3, Document: rules.Document(r)}, nil
}

// seedMasterData stores the accounts, products and reps the tests use.
func seedMasterData(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	var accounts []store.Account
	for _, name := range []string{"Cancity", "Betasoloin"} {
		accounts = append(accounts, store.Account{Name: name, CustomerNo: numbering.CustomerNo(name), ContentHash: "seed", CreatedAt: now, UpdatedAt: now})
	}
	products := []store.Product{{Name: "GTX Basic", ProductNo: numbering.ProductNo("GTX Basic"), ContentHash: "seed", CreatedAt: now, UpdatedAt: now}}
	var agents []store.SalesAgent
	for _, name := range []string{"Moses Frase", "Anna Snelling", "Versie Hillebrand"} {
		agents = append(agents, store.SalesAgent{Name: name, Manager: "Dustin Brinkmann", ContentHash: "seed", CreatedAt: now, UpdatedAt: now})
	}
	if err := store.UpsertAccounts(ctx, st.DB, accounts); err != nil {
		t.Fatalf("seed accounts: %v", err)
	}
	if err := store.UpsertProducts(ctx, st.DB, products); err != nil {
		t.Fatalf("seed products: %v", err)
	}
	if err := store.UpsertSalesAgents(ctx, st.DB, agents); err != nil {
		t.Fatalf("seed sales team: %v", err)
	}
}

// fakeERP accepts every document and counts price lists by number.
type fakeERP struct {
	mu         sync.Mutex
	priceLists map[string]int
}

func (f *fakeERP) doc(kind connectors.DocumentKind, number string) connectors.Document {
	return connectors.Document{Kind: kind, Number: number, ID: "1", Status: "C", Created: true}
}

func (f *fakeERP) UpsertCustomer(_ context.Context, c connectors.Customer) (connectors.Document, error) {
	return f.doc(connectors.KindCustomer, c.Number), nil
}
func (f *fakeERP) EnsureSalesOrder(_ context.Context, o connectors.SalesOrder) (connectors.Document, error) {
	return f.doc(connectors.KindSalesOrder, o.Number), nil
}
func (f *fakeERP) EnsureProductionOrder(_ context.Context, o connectors.ProductionOrder) (connectors.Document, error) {
	return f.doc(connectors.KindProductionOrder, o.Number), nil
}
func (f *fakeERP) GetProductionStatus(_ context.Context, number string) (connectors.ProductionStatus, error) {
	return connectors.ProductionStatus{Number: number, Status: "5", Completed: true, CompletedAt: time.Now().UTC()}, nil
}
func (f *fakeERP) EnsureDelivery(_ context.Context, d connectors.Delivery) (connectors.Document, error) {
	return f.doc(connectors.KindDelivery, d.Number), nil
}
func (f *fakeERP) EnsureReceivable(_ context.Context, r connectors.Receivable) (connectors.Document, error) {
	return f.doc(connectors.KindReceivable, r.Number), nil
}
func (f *fakeERP) EnsureWriteOff(_ context.Context, w connectors.WriteOff) (connectors.Document, error) {
	return f.doc(connectors.KindWriteOff, w.Number), nil
}
func (f *fakeERP) CancelDocument(context.Context, connectors.DocumentKind, string) error { return nil }

func (f *fakeERP) EnsurePriceChange(_ context.Context, c connectors.PriceChange) (connectors.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.priceLists == nil {
		f.priceLists = map[string]int{}
	}
	f.priceLists[c.Number]++
	return f.doc(connectors.KindPriceList, c.Number), nil
}

func (f *fakeERP) priceListCount(number string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.priceLists[number]
}

// fakeInvoices issues every invoice at once.
type fakeInvoices struct{}

func (fakeInvoices) Issue(_ context.Context, r connectors.InvoiceRequest) (connectors.Invoice, error) {
	return connectors.Invoice{SerialNo: r.SerialNo, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000001",
		IssuedAt: time.Now().UTC(), TotalInclusive: r.TotalInclusive}, nil
}
func (fakeInvoices) Get(_ context.Context, serial string) (connectors.Invoice, error) {
	return connectors.Invoice{SerialNo: serial, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000001"}, nil
}
func (fakeInvoices) RedLetter(_ context.Context, r connectors.RedLetterRequest) (connectors.Invoice, error) {
	return connectors.Invoice{SerialNo: r.SerialNo, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000002"}, nil
}

// uniqueApprovalID returns an approval ID no other test uses, because all
// tests share one Temporal namespace.
func uniqueApprovalID(t *testing.T) string {
	t.Helper()
	return "AP-" + strings.TrimPrefix(uniqueNo(t), "CT-")
}

func discountRequest(id, amount string) ApprovalRequest {
	return ApprovalRequest{
		ID: id, Kind: store.ApprovalDiscount, Customer: "Cancity", RequestedBy: "Moses Frase",
		Amount: decimal.RequireFromString(amount), Currency: "CNY", Reason: "competitor offer",
	}
}

// waitFor polls fn every 50 ms until it returns true or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// showApprovalView reads GET /api/v1/approvals/{id}.
func (ts *testServer) showApprovalView(id string) ApprovalView {
	ts.t.Helper()
	resp := ts.do(http.MethodGet, "/api/v1/approvals/"+id, nil, nil)
	if resp.status != http.StatusOK {
		ts.t.Fatalf("GET approval %s: HTTP %d %s", id, resp.status, resp.body)
	}
	var view ApprovalView
	resp.decode(ts.t, &view)
	return view
}

// waitForDeciders waits until the approval's workflow waits for a level.
func (ts *testServer) waitForDeciders(id string, level int) {
	ts.t.Helper()
	waitFor(ts.t, 15*time.Second, fmt.Sprintf("approval %s waits for level %d", id, level), func() bool {
		view := ts.showApprovalView(id)
		return view.Live != nil && view.Live.Level == level && len(view.Live.Deciders) > 0
	})
}

func (ts *testServer) waitForApprovalState(id, state string) store.Approval {
	ts.t.Helper()
	var approval store.Approval
	waitFor(ts.t, 15*time.Second, "approval "+id+" is "+state, func() bool {
		approval = *ts.showApprovalView(id).Approval
		return approval.State == state
	})
	return approval
}

func decide(decision, by string) DecideRequest {
	return DecideRequest{Decision: decision, By: by, Comment: "via the API test"}
}

func TestApprovalRequestValidation(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	seedMasterData(t, ts.store)
	contract := seedContract(t, ts, uniqueNo(t), store.ContractSigned, false)

	priceChange := func(change func(*ApprovalRequest)) ApprovalRequest {
		req := discountRequest("AP-V1", "100")
		req.Kind, req.Product = store.ApprovalPriceChange, "GTX Basic"
		price := decimal.RequireFromString("480.50")
		req.NewUnitPrice = &price
		change(&req)
		return req
	}
	discount := func(change func(*ApprovalRequest)) ApprovalRequest {
		req := discountRequest("AP-V1", "100")
		change(&req)
		return req
	}
	cases := []struct {
		name    string
		request ApprovalRequest
		message string
	}{
		{"no kind", discount(func(r *ApprovalRequest) { r.Kind = "" }), "kind: is required"},
		{"unknown kind", discount(func(r *ApprovalRequest) { r.Kind = "rebate" }), `kind: "rebate" is not discount, price_change or renewal`},
		{"no reason", discount(func(r *ApprovalRequest) { r.Reason = " " }), "reason: is required"},
		{"zero amount", discount(func(r *ApprovalRequest) { r.Amount = decimal.Zero }), "amount: 0 must be above 0"},
		{"fractions of a fen", discount(func(r *ApprovalRequest) { r.Amount = decimal.RequireFromString("10.001") }), "amount: 10.001 has more than two decimals"},
		{"currency without a rate", discount(func(r *ApprovalRequest) { r.Currency = "JPY" }), "currency: no JPY exchange rate in force"},
		{"unknown customer", discount(func(r *ApprovalRequest) { r.Customer = "Nobody Ltd" }), `customer: no account named "Nobody Ltd"`},
		{"contract of another customer", discount(func(r *ApprovalRequest) { r.ContractNo = contract.ContractNo }),
			"contract_no: contract " + contract.ContractNo + " belongs to Acme Corporation, not to Cancity"},
		{"unknown contract", discount(func(r *ApprovalRequest) { r.ContractNo = "CT-NONE" }), "contract_no: contract CT-NONE does not exist"},
		{"unknown rep", discount(func(r *ApprovalRequest) { r.RequestedBy = "Zed" }), `requested_by: "Zed" is not a sales rep`},
		{"bad id", discount(func(r *ApprovalRequest) { r.ID = "AP 1/2" }), `id: "AP 1/2" must be at most 40 letters`},
		{"discount with a price", discount(func(r *ApprovalRequest) { p := decimal.NewFromInt(5); r.NewUnitPrice = &p }),
			"new_unit_price: only a price_change carries a new unit price"},
		{"price change without a price", priceChange(func(r *ApprovalRequest) { r.NewUnitPrice = nil }), "new_unit_price: a price change needs the new unit price"},
		{"price change without a product", priceChange(func(r *ApprovalRequest) { r.Product = "" }), "product: is required for a price change"},
		{"unknown product", priceChange(func(r *ApprovalRequest) { r.Product = "GTX Ultra" }), `product: "GTX Ultra" is not in the product catalogue`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.postJSON("/api/v1/approvals", tc.request).expectError(t, http.StatusUnprocessableEntity, "invalid_approval", tc.message)
		})
	}

	resp := ts.do(http.MethodPost, "/api/v1/approvals", []byte(`{"kind":"discount","amount":"ten"}`), http.Header{"Content-Type": {"application/json"}})
	resp.expectError(t, http.StatusBadRequest, "invalid_argument", "amount")
	n, err := ts.store.DB.NewSelect().Model((*store.Approval)(nil)).Count(context.Background())
	if err != nil || n != 0 {
		t.Errorf("approvals stored after rejected requests = %d, %v; want none", n, err)
	}
}

func TestApprovalDecidedThroughAPI(t *testing.T) {
	ts, env := newWorkerServer(t)
	id := uniqueApprovalID(t)
	t.Cleanup(func() { terminateWorkflow(t, numbering.ApprovalWorkflowID(id)) })

	resp := ts.postJSON("/api/v1/approvals", discountRequest(id, "45000"))
	if resp.status != http.StatusAccepted {
		t.Fatalf("request: HTTP %d %s", resp.status, resp.body)
	}
	ts.waitForDeciders(id, 1)

	ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Cara Losch")).expectError(t, http.StatusForbidden, "not_allowed",
		"Cara Losch may not decide approval "+id+": level 1 (supervisor) can be decided only by Dustin Brinkmann")
	ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("maybe", "Dustin Brinkmann")).expectError(t, http.StatusUnprocessableEntity,
		"invalid_decision", `decision: "maybe" is not approve or reject`)

	resp = ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Dustin Brinkmann"))
	var first workflows.DecideResult
	resp.decode(t, &first)
	if resp.status != http.StatusOK || first.State != store.ApprovalPending || first.NextApprover != "Cara Losch" {
		t.Fatalf("supervisor's decision: HTTP %d %+v, want pending for Cara Losch", resp.status, first)
	}
	ts.waitForDeciders(id, 2)
	resp = ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Cara Losch"))
	var second workflows.DecideResult
	resp.decode(t, &second)
	if resp.status != http.StatusOK || second.State != store.ApprovalApproved {
		t.Fatalf("director's decision: HTTP %d %+v, want approved", resp.status, second)
	}

	approval := ts.waitForApprovalState(id, store.ApprovalApproved)
	if len(approval.Decisions) != 2 || approval.Decisions[1].By != "Cara Losch" || approval.RulesVersion != 3 ||
		approval.Route != "above 30000 CNY: supervisor then sales_director" || approval.FinishedAt == nil {
		t.Errorf("stored approval = %+v, want both decisions, rules version 3 and the route", approval)
	}
	ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("reject", "Cara Losch")).expectError(t, http.StatusConflict, "conflict",
		"approval "+id+" is already approved")

	var list ApprovalList
	ts.do(http.MethodGet, "/api/v1/approvals?state=approved", nil, nil).decode(t, &list)
	if len(list.Approvals) != 1 || list.Approvals[0].ID != id {
		t.Errorf("approved list = %+v, want %s", list.Approvals, id)
	}
	tasks := env.tasks()
	if len(tasks) != 2 || tasks[0].Key != numbering.ApprovalWorkflowID(id)+"/level-1/approver" || tasks[1].Assignee != "Cara Losch" {
		t.Errorf("tasks = %+v, want one per level", tasks)
	}

	again := ts.postJSON("/api/v1/approvals", discountRequest(id, "45000"))
	var answer ApprovalAnswer
	again.decode(t, &answer)
	if again.status != http.StatusOK || answer.Status != "already_recorded" {
		t.Errorf("repeated request: HTTP %d %+v, want already_recorded", again.status, answer)
	}
	ts.postJSON("/api/v1/approvals", discountRequest(id, "46000")).expectError(t, http.StatusConflict, "approval_conflict",
		`amount "45000.00 CNY", not "46000.00 CNY"`)
}

func TestApprovalRenewalFrozenThroughAPI(t *testing.T) {
	ts, _ := newWorkerServer(t)
	id := uniqueApprovalID(t)
	t.Cleanup(func() { terminateWorkflow(t, numbering.ApprovalWorkflowID(id)) })
	ctx := context.Background()
	ticket := &store.Ticket{ID: "T-7-" + id, Customer: "Cancity", CustomerNo: "C-CANCITY", Title: "export to XLSX",
		From: "Anna Snelling", State: "open", CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if _, err := ts.store.DB.NewInsert().Model(ticket).Exec(ctx); err != nil {
		t.Fatalf("ticket: %v", err)
	}
	freeze := &store.CustomerFreeze{Customer: "Cancity", Reason: "feature request unanswered for 48 hours", TicketID: ticket.ID, FrozenAt: time.Now().UTC()}
	if _, err := store.FreezeRenewalApproval(ctx, ts.store.DB, freeze); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	request := discountRequest(id, "12000")
	request.Kind = store.ApprovalRenewal
	if resp := ts.postJSON("/api/v1/approvals", request); resp.status != http.StatusAccepted {
		t.Fatalf("request: HTTP %d %s", resp.status, resp.body)
	}
	ts.waitForDeciders(id, 1)

	ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Dustin Brinkmann")).expectError(t, http.StatusConflict, "frozen",
		"renewal approval of customer Cancity is frozen", "ticket T-7-"+id)

	if _, err := ts.store.DB.NewUpdate().Model((*store.CustomerFreeze)(nil)).Set("lifted_at = ?", time.Now().UTC()).Where("ticket_id = ?", ticket.ID).Exec(ctx); err != nil {
		t.Fatalf("lift: %v", err)
	}
	resp := ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Dustin Brinkmann"))
	if resp.status != http.StatusOK {
		t.Fatalf("approval after the lift: HTTP %d %s", resp.status, resp.body)
	}
	approval := ts.waitForApprovalState(id, store.ApprovalApproved)
	if len(approval.Decisions) != 1 {
		t.Errorf("decisions = %+v, want only the approval after the lift", approval.Decisions)
	}
}

func TestApprovalPriceChangeThroughAPI(t *testing.T) {
	ts, env := newWorkerServer(t)
	id := uniqueApprovalID(t)
	t.Cleanup(func() { terminateWorkflow(t, numbering.ApprovalWorkflowID(id)) })
	request := discountRequest(id, "8000")
	request.Kind, request.Product = store.ApprovalPriceChange, "GTX Basic"
	price := decimal.RequireFromString("480.50")
	request.NewUnitPrice = &price
	if resp := ts.postJSON("/api/v1/approvals", request); resp.status != http.StatusAccepted {
		t.Fatalf("request: HTTP %d %s", resp.status, resp.body)
	}
	ts.waitForDeciders(id, 1)
	if resp := ts.postJSON("/api/v1/approvals/"+id+"/decide", decide("approve", "Dustin Brinkmann")); resp.status != http.StatusOK {
		t.Fatalf("decide: HTTP %d %s", resp.status, resp.body)
	}
	var approval store.Approval
	waitFor(t, 15*time.Second, "price list recorded", func() bool {
		approval = *ts.showApprovalView(id).Approval
		return approval.ERPDocumentNo != ""
	})
	if approval.ERPDocumentNo != "PL-"+id || env.erp.priceListCount("PL-"+id) != 1 {
		t.Errorf("document %q written %d times, want PL-%s once", approval.ERPDocumentNo, env.erp.priceListCount("PL-"+id), id)
	}
	if !approval.NewUnitPrice.Decimal.Equal(price) || approval.ProductNo != numbering.ProductNo("GTX Basic") {
		t.Errorf("stored approval = %+v, want the product and the new price", approval)
	}
}
