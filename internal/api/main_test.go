package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordo-project/ordo/internal/chains"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/devserver"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/internal/testports"
)

// temporalClient is connected to the embedded Temporal server that
// TestMain starts once for the package. No worker polls its task queue, so
// a started workflow stays running with its first task pending, which is
// enough to describe it and to signal it.
var temporalClient client.Client

// testNow is the API clock of the tests and the time their signatures carry.
var testNow = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// testSecret signs the inbound events and callbacks of the tests.
var testSecret = []byte("api-test-webhook-secret")

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dataDir, err := os.MkdirTemp("", "ordo-api-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "create Temporal data dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dataDir)

	address, err := freeLoopbackAddress()
	if err != nil {
		fmt.Fprintf(os.Stderr, "reserve a port for Temporal: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Config{DataDir: dataDir, FrontendAddress: address})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start embedded Temporal server: %v\n", err)
		return 1
	}
	defer func() { _ = srv.Stop() }()

	temporalClient, err = client.Dial(client.Options{
		HostPort:  srv.FrontendAddress(),
		Namespace: srv.Namespace(),
		Logger:    logging.NewSDKLogger(logging.Discard().WithField(logging.KeyComponent, "test-client")),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect to the embedded Temporal server: %v\n", err)
		return 1
	}
	defer temporalClient.Close()
	return m.Run()
}

// freeLoopbackAddress returns a loopback address no other test binary
// using testports receives.
func freeLoopbackAddress() (string, error) {
	port, err := testports.Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// testServer is an API server on a real store and the package's Temporal
// server, served over loopback by httptest.
type testServer struct {
	t      *testing.T
	store  *store.Store
	server *Server
	url    string
}

// newTestServer starts the API on a fresh store of driver, with the chain
// starter the production wiring uses. configure, when set, changes the
// server before it starts serving.
func newTestServer(t *testing.T, driver string, configure func(*Server)) *testServer {
	t.Helper()
	st := storetest.Open(t, driver)
	cfg := config.Default()
	logger := logging.Discard()
	starter := &chains.Starter{Store: st, Client: temporalClient, Config: cfg, Logger: logger}
	server := &Server{
		Store:         st,
		Temporal:      temporalClient,
		Config:        cfg,
		Logger:        logger,
		WebhookSecret: testSecret,
		Contracts:     starter,
		Now:           func() time.Time { return testNow },
	}
	if configure != nil {
		configure(server)
	}
	if server.Contracts == ContractStarter(starter) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			starter.Run(ctx, time.Second)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
	httpServer := httptest.NewServer(server.Handler())
	t.Cleanup(httpServer.Close)
	return &testServer{t: t, store: st, server: server, url: httpServer.URL}
}

// withIdleStarter gives the server a starter whose loop does not run, so
// a seeded contract without a chain keeps none.
func withIdleStarter(s *Server) {
	s.Contracts = &chains.Starter{Store: s.Store, Client: s.Temporal, Config: s.Config, Logger: s.Logger}
}

// waitChainStarted waits until the starter started the chain of contract
// no, which happens shortly after the contract-signed event was accepted.
func (ts *testServer) waitChainStarted(no string) {
	ts.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		contract, err := ts.store.GetContract(context.Background(), no)
		if err == nil && contract.WorkflowStartedAt != nil {
			return
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("chain of %s not started 15 s after the event was accepted (last error: %v)", no, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// response is a received HTTP response with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and reads the whole response.
func (ts *testServer) do(method, path string, body []byte, header http.Header) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatalf("build %s %s: %v", method, path, err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("read response to %s %s: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// postJSON posts v encoded as JSON.
func (ts *testServer) postJSON(path string, v any) response {
	ts.t.Helper()
	return ts.do(http.MethodPost, path, mustJSON(ts.t, v), http.Header{"Content-Type": {"application/json"}})
}

// postSigned posts body signed with the test secret at the API's clock.
func (ts *testServer) postSigned(path string, body []byte) response {
	ts.t.Helper()
	header := http.Header{"Content-Type": {"application/json"}}
	signing.SetHeaders(header, testSecret, testNow, body)
	return ts.do(http.MethodPost, path, body, header)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return data
}

// decode decodes the response's JSON body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode response %q: %v", r.body, err)
	}
}

// errorOf returns the error detail of an error response.
func (r response) errorOf(t *testing.T) errorDetail {
	t.Helper()
	var body errorBody
	r.decode(t, &body)
	return body.Error
}

// expectError checks the status, the error code and that the message
// contains each of words.
func (r response) expectError(t *testing.T, status int, code string, words ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, expected %d; body %s", r.status, status, r.body)
	}
	detail := r.errorOf(t)
	if detail.Code != code {
		t.Errorf("error code = %q, expected %q; message %q", detail.Code, code, detail.Message)
	}
	for _, word := range words {
		if !strings.Contains(detail.Message, word) {
			t.Errorf("error message %q does not mention %q", detail.Message, word)
		}
	}
}

// rowCounts returns the number of rows of every table an API call may
// write, so a test can check that a rejected call wrote nothing.
func rowCounts(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	models := map[string]any{
		"accounts":            (*store.Account)(nil),
		"contracts":           (*store.Contract)(nil),
		"payment_instalments": (*store.PaymentInstalment)(nil),
		"webhook_events":      (*store.WebhookEvent)(nil),
		"bank_lines":          (*store.BankLine)(nil),
		"allocations":         (*store.Allocation)(nil),
		"attention_items":     (*store.AttentionItem)(nil),
		"opportunities":       (*store.Opportunity)(nil),
		"import_runs":         (*store.ImportRun)(nil),
	}
	counts := make(map[string]int, len(models))
	for table, model := range models {
		n, err := st.DB.NewSelect().Model(model).Count(context.Background())
		if err != nil {
			t.Fatalf("count rows of %s: %v", table, err)
		}
		counts[table] = int(n)
	}
	return counts
}

// expectCounts compares row counts table by table.
func expectCounts(t *testing.T, got, expected map[string]int) {
	t.Helper()
	for table, n := range expected {
		if got[table] != n {
			t.Errorf("%s has %d rows, expected %d", table, got[table], n)
		}
	}
}

// uniqueNo returns a contract number no other test uses, because all
// tests share one Temporal namespace and workflow ids derive from it.
func uniqueNo(t *testing.T) string {
	t.Helper()
	suffix := make([]byte, 5)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random contract number: %v", err)
	}
	return "CT-T" + strings.ToUpper(hex.EncodeToString(suffix))
}

// seedContract writes a contract in state with the default payment plan,
// and starts its workflow when started is true.
func seedContract(t *testing.T, ts *testServer, no, state string, started bool) *store.Contract {
	t.Helper()
	ctx := context.Background()

	amount := decimal.RequireFromString("1000.00")
	now := store.Now()
	contract := &store.Contract{
		ContractNo: no, AccountName: "Acme Corporation", CustomerNo: numbering.CustomerNo("Acme Corporation"),
		ProductName: "GTX Basic", ProductNo: numbering.ProductNo("GTX Basic"), SalesAgent: "Moses Frase",
		Quantity: decimal.NewFromInt(1), UnitPrice: amount, Amount: amount, Currency: "USD",
		TaxRate: decimal.RequireFromString("0.13"), TaxCode: "1090511990000000000",
		SignedOn: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Source: store.SourceWebhook,
		State: state, PaidAmount: decimal.Zero, WorkflowID: numbering.ContractWorkflowID(no),
		ContentHash: "seed", CreatedAt: now, UpdatedAt: now,
	}
	plan := []store.PaymentInstalment{
		{ContractNo: no, Seq: 1, Label: "advance", TriggerOn: store.TriggerSigning, Ratio: decimal.RequireFromString("0.3"),
			Amount: decimal.RequireFromString("300.00"), PaidAmount: decimal.Zero},
		{ContractNo: no, Seq: 2, Label: "balance", TriggerOn: store.TriggerDelivery, Ratio: decimal.RequireFromString("0.7"),
			Amount: decimal.RequireFromString("700.00"), PaidAmount: decimal.Zero},
	}

	created, err := ts.store.CreateContract(ctx, contract, plan)
	if err != nil || !created {
		t.Fatalf("create contract %s: created %v, error %v", no, created, err)
	}
	if started {
		if err := ts.server.Contracts.Start(ctx, contract, nil); err != nil {
			t.Fatalf("start chain of %s: %v", no, err)
		}
		if err := ts.store.MarkWorkflowsStarted(ctx, []string{no}, time.Now()); err != nil {
			t.Fatalf("mark chain of %s started: %v", no, err)
		}
		t.Cleanup(func() { terminateWorkflow(t, contract.WorkflowID) })
	}

	got, err := ts.store.GetContract(ctx, no)
	if err != nil {
		t.Fatalf("read back contract %s: %v", no, err)
	}
	return got
}

// terminateWorkflow ends a workflow a test started, ignoring one that has
// ended already, so running workflows do not pile up in the shared server.
func terminateWorkflow(t *testing.T, workflowID string) {
	err := temporalClient.TerminateWorkflow(context.Background(), workflowID, "", "API test finished")
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		t.Logf("terminate %s: %v", workflowID, err)
	}
}

// workflowStatus returns the status of a workflow, or UNSPECIFIED when it
// does not exist.
func workflowStatus(t *testing.T, workflowID string) enums.WorkflowExecutionStatus {
	t.Helper()
	resp, err := temporalClient.DescribeWorkflowExecution(context.Background(), workflowID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
	}
	if err != nil {
		t.Fatalf("describe workflow %s: %v", workflowID, err)
	}
	return resp.GetWorkflowExecutionInfo().GetStatus()
}

// waitFirstWorkflowTask waits until a worker has completed the workflow's
// first workflow task.
func waitFirstWorkflowTask(t *testing.T, workflowID string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		iter := temporalClient.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			event, err := iter.Next()
			if err != nil {
				t.Fatalf("read history of %s: %v", workflowID, err)
			}
			if event.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				return
			}
		}
	}
	// Say where the task is stuck, so a failure here can be diagnosed.
	detail := "describe failed"
	if resp, err := temporalClient.DescribeWorkflowExecution(context.Background(), workflowID, ""); err == nil {
		info, pending := resp.GetWorkflowExecutionInfo(), resp.GetPendingWorkflowTask()
		detail = fmt.Sprintf("status %s, task queue %s, history length %d, pending workflow task %s (attempt %d)",
			info.GetStatus(), info.GetTaskQueue(), info.GetHistoryLength(), pending.GetState(), pending.GetAttempt())
	}
	t.Fatalf("no worker completed the first workflow task of %s within %s: %s", workflowID, timeout, detail)
}

// signalsOf returns the decoded input of every signal named name in the
// history of the workflow's latest run, oldest first.
func signalsOf[T any](t *testing.T, workflowID, name string) []T {
	t.Helper()
	var inputs []T
	iter := temporalClient.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatalf("read history of %s: %v", workflowID, err)
		}
		attrs := event.GetWorkflowExecutionSignaledEventAttributes()
		if attrs == nil || attrs.GetSignalName() != name {
			continue
		}
		var input T
		if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &input); err != nil {
			t.Fatalf("decode %s signal of %s: %v", name, workflowID, err)
		}
		inputs = append(inputs, input)
	}
	return inputs
}
