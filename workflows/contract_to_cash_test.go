package workflows

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/store"
)

var signedOn = time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)

func testInput() ContractToCashInput {
	return ContractToCashInput{
		ContractNo: "CT-TEST0001",
		Customer:   connectors.Customer{Number: "CUST-1", Name: "Cancity"},
		SalesAgent: "Moses Frase",
		SignedOn:   signedOn,
		Currency:   "USD",
		Product: ProductLine{
			Number: "MAT-1", Name: "GTX Plus Basic", Quantity: decimal.NewFromInt(1),
			UnitPrice: decimal.NewFromInt(1054), TaxRate: decimal.RequireFromString("0.13"),
			TaxCode: "1090511990000000000", InvoiceName: "计算机设备", Unit: "台",
		},
		Total: decimal.NewFromInt(1054),
		Plan: []Instalment{
			{Seq: 1, Label: "advance", Trigger: store.TriggerSigning, Amount: decimal.RequireFromString("316.2")},
			{Seq: 2, Label: "balance", Trigger: store.TriggerDelivery, Amount: decimal.RequireFromString("737.8")},
		},
		Invoice: InvoiceSettings{Kind: connectors.InvoiceKindOrdinary},
		Options: ChainOptions{
			ProductionPollInitial: 10 * time.Second,
			ProductionPollMax:     time.Hour,
			InvoicePollInitial:    5 * time.Second,
			InvoicePollMax:        time.Hour,
			ActivityTimeout:       30 * time.Second,
			RetryMaxAttempts:      3,
			RetryMaxInterval:      time.Minute,
		},
	}
}

// bothModes runs a test with the outside calls as regular activities and
// again as local activities.
func bothModes(t *testing.T, fn func(t *testing.T, in ContractToCashInput)) {
	for _, local := range []bool{false, true} {
		name := "regular"
		if local {
			name = "local"
		}
		t.Run(name, func(t *testing.T) {
			in := testInput()
			in.Options.LocalActivities = local
			fn(t, in)
		})
	}
}

// chainTest wires a test environment with every activity mocked to
// succeed; a test overrides the ones its case is about.
type chainTest struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	acts *activities.ContractActivities
	// verify and tasks serve the signing verification.
	verify *activities.VerificationActivities
	tasks  *activities.TaskActivities

	mu       sync.Mutex
	progress []activities.Progress
	calls    map[string]int
}

func newChainTest(t *testing.T) *chainTest {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	ct := &chainTest{
		t: t, env: suite.NewTestWorkflowEnvironment(), acts: &activities.ContractActivities{},
		verify: &activities.VerificationActivities{}, tasks: &activities.TaskActivities{}, calls: map[string]int{},
	}
	ct.env.RegisterWorkflow(ContractToCash)
	ct.env.RegisterActivity(ct.acts)
	ct.env.RegisterActivity(ct.verify)
	ct.env.RegisterActivity(ct.tasks)
	return ct
}

func (ct *chainTest) count(name string) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ct.calls[name]++
}

func (ct *chainTest) callCount(name string) int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.calls[name]
}

func doc(kind connectors.DocumentKind, number string) activities.StepResult {
	return activities.StepResult{Document: connectors.Document{Kind: kind, Number: number, Status: "C", Created: true}}
}

// mockHappyPath makes every activity succeed: production completes on the
// first poll and the invoice is issued on the first query.
func (ct *chainTest) mockHappyPath() {
	env := ct.env
	a := ct.acts
	env.OnActivity(a.EnsureSalesOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SalesOrderInput) (activities.SalesOrderResult, error) {
			ct.count("customer")
			ct.count("sales_order")
			return activities.SalesOrderResult{
				Customer:   doc(connectors.KindCustomer, in.Customer.Number).Document,
				SalesOrder: doc(connectors.KindSalesOrder, in.Order.Number).Document,
			}, nil
		})
	env.OnActivity(a.EnsureProductionOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProductionOrderInput) (activities.StepResult, error) {
			ct.count("production_order")
			return doc(connectors.KindProductionOrder, in.Order.Number), nil
		})
	env.OnActivity(a.GetProductionStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProductionStatusInput) (connectors.ProductionStatus, error) {
			ct.count("production_status")
			return connectors.ProductionStatus{Number: in.Number, Status: "5", Completed: true, CompletedAt: signedOn.Add(72 * time.Hour)}, nil
		})
	env.OnActivity(a.EnsureDelivery, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliveryInput) (activities.StepResult, error) {
			ct.count("delivery")
			return doc(connectors.KindDelivery, in.Delivery.Number), nil
		})
	env.OnActivity(a.EnsureReceivable, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReceivableInput) (activities.StepResult, error) {
			ct.count("receivable")
			return doc(connectors.KindReceivable, in.Receivable.Number), nil
		})
	env.OnActivity(a.PrepareInvoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PrepareInvoiceInput) (connectors.InvoiceRequest, error) {
			ct.count("prepare_invoice")
			return connectors.InvoiceRequest{SerialNo: in.SerialNo, ContractNo: in.ContractNo, TotalInclusive: in.Total}, nil
		})
	env.OnActivity(a.IssueInvoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvoiceInput) (connectors.Invoice, error) {
			ct.count("issue_invoice")
			return connectors.Invoice{SerialNo: in.Request.SerialNo, Status: connectors.InvoiceProcessing, TotalInclusive: in.Request.TotalInclusive}, nil
		})
	env.OnActivity(a.GetInvoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvoiceQuery) (connectors.Invoice, error) {
			ct.count("get_invoice")
			return connectors.Invoice{SerialNo: in.SerialNo, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000001", TotalInclusive: in.Total}, nil
		})
	env.OnActivity(a.RedLetterInvoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RedLetterInput) (connectors.Invoice, error) {
			ct.count("red_letter")
			return connectors.Invoice{SerialNo: in.Request.SerialNo, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000002"}, nil
		})
	env.OnActivity(a.EnsureWriteOff, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WriteOffInput) (activities.StepResult, error) {
			ct.count("write_off")
			return doc(connectors.KindWriteOff, in.WriteOff.Number), nil
		})
	env.OnActivity(a.CancelDocument, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CancelInput) error {
			ct.count("cancel_" + string(in.Kind))
			return nil
		})
	env.OnActivity(ct.verify.CheckSignedMarks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SignedMarksCheck) (activities.SignedMarksResult, error) {
			ct.count("check_signed_marks")
			return activities.SignedMarksResult{Reps: []string{in.Rep}, DistinctReps: 3}, nil
		})
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p activities.Progress) error {
			ct.mu.Lock()
			defer ct.mu.Unlock()
			ct.progress = append(ct.progress, p)
			return nil
		})
}

// pay sends a payment signal after delay.
func (ct *chainTest) pay(delay time.Duration, id, amount string) {
	ct.env.RegisterDelayedCallback(func() {
		ct.env.SignalWorkflow(SignalPayment, PaymentSignal{
			AllocationID: id, LineID: "L-" + id, Amount: decimal.RequireFromString(amount), BusinessDate: "20170310",
		})
	}, delay)
}

func (ct *chainTest) signal(delay time.Duration, name string, arg any) {
	ct.env.RegisterDelayedCallback(func() { ct.env.SignalWorkflow(name, arg) }, delay)
}

// run registers the default mocks after the test's own, which take
// precedence because the mock matches expectations in order.
func (ct *chainTest) run(in ContractToCashInput) ChainStatus {
	ct.t.Helper()
	ct.mockHappyPath()
	ct.env.ExecuteWorkflow(ContractToCash, in)
	if !ct.env.IsWorkflowCompleted() {
		ct.t.Fatal("workflow did not complete")
	}
	var status ChainStatus
	if err := ct.env.GetWorkflowError(); err != nil {
		ct.t.Fatalf("workflow failed: %v", err)
	}
	if err := ct.env.GetWorkflowResult(&status); err != nil {
		ct.t.Fatalf("read workflow result: %v", err)
	}
	return status
}

func (ct *chainTest) attention(kind string) []activities.AttentionRecord {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	var items []activities.AttentionRecord
	for _, p := range ct.progress {
		if p.Attention != nil && p.Attention.Kind == kind {
			items = append(items, *p.Attention)
		}
	}
	return items
}

func (ct *chainTest) recordedStates() []string {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	var states []string
	for _, p := range ct.progress {
		if p.State != "" && (len(states) == 0 || states[len(states)-1] != p.State) {
			states = append(states, p.State)
		}
	}
	return states
}

func TestChainHappyPath(t *testing.T) {
	bothModes(t, func(t *testing.T, in ContractToCashInput) {
		ct := newChainTest(t)
		ct.pay(time.Hour, "A1", "316.2")
		ct.pay(10*24*time.Hour, "A2", "737.8")

		status := ct.run(in)

		if status.State != store.ContractClosed {
			t.Errorf("state = %s, want closed", status.State)
		}
		if !status.Paid.Equal(decimal.NewFromInt(1054)) {
			t.Errorf("paid = %s, want 1054", status.Paid)
		}
		for _, step := range []string{"customer", "sales_order", "production_order", "delivery", "receivable", "issue_invoice", "write_off"} {
			if n := ct.callCount(step); n != 1 {
				t.Errorf("%s called %d times, want 1", step, n)
			}
		}
		// Activities record scheduled, in_production and delivered with their
		// steps; the workflow records the rest.
		want := []string{store.ContractInvoiced, store.ContractPaid, store.ContractClosed}
		got := ct.recordedStates()
		if len(got) != len(want) {
			t.Fatalf("recorded states = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("state %d = %s, want %s", i, got[i], want[i])
			}
		}
		if items := ct.attention(store.AttentionOverpayment); len(items) != 0 {
			t.Errorf("exact payment produced over-payment items: %v", items)
		}
		if status.Documents.Invoice == nil || status.Documents.Invoice.InvoiceNo == "" {
			t.Error("issued invoice missing from status")
		}
	})
}

func TestChainProductionCallbackEndsWait(t *testing.T) {
	ct := newChainTest(t)
	ct.env.OnActivity(ct.acts.GetProductionStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProductionStatusInput) (connectors.ProductionStatus, error) {
			ct.count("production_status")
			return connectors.ProductionStatus{Number: in.Number, Status: "4"}, nil
		})
	completed := signedOn.Add(5 * time.Hour)
	ct.signal(time.Hour, SignalProductionCompleted, ProductionCompletedSignal{Number: "MO-OTHER", CompletedAt: completed})
	ct.signal(2*time.Hour, SignalProductionCompleted, ProductionCompletedSignal{Number: "MO-CT-TEST0001", CompletedAt: completed})
	ct.pay(3*time.Hour, "A1", "1054")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	if status.ProductionCompletedAt == nil || !status.ProductionCompletedAt.Equal(completed) {
		t.Errorf("production completed at %v, want %v from the callback", status.ProductionCompletedAt, completed)
	}
	// Polls back off 10s, 20s, 40s, ... so two hours take well under 20 polls.
	if n := ct.callCount("production_status"); n == 0 || n > 12 {
		t.Errorf("production polled %d times in 2h, want a few with backoff", n)
	}
}

func TestChainProductionPollingBacksOff(t *testing.T) {
	ct := newChainTest(t)
	polls := 0
	var pollTimes []time.Time
	ct.env.OnActivity(ct.acts.GetProductionStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProductionStatusInput) (connectors.ProductionStatus, error) {
			polls++
			pollTimes = append(pollTimes, ct.env.Now())
			return connectors.ProductionStatus{Number: in.Number, Completed: polls >= 5}, nil
		})
	ct.pay(time.Minute, "A1", "1054")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	if polls != 5 {
		t.Fatalf("polled %d times, want 5", polls)
	}
	for i := 2; i < len(pollTimes); i++ {
		previous := pollTimes[i-1].Sub(pollTimes[i-2])
		gap := pollTimes[i].Sub(pollTimes[i-1])
		if gap < previous*2-time.Second {
			t.Errorf("poll gap %d = %v, want about twice %v", i, gap, previous)
		}
	}
}

func TestChainPartialPayments(t *testing.T) {
	ct := newChainTest(t)
	ct.pay(time.Hour, "A1", "100")
	ct.pay(2*time.Hour, "A1", "100") // a repeated allocation is ignored
	ct.pay(3*time.Hour, "A2", "500")
	ct.pay(20*24*time.Hour, "A3", "454")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	if !status.Paid.Equal(decimal.NewFromInt(1054)) {
		t.Errorf("paid = %s, want 1054 (the repeated allocation must not count)", status.Paid)
	}
	if len(status.ReceiptIDs) != 3 {
		t.Errorf("receipts = %v, want 3", status.ReceiptIDs)
	}
	if !status.InstalmentPaid[0].Equal(decimal.RequireFromString("316.2")) ||
		!status.InstalmentPaid[1].Equal(decimal.RequireFromString("737.8")) {
		t.Errorf("instalments paid = %v, want 316.2 and 737.8", status.InstalmentPaid)
	}
}

func TestChainOverpayment(t *testing.T) {
	ct := newChainTest(t)
	ct.pay(time.Hour, "A1", "316.2")
	ct.pay(2*24*time.Hour, "A2", "800")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	items := ct.attention(store.AttentionOverpayment)
	if len(items) != 1 {
		t.Fatalf("over-payment items = %d, want 1", len(items))
	}
	if !items[0].Amount.Decimal.Equal(decimal.RequireFromString("62.2")) {
		t.Errorf("over-payment = %s, want 62.2", items[0].Amount.Decimal)
	}
}

func TestChainWaitsForFullPayment(t *testing.T) {
	ct := newChainTest(t)
	ct.pay(time.Hour, "A1", "316.2")
	ct.env.SetTestTimeout(10 * time.Second)
	ct.env.RegisterDelayedCallback(func() {
		encoded, err := ct.env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Fatalf("query status: %v", err)
		}
		var status ChainStatus
		if err := encoded.Get(&status); err != nil {
			t.Fatalf("decode status: %v", err)
		}
		if status.State != store.ContractInvoiced {
			t.Errorf("state while partly paid = %s, want invoiced", status.State)
		}
		if n := ct.callCount("write_off"); n != 0 {
			t.Errorf("write-off ran before full payment")
		}
		ct.env.CancelWorkflow()
	}, 60*24*time.Hour)

	ct.mockHappyPath()
	ct.env.ExecuteWorkflow(ContractToCash, testInput())

	var canceled *temporal.CanceledError
	if err := ct.env.GetWorkflowError(); !errors.As(err, &canceled) {
		t.Fatalf("workflow error = %v, want a cancellation", err)
	}
}

func TestChainResumesAfterNonRetryableFault(t *testing.T) {
	bothModes(t, func(t *testing.T, in ContractToCashInput) {
		ct := newChainTest(t)
		failures := 0
		ct.env.OnActivity(ct.acts.EnsureSalesOrder, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.SalesOrderInput) (activities.SalesOrderResult, error) {
				ct.count("sales_order")
				if failures == 0 {
					failures++
					return activities.SalesOrderResult{}, temporal.NewNonRetryableApplicationError(
						"Save SAL_SaleOrder: field FCustId: customer not audited", activities.ErrTypeValidation, nil)
				}
				return activities.SalesOrderResult{
					Customer:   doc(connectors.KindCustomer, in.Customer.Number).Document,
					SalesOrder: doc(connectors.KindSalesOrder, in.Order.Number).Document,
				}, nil
			})
		ct.env.RegisterDelayedCallback(func() {
			encoded, err := ct.env.QueryWorkflow(QueryStatus)
			if err != nil {
				t.Fatalf("query status: %v", err)
			}
			var status ChainStatus
			if err := encoded.Get(&status); err != nil {
				t.Fatalf("decode status: %v", err)
			}
			if status.Parked == nil || status.Parked.Step != activities.StepSalesOrder {
				t.Fatalf("status while parked = %+v, want parked at sales_order", status.Parked)
			}
			if status.Parked.ErrorType != activities.ErrTypeValidation {
				t.Errorf("parked error type = %s, want %s", status.Parked.ErrorType, activities.ErrTypeValidation)
			}
			ct.env.SignalWorkflow(SignalResume, ResumeSignal{By: "ops", Note: "customer audited"})
		}, 3*24*time.Hour)
		ct.pay(4*24*time.Hour, "A1", "1054")

		status := ct.run(in)

		if status.State != store.ContractClosed {
			t.Fatalf("state = %s, want closed", status.State)
		}
		if n := ct.callCount("sales_order"); n != 2 {
			t.Errorf("sales order attempted %d times, want 2 (fail, resume)", n)
		}
		if got := ct.attention(store.AttentionChainParked); len(got) != 1 {
			t.Errorf("parked items = %d, want 1", len(got))
		}
		if states := ct.recordedStates(); !containsString(states, store.ContractNeedsAttention) {
			t.Errorf("recorded states %v lack needs_attention", states)
		}
	})
}

func TestChainParksAfterRetriesExhausted(t *testing.T) {
	bothModes(t, func(t *testing.T, in ContractToCashInput) {
		ct := newChainTest(t)
		attempts := 0
		ct.env.OnActivity(ct.acts.EnsureDelivery, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.DeliveryInput) (activities.StepResult, error) {
				attempts++
				if attempts <= 3 {
					return activities.StepResult{}, errors.New("HTTP 503 from ERP")
				}
				return doc(connectors.KindDelivery, in.Delivery.Number), nil
			})
		ct.signal(2*24*time.Hour, SignalResume, ResumeSignal{By: "ops"})
		ct.pay(3*24*time.Hour, "A1", "1054")

		status := ct.run(in)

		if status.State != store.ContractClosed {
			t.Fatalf("state = %s, want closed", status.State)
		}
		if attempts != 4 {
			t.Errorf("delivery attempts = %d, want 3 retries then 1 after resume", attempts)
		}
	})
}

// TestChainRetriesTimedOutLocalAttempt lets the first delivery attempt, a
// local activity, run past its timeout. The next attempt succeeds and the
// chain does not park. Only local mode: the server retries a regular
// activity's timed-out attempt, but the test environment parks at once.
func TestChainRetriesTimedOutLocalAttempt(t *testing.T) {
	func(t *testing.T, in ContractToCashInput) {
		in.Options.LocalActivities = true
		in.Options.ActivityTimeout = 300 * time.Millisecond
		ct := newChainTest(t)
		var attempts atomic.Int32
		ct.env.OnActivity(ct.acts.EnsureDelivery, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.DeliveryInput) (activities.StepResult, error) {
				if attempts.Add(1) == 1 {
					<-ctx.Done()
					return activities.StepResult{}, ctx.Err()
				}
				return doc(connectors.KindDelivery, in.Delivery.Number), nil
			})
		ct.pay(3*24*time.Hour, "A1", "1054")

		status := ct.run(in)

		if status.State != store.ContractClosed {
			t.Fatalf("state = %s, want closed", status.State)
		}
		if got := attempts.Load(); got != 2 {
			t.Errorf("delivery attempts = %d, want 2: one timed out, one succeeded", got)
		}
		if parked := ct.attention("chain_parked"); len(parked) != 0 {
			t.Errorf("chain parked after one timed-out attempt: %+v", parked)
		}
	}(t, testInput())
}

func TestChainInvoiceRejectedThenReissued(t *testing.T) {
	bothModes(t, func(t *testing.T, in ContractToCashInput) {
		ct := newChainTest(t)
		var serials []string
		ct.env.OnActivity(ct.acts.IssueInvoice, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.InvoiceInput) (connectors.Invoice, error) {
				serials = append(serials, in.Request.SerialNo)
				return connectors.Invoice{SerialNo: in.Request.SerialNo, Status: connectors.InvoiceProcessing}, nil
			})
		ct.env.OnActivity(ct.acts.GetInvoice, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.InvoiceQuery) (connectors.Invoice, error) {
				if len(serials) == 1 {
					return connectors.Invoice{SerialNo: in.SerialNo, Status: connectors.InvoiceFailed, FailureReason: "buyer tax id invalid"}, nil
				}
				return connectors.Invoice{SerialNo: in.SerialNo, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000009"}, nil
			})
		ct.signal(24*time.Hour, SignalResume, ResumeSignal{By: "finance"})
		ct.pay(2*24*time.Hour, "A1", "1054")

		status := ct.run(in)

		if status.State != store.ContractClosed {
			t.Fatalf("state = %s, want closed", status.State)
		}
		if len(serials) != 2 || serials[0] == serials[1] {
			t.Fatalf("invoice serials = %v, want two different ones", serials)
		}
		if status.Documents.Invoice.InvoiceNo != "26312000000000000009" {
			t.Errorf("invoice = %s, want the reissued one", status.Documents.Invoice.InvoiceNo)
		}
	})
}

func TestChainInvoiceCallback(t *testing.T) {
	ct := newChainTest(t)
	ct.env.OnActivity(ct.acts.GetInvoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvoiceQuery) (connectors.Invoice, error) {
			ct.count("get_invoice")
			return connectors.Invoice{SerialNo: in.SerialNo, Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000005"}, nil
		})
	// The callback arrives before the first poll (5 s) is due.
	ct.signal(2*time.Second+72*time.Hour, SignalInvoiceUpdated, InvoiceUpdatedSignal{Invoice: connectors.Invoice{
		SerialNo: "INV-CT-TEST0001", Status: connectors.InvoiceIssued, InvoiceNo: "26312000000000000005",
	}})
	ct.pay(4*24*time.Hour, "A1", "1054")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	if status.Documents.Invoice.InvoiceNo != "26312000000000000005" {
		t.Errorf("invoice = %+v", status.Documents.Invoice)
	}
}

func TestChainCancellation(t *testing.T) {
	cases := []struct {
		name string
		// at is when the cancel signal arrives; production completes on
		// the first poll 10 s after the production order.
		at       time.Duration
		payFirst bool
		// duringSalesOrder sends the cancel signal when the sales order
		// activity starts, instead of at.
		duringSalesOrder bool
		wantCancels      []string
		wantRed          bool
		wantRefund       bool
	}{
		// The signing verification runs before the sales order, so a
		// cancellation at once finds nothing to reverse.
		{name: "before sales order", at: 0, wantCancels: nil},
		{name: "during sales order", duringSalesOrder: true, wantCancels: []string{"cancel_sales_order"}},
		{name: "waiting for production", at: 5 * time.Second,
			wantCancels: []string{"cancel_production_order", "cancel_sales_order"}},
		{name: "waiting for payment", at: 10 * 24 * time.Hour, wantRed: true,
			wantCancels: []string{"cancel_receivable", "cancel_delivery", "cancel_production_order", "cancel_sales_order"}},
		{name: "after advance payment", at: 10 * 24 * time.Hour, payFirst: true, wantRed: true, wantRefund: true,
			wantCancels: []string{"cancel_receivable", "cancel_delivery", "cancel_production_order", "cancel_sales_order"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct := newChainTest(t)
			if tc.payFirst {
				ct.pay(time.Hour, "A1", "316.2")
			}
			cancel := CancelSignal{Reason: "customer withdrew", RequestedBy: "sales"}
			if tc.duringSalesOrder {
				ct.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
					if info.ActivityType.Name == "EnsureSalesOrder" {
						ct.env.SignalWorkflow(SignalCancel, cancel)
					}
				})
			} else {
				ct.signal(tc.at, SignalCancel, cancel)
			}

			status := ct.run(testInput())

			if status.State != store.ContractCancelled {
				t.Fatalf("state = %s, want cancelled", status.State)
			}
			for _, kind := range []string{"cancel_receivable", "cancel_delivery", "cancel_production_order", "cancel_sales_order"} {
				want := 0
				if containsString(tc.wantCancels, kind) {
					want = 1
				}
				if n := ct.callCount(kind); n != want {
					t.Errorf("%s called %d times, want %d", kind, n, want)
				}
			}
			if got := ct.callCount("red_letter") == 1; got != tc.wantRed {
				t.Errorf("red-letter invoice requested = %v, want %v", got, tc.wantRed)
			}
			if got := len(ct.attention(store.AttentionRefundDue)) == 1; got != tc.wantRefund {
				t.Errorf("refund item recorded = %v, want %v", got, tc.wantRefund)
			}
			if n := ct.callCount("write_off"); n != 0 {
				t.Errorf("write-off ran on a cancelled chain")
			}
		})
	}
}

func TestChainCancelWhileParkedCompensates(t *testing.T) {
	ct := newChainTest(t)
	ct.env.OnActivity(ct.acts.EnsureDelivery, mock.Anything, mock.Anything).Return(activities.StepResult{},
		temporal.NewNonRetryableApplicationError("stock location missing", activities.ErrTypeValidation, nil))
	ct.signal(24*time.Hour, SignalCancel, CancelSignal{Reason: "duplicate deal", RequestedBy: "sales"})

	status := ct.run(testInput())

	if status.State != store.ContractCancelled {
		t.Fatalf("state = %s, want cancelled", status.State)
	}
	if n := ct.callCount("cancel_production_order"); n != 1 {
		t.Errorf("production order cancelled %d times, want 1", n)
	}
	if status.Parked != nil {
		t.Errorf("chain still parked after cancellation: %+v", status.Parked)
	}
}

func TestChainCompensationFailureParks(t *testing.T) {
	bothModes(t, func(t *testing.T, in ContractToCashInput) {
		ct := newChainTest(t)
		attempts := 0
		ct.env.OnActivity(ct.acts.CancelDocument, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.CancelInput) error {
				ct.count("cancel_" + string(in.Kind))
				if in.Kind == connectors.KindProductionOrder {
					attempts++
					if attempts == 1 {
						return temporal.NewNonRetryableApplicationError("production order already issued material", activities.ErrTypeConflict, nil)
					}
				}
				return nil
			})
		ct.signal(5*time.Second, SignalCancel, CancelSignal{Reason: "withdrawn", RequestedBy: "sales"})
		ct.signal(24*time.Hour, SignalResume, ResumeSignal{By: "planner"})

		status := ct.run(in)

		if status.State != store.ContractCancelled {
			t.Fatalf("state = %s, want cancelled", status.State)
		}
		if attempts != 2 {
			t.Errorf("production order cancellation attempted %d times, want 2", attempts)
		}
		if n := ct.callCount("cancel_sales_order"); n != 1 {
			t.Errorf("sales order cancelled %d times, want 1 after the resume", n)
		}
	})
}

func TestChainResumeFromSnapshot(t *testing.T) {
	ct := newChainTest(t)
	in := testInput()
	completed := signedOn.Add(48 * time.Hour)
	in.Resume = &ChainStatus{
		ContractNo: in.ContractNo, State: store.ContractInProduction, Total: in.Total,
		Paid: decimal.RequireFromString("316.2"), InstalmentPaid: []decimal.Decimal{decimal.RequireFromString("316.2"), decimal.Zero},
		Allocations: []string{"A1"}, ReceiptIDs: []string{"L-A1"},
		ProductionCompletedAt: &completed,
		Documents: ChainDocuments{
			Customer:        &connectors.Document{Number: "CUST-1"},
			SalesOrder:      &connectors.Document{Number: "SO-CT-TEST0001"},
			ProductionOrder: &connectors.Document{Number: "MO-CT-TEST0001"},
		},
	}
	ct.pay(time.Hour, "A1", "316.2")
	ct.pay(2*time.Hour, "A2", "737.8")

	status := ct.run(in)

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	for _, step := range []string{"customer", "sales_order", "production_order", "production_status"} {
		if n := ct.callCount(step); n != 0 {
			t.Errorf("%s ran %d times after resuming past it", step, n)
		}
	}
	if !status.Paid.Equal(decimal.NewFromInt(1054)) {
		t.Errorf("paid = %s, want 1054 (A1 carried over, not counted twice)", status.Paid)
	}
}
