package kingdee

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ordo-project/ordo/internal/signing"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/kingdee"
)

func TestEnsureEachKind(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	const contract = "CT-100"

	cases := []struct {
		name   string
		kind   connectors.DocumentKind
		form   string
		ensure func() (connectors.Document, error)
	}{
		{"customer", connectors.KindCustomer, FormCustomer, func() (connectors.Document, error) {
			return env.client.UpsertCustomer(ctx, connectors.Customer{Number: "C-100", Name: "Acme Trading"})
		}},
		{"sales order", connectors.KindSalesOrder, FormSalesOrder, func() (connectors.Document, error) {
			return env.client.EnsureSalesOrder(ctx, salesOrder("SO-100", contract, "C-100"))
		}},
		{"production order", connectors.KindProductionOrder, FormProductionOrder, func() (connectors.Document, error) {
			return env.client.EnsureProductionOrder(ctx, productionOrder("MO-100", contract))
		}},
		{"delivery", connectors.KindDelivery, FormDelivery, func() (connectors.Document, error) {
			return env.client.EnsureDelivery(ctx, delivery("DL-100", contract, "C-100"))
		}},
		{"receivable", connectors.KindReceivable, FormReceivable, func() (connectors.Document, error) {
			return env.client.EnsureReceivable(ctx, receivable("AR-100", contract, "C-100"))
		}},
		{"write-off", connectors.KindWriteOff, FormReceiveBill, func() (connectors.Document, error) {
			return env.client.EnsureWriteOff(ctx, writeOff("WO-100", "AR-100", contract, "C-100"))
		}},
	}
	// The cases run in order: each document needs the ones before it.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.ensure()
			if err != nil {
				t.Fatalf("first call: %v", err)
			}
			if !first.Created || first.Status != "C" || first.Kind != tc.kind || first.FormID != tc.form || first.ID == "" {
				t.Errorf("first call = %+v, want a created, audited %s", first, tc.form)
			}
			again, err := tc.ensure()
			if err != nil {
				t.Fatalf("second call: %v", err)
			}
			if again.Created || again.ID != first.ID || again.Status != "C" {
				t.Errorf("second call = %+v, want the same audited document, not created", again)
			}
		})
	}

	kinds := env.ledgerKinds(contract)
	for _, kind := range []string{"sales_order", "production_order", "delivery", "receivable", "write_off"} {
		if kinds[kind] != 1 {
			t.Errorf("ledger has %d %s entries for %s, want 1", kinds[kind], kind, contract)
		}
	}
	if customers := env.ledgerKinds("C-100")["customer"]; customers != 1 {
		t.Errorf("ledger has %d entries for customer C-100, want 1", customers)
	}
	var status string
	err := env.client.Query(ctx, FormReceivable, []string{"FWRITTENOFFSTATUS"}, "FBillNo = 'AR-100'", func(row []any) error {
		status = cellText(row[0])
		return nil
	})
	if err != nil {
		t.Fatalf("query receivable: %v", err)
	}
	if status != sim.WriteOffFull {
		t.Errorf("receivable FWRITTENOFFSTATUS = %q after the write-off, want %q", status, sim.WriteOffFull)
	}
}

func TestUpsertCustomerRenames(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	created, err := env.client.UpsertCustomer(ctx, connectors.Customer{Number: "C-1", Name: "Old Name"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	renamed, err := env.client.UpsertCustomer(ctx, connectors.Customer{Number: "C-1", Name: "New Name"})
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	if renamed.Created || renamed.ID != created.ID || renamed.Status != "C" {
		t.Errorf("rename = %+v, want the same audited customer", renamed)
	}
	state, _, err := env.client.lookup(ctx, formsByKind[connectors.KindCustomer], "C-1", "FName")
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	if state.Extra["FName"] != "New Name" {
		t.Errorf("FName = %q, want New Name", state.Extra["FName"])
	}
	if n := len(env.ledger("C-1")); n != 1 {
		t.Errorf("ledger has %d entries for C-1, want 1", n)
	}
}

func TestEnsureResumesAfterPartialRun(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	mustCustomer(t, env.client, "C-1")
	form := formsByKind[connectors.KindSalesOrder]

	cases := []struct {
		name string
		// leave runs the steps an earlier attempt got through.
		leave func(order connectors.SalesOrder) error
		// wantStatus is the status the earlier attempt left behind.
		wantStatus string
	}{
		{"draft left behind", func(order connectors.SalesOrder) error {
			body := map[string]any{"formid": FormSalesOrder, "data": map[string]any{"Model": map[string]any{"FBillNo": order.Number, DefaultContractNoField: order.ContractNo}}}
			raw, err := env.client.call(ctx, "Draft", formService("Draft"), body)
			if err == nil {
				_, err = decodeWrite("Draft", raw)
			}
			return err
		}, "Z"},
		{"saved only", func(order connectors.SalesOrder) error {
			model, err := env.client.salesOrderModel(order)
			if err == nil {
				_, err = env.client.save(ctx, form, model, nil)
			}
			return err
		}, "A"},
		{"submitted", func(order connectors.SalesOrder) error {
			model, err := env.client.salesOrderModel(order)
			if err == nil {
				_, err = env.client.save(ctx, form, model, nil)
			}
			if err == nil {
				err = env.client.operate(ctx, "Submit", form, order.Number)
			}
			return err
		}, "B"},
		{"un-audited", func(order connectors.SalesOrder) error {
			if _, err := env.client.EnsureSalesOrder(ctx, order); err != nil {
				return err
			}
			return env.client.operate(ctx, "UnAudit", form, order.Number)
		}, "D"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			contract := fmt.Sprintf("CT-R%d", i)
			order := salesOrder("SO-R"+fmt.Sprint(i), contract, "C-1")
			if err := tc.leave(order); err != nil {
				t.Fatalf("leave the order half done: %v", err)
			}
			if got := env.status(connectors.KindSalesOrder, order.Number); got != tc.wantStatus {
				t.Fatalf("earlier attempt left status %q, want %q", got, tc.wantStatus)
			}
			doc, err := env.client.EnsureSalesOrder(ctx, order)
			if err != nil {
				t.Fatalf("EnsureSalesOrder: %v", err)
			}
			if doc.Created || doc.Status != "C" {
				t.Errorf("resumed document = %+v, want audited and not created", doc)
			}
			if n := env.ledgerKinds(contract)["sales_order"]; n != 1 {
				t.Errorf("ledger has %d sales orders for %s, want 1", n, contract)
			}
		})
	}
}

func TestConcurrentEnsureCreatesOneDocument(t *testing.T) {
	env := newEnv(t, envOptions{})
	mustCustomer(t, env.client, "C-1")
	order := salesOrder("SO-RACE", "CT-RACE", "C-1")

	const workers = 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Another worker may audit between this worker's lookup and its
			// next step. A conflict then is retried, as Temporal would.
			for attempt := 0; ; attempt++ {
				doc, err := env.client.EnsureSalesOrder(context.Background(), order)
				if connectors.KindOf(err) == connectors.KindConflict && attempt < 5 {
					continue
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if doc.Created {
					created++
				}
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("concurrent EnsureSalesOrder: %v", err)
	}
	if created != 1 {
		t.Errorf("%d calls report Created, want exactly 1", created)
	}
	if n := env.ledgerKinds("CT-RACE")["sales_order"]; n != 1 {
		t.Errorf("ledger has %d sales orders, want 1", n)
	}
}

func TestValidationErrors(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	mustCustomer(t, env.client, "C-1")

	zeroQuantity := salesOrder("SO-V1", "CT-V1", "C-404")
	zeroQuantity.Lines[0].Quantity = dec("0")
	wrongTotal := salesOrder("SO-V2", "CT-V2", "C-1")
	wrongTotal.Total = dec("1")
	unknownCurrency := salesOrder("SO-V3", "CT-V3", "C-1")
	unknownCurrency.Currency = "XTS"
	noNumber := salesOrder("", "CT-V4", "C-1")

	cases := []struct {
		name       string
		order      connectors.SalesOrder
		wantFields []connectors.FieldError
	}{
		{"rejected by Kingdee", zeroQuantity, []connectors.FieldError{
			{Field: "FCustId", Index: -1},
			{Field: "FQty", Index: 0},
		}},
		{"total differs from lines", wrongTotal, []connectors.FieldError{{Field: "FBillAllAmount", Index: -1}}},
		{"currency not configured", unknownCurrency, []connectors.FieldError{{Field: "FCURRENCYID", Index: -1}}},
		{"empty number", noNumber, []connectors.FieldError{{Field: "FBillNo", Index: -1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.client.EnsureSalesOrder(ctx, tc.order)
			ce := connectorError(t, err)
			if ce.Kind != connectors.KindValidation || ce.Retryable() {
				t.Fatalf("error %v: kind %s, want non-retryable validation", err, ce.Kind)
			}
			if len(ce.Fields) != len(tc.wantFields) {
				t.Fatalf("fields = %+v, want %+v", ce.Fields, tc.wantFields)
			}
			for i, want := range tc.wantFields {
				if ce.Fields[i].Field != want.Field || ce.Fields[i].Index != want.Index || ce.Fields[i].Message == "" {
					t.Errorf("field %d = %+v, want %s at index %d with a message", i, ce.Fields[i], want.Field, want.Index)
				}
			}
			if n := len(env.ledger(tc.order.ContractNo)); n != 0 {
				t.Errorf("rejected order left %d ledger entries", n)
			}
		})
	}
}

func TestSessionLostReloginOnce(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	mustCustomer(t, env.client, "C-1")
	if logins := env.sim.Stats().Logins; logins != 1 {
		t.Fatalf("logins before the test = %d, want 1", logins)
	}
	if n := env.sim.ExpireSessions(); n != 1 {
		t.Fatalf("expired %d sessions, want 1", n)
	}

	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			number := fmt.Sprintf("SO-S%02d", i)
			if _, err := env.client.EnsureSalesOrder(ctx, salesOrder(number, "CT-"+number, "C-1")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("EnsureSalesOrder after the session was lost: %v", err)
	}
	// Each of the 16 sessions the client may hold at once logs in again at
	// most once, however many calls the 20 goroutines make.
	if logins := env.sim.Stats().Logins; logins > 1+16 {
		t.Errorf("logins = %d, want at most 17: one before the expiry and one per pooled session after it", logins)
	}
}

// TestLostSessionEndsOnlyItsCall loses the session of one of eight calls
// in flight at once. Only that call is rejected; it logs in again and
// succeeds, and the other seven never notice.
func TestLostSessionEndsOnlyItsCall(t *testing.T) {
	env := newEnv(t, envOptions{})
	mustCustomer(t, env.client, "C-1")
	env.sim.Faults().SetConfig(simulators.FaultConfig{Latency: 200 * time.Millisecond})
	env.sim.InjectNext(sim.FaultSessionLost, "executebillquery")
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := env.client.QueryPage(context.Background(), QueryRequest{FormID: FormCustomer, FieldKeys: []string{"FNumber"}})
			if err != nil {
				err = fmt.Errorf("query %d: %w", i, err)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := env.sim.Stats().Rejected; got != 1 {
		t.Errorf("Kingdee rejected %d calls for a lost session, expected only the one whose session was lost", got)
	}
}

func TestSessionLostInQueryArray(t *testing.T) {
	t.Run("replayed after one login", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		mustCustomer(t, env.client, "C-1")
		env.sim.ExpireSessions()
		rows, err := env.client.QueryPage(context.Background(), QueryRequest{FormID: FormCustomer, FieldKeys: []string{"FNumber"}})
		if err != nil {
			t.Fatalf("QueryPage after the session was lost: %v", err)
		}
		if len(rows) != 1 || rows[0][0] != "C-1" {
			t.Errorf("rows = %v, want [[C-1]]", rows)
		}
		if logins := env.sim.Stats().Logins; logins != 2 {
			t.Errorf("logins = %d, want 2", logins)
		}
	})

	t.Run("lost again after login", func(t *testing.T) {
		var logins int
		var mu sync.Mutex
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "AuthService") {
				mu.Lock()
				logins++
				mu.Unlock()
				http.SetCookie(w, &http.Cookie{Name: "kdservice-sessionid", Value: "s", Path: "/"})
				fmt.Fprint(w, `{"LoginResultType":1,"KDSVCSessionId":"s"}`)
				return
			}
			fmt.Fprint(w, `[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"MsgCode":1}}}]]`)
		}))
		defer server.Close()
		client, err := New(Config{BaseURL: server.URL + "/k3cloud/", AccountID: "a", Username: "u", Password: "p", OrgNumber: "100", ReadRetries: -1})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		_, err = client.QueryPage(context.Background(), QueryRequest{FormID: FormCustomer, FieldKeys: []string{"FNumber"}})
		ce := connectorError(t, err)
		if ce.Kind != connectors.KindTransient {
			t.Errorf("kind = %s, want transient", ce.Kind)
		}
		if logins != 2 {
			t.Errorf("logins = %d, want 2: the first and one re-login", logins)
		}
	})
}

func TestQueryPaging(t *testing.T) {
	// Saving thousands of customers takes seconds under the race detector.
	env := newEnv(t, envOptions{client: func(c *Config) { c.Timeout = time.Minute }})
	ctx := context.Background()
	const total, batch = 4100, 1025
	for first := 0; first < total; first += batch {
		models := make([]any, batch)
		for i := range models {
			n := first + i
			models[i] = map[string]any{"FNumber": fmt.Sprintf("C%05d", n), "FName": fmt.Sprintf("Customer %d", n)}
		}
		raw, err := env.client.call(ctx, "BatchSave", formService("BatchSave"), map[string]any{"formid": FormCustomer, "data": map[string]any{"Model": models}})
		if err == nil {
			_, err = decodeWrite("BatchSave", raw)
		}
		if err != nil {
			t.Fatalf("BatchSave: %v", err)
		}
	}

	env.queries.Store(0)
	seen := map[string]bool{}
	err := env.client.Query(ctx, FormCustomer, []string{"FNumber", "FName"}, "FNumber LIKE 'C%'", func(row []any) error {
		if len(row) != 2 {
			return fmt.Errorf("row %v has %d values, want 2", row, len(row))
		}
		seen[cellText(row[0])] = true
		return nil
	})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if len(seen) != total {
		t.Errorf("Query returned %d distinct customers, want %d", len(seen), total)
	}
	if pages := env.queries.Load(); pages != 3 {
		t.Errorf("Query took %d pages, want 3 (2,000 + 2,000 + 100)", pages)
	}

	stop := errors.New("stop")
	calls := 0
	err = env.client.Query(ctx, FormCustomer, []string{"FNumber"}, "", func([]any) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Query after the callback failed: err %v after %d calls, want stop after 1", err, calls)
	}
}

func TestBadCredentials(t *testing.T) {
	env := newEnv(t, envOptions{})
	cases := []struct {
		name   string
		change func(*Config)
		secret string
	}{
		{"wrong password", func(c *Config) { c.Password = "wrong-password-value" }, "wrong-password-value"},
		{"wrong app secret", func(c *Config) { c.AppID, c.AppSecret = testAppID, "wrong-app-secret" }, "wrong-app-secret"},
		{"unknown data center", func(c *Config) { c.AccountID = "nope" }, testPassword},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := env.newClient(tc.change)
			_, err := client.UpsertCustomer(context.Background(), connectors.Customer{Number: "C-1", Name: "Acme"})
			ce := connectorError(t, err)
			if ce.Kind != connectors.KindAuth || connectors.IsRetryable(err) {
				t.Errorf("error %v: kind %s, want non-retryable auth", err, ce.Kind)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error message contains the credential: %v", err)
			}
		})
	}

	if _, err := env.newClient(func(c *Config) { c.AppID, c.AppSecret = testAppID, testSecret }).UpsertCustomer(context.Background(), connectors.Customer{Number: "C-1", Name: "Acme"}); err != nil {
		t.Errorf("login by app secret: %v", err)
	}
}

func TestFaultsClassifiedAndRetrySafe(t *testing.T) {
	env := newEnv(t, envOptions{client: func(c *Config) { c.Timeout = 300 * time.Millisecond }})
	ctx := context.Background()
	mustCustomer(t, env.client, "C-1")

	cases := []struct {
		fault      simulators.Fault
		wantKind   connectors.ErrorKind // "" means the call succeeds despite the fault
		wantStatus int
		// wantCreatedOnRetry is false when the faulty call did the work.
		wantCreatedOnRetry bool
	}{
		{simulators.FaultServerError, connectors.KindTransient, http.StatusInternalServerError, true},
		{simulators.FaultThrottle, connectors.KindThrottled, http.StatusTooManyRequests, true},
		{simulators.FaultTimeout, connectors.KindTransient, 0, true},
		{simulators.FaultLostReply, connectors.KindTransient, 0, false},
		{sim.FaultSessionLost, "", 0, false},
	}
	for i, tc := range cases {
		t.Run(string(tc.fault), func(t *testing.T) {
			contract := fmt.Sprintf("CT-F%d", i)
			order := salesOrder("SO-F"+fmt.Sprint(i), contract, "C-1")
			fault := tc.fault
			env.armed.Store(&fault)

			doc, err := env.client.EnsureSalesOrder(ctx, order)
			if tc.wantKind == "" {
				if err != nil || !doc.Created {
					t.Fatalf("call under %s = %+v, %v; want it replayed and created", tc.fault, doc, err)
				}
			} else {
				ce := connectorError(t, err)
				if ce.Kind != tc.wantKind || !ce.Retryable() || ce.StatusCode != tc.wantStatus {
					t.Fatalf("error %v: kind %s HTTP %d, want retryable %s HTTP %d", err, ce.Kind, ce.StatusCode, tc.wantKind, tc.wantStatus)
				}
				// The caller (Temporal) retries the activity.
				doc, err = env.client.EnsureSalesOrder(ctx, order)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if doc.Created != tc.wantCreatedOnRetry || doc.Status != "C" {
					t.Errorf("retry = %+v, want audited with Created %v", doc, tc.wantCreatedOnRetry)
				}
			}
			if n := env.ledgerKinds(contract)["sales_order"]; n != 1 {
				t.Errorf("ledger has %d sales orders for %s, want 1", n, contract)
			}
		})
	}
}

func TestRandomFaultsLeaveNoDuplicates(t *testing.T) {
	env := newEnv(t, envOptions{client: func(c *Config) { c.Timeout = 200 * time.Millisecond }})
	env.sim.Faults().SetConfig(simulators.FaultConfig{Rate: 0.3, Hang: 400 * time.Millisecond, Seed: 7})
	ctx := context.Background()

	// retry repeats a step while its error is retryable, as Temporal does
	// with an activity.
	retry := func(step string, fn func() error) error {
		var err error
		for attempt := 0; attempt < 60; attempt++ {
			if err = fn(); err == nil || !connectors.IsRetryable(err) {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
		return fmt.Errorf("%s still failing: %w", step, err)
	}

	const contracts = 6
	var wg sync.WaitGroup
	errs := make(chan error, contracts)
	for i := range contracts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			contract := fmt.Sprintf("CT-X%d", i)
			customer := fmt.Sprintf("C-X%d", i)
			steps := []struct {
				name string
				run  func() error
			}{
				{"customer", func() error {
					_, err := env.client.UpsertCustomer(ctx, connectors.Customer{Number: customer, Name: "Chaos " + customer})
					return err
				}},
				{"sales order", func() error {
					_, err := env.client.EnsureSalesOrder(ctx, salesOrder("SO-"+contract, contract, customer))
					return err
				}},
				{"production order", func() error {
					_, err := env.client.EnsureProductionOrder(ctx, productionOrder("MO-"+contract, contract))
					return err
				}},
				{"delivery", func() error {
					_, err := env.client.EnsureDelivery(ctx, delivery("DL-"+contract, contract, customer))
					return err
				}},
				{"receivable", func() error {
					_, err := env.client.EnsureReceivable(ctx, receivable("AR-"+contract, contract, customer))
					return err
				}},
				{"write-off", func() error {
					_, err := env.client.EnsureWriteOff(ctx, writeOff("WO-"+contract, "AR-"+contract, contract, customer))
					return err
				}},
			}
			for _, step := range steps {
				if err := retry(step.name, step.run); err != nil {
					errs <- fmt.Errorf("%s %s: %w", contract, step.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("chain under random faults: %v", err)
	}

	env.sim.Faults().SetConfig(simulators.FaultConfig{})
	for _, count := range env.summary() {
		if count.System != sim.System {
			continue
		}
		if count.Duplicated != 0 || count.Documents != contracts {
			t.Errorf("ledger %s: %d documents, %d duplicated; want %d and 0", count.Kind, count.Documents, count.Duplicated, contracts)
		}
	}
	for i := range contracts {
		contract := fmt.Sprintf("CT-X%d", i)
		if got := env.status(connectors.KindWriteOff, "WO-"+contract); got != "C" {
			t.Errorf("write-off of %s has status %q, want C", contract, got)
		}
	}
}

func TestProductionCompletion(t *testing.T) {
	callbacks := make(chan sim.CompletionCallback, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		timestamp, _ := strconv.ParseInt(r.Header.Get(sim.HeaderTimestamp), 10, 64)
		want := signing.Sign([]byte("callback-secret"), time.Unix(timestamp, 0), body)
		if !hmac.Equal([]byte(r.Header.Get(sim.HeaderSignature)), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var cb sim.CompletionCallback
		if err := json.Unmarshal(body, &cb); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		callbacks <- cb
	}))
	defer receiver.Close()
	configure := func(c *sim.Config) {
		c.CompletionDelay = 300 * time.Millisecond
		c.CallbackURL = receiver.URL
		c.CallbackSecret = "callback-secret"
	}
	ctx := context.Background()
	waitCompleted := func(t *testing.T, client *Client, number string) connectors.ProductionStatus {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, err := client.GetProductionStatus(ctx, number)
			if err != nil {
				t.Fatalf("GetProductionStatus: %v", err)
			}
			if status.Completed {
				return status
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not completed in time: %+v", number, status)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}

	t.Run("after the delay with a signed callback", func(t *testing.T) {
		env := newEnv(t, envOptions{sim: configure})
		started := time.Now()
		if _, err := env.client.EnsureProductionOrder(ctx, productionOrder("MO-1", "CT-1")); err != nil {
			t.Fatalf("EnsureProductionOrder: %v", err)
		}
		status, err := env.client.GetProductionStatus(ctx, "MO-1")
		if err != nil {
			t.Fatalf("GetProductionStatus: %v", err)
		}
		if status.Completed || status.Status != "3" {
			t.Errorf("right after audit: %+v, want released (3) and not completed", status)
		}
		status = waitCompleted(t, env.client, "MO-1")
		if status.Status != "5" || status.Cancelled || status.CompletedAt.Before(started.Add(-time.Second)) {
			t.Errorf("completed status = %+v, want 5 with a completion time after the start", status)
		}
		select {
		case cb := <-callbacks:
			if cb.Number != "MO-1" || cb.ContractNo != "CT-1" || cb.Status != "5" {
				t.Errorf("callback = %+v, want MO-1 of CT-1 with status 5", cb)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no signed callback arrived")
		}
	})

	t.Run("after a simulator restart", func(t *testing.T) {
		first := newEnv(t, envOptions{sim: configure})
		if _, err := first.client.EnsureProductionOrder(ctx, productionOrder("MO-2", "CT-2")); err != nil {
			t.Fatalf("EnsureProductionOrder: %v", err)
		}
		first.stop()

		second := newEnv(t, envOptions{sim: configure, path: first.path})
		waitCompleted(t, second.client, "MO-2")
		select {
		case cb := <-callbacks:
			if cb.Number != "MO-2" {
				t.Errorf("callback for %s, want MO-2", cb.Number)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no callback after the restart")
		}
	})

	t.Run("missing order", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		_, err := env.client.GetProductionStatus(ctx, "MO-404")
		if !connectors.IsNotFound(err) {
			t.Errorf("GetProductionStatus of a missing order: %v, want not found", err)
		}
	})
}

func TestCancelDocument(t *testing.T) {
	// The delay leaves MO-C2 time to be cancelled before it would complete.
	env := newEnv(t, envOptions{sim: func(c *sim.Config) { c.CompletionDelay = 500 * time.Millisecond }})
	ctx := context.Background()
	mustCustomer(t, env.client, "C-1")

	cases := []struct {
		name     string
		kind     connectors.DocumentKind
		number   string
		setup    func() error
		wantKind connectors.ErrorKind // "" means cancelled
		// wantStatus is FDocumentStatus afterwards, and "" means deleted.
		wantStatus string
	}{
		{"audited sales order", connectors.KindSalesOrder, "SO-C1", func() error {
			_, err := env.client.EnsureSalesOrder(ctx, salesOrder("SO-C1", "CT-C1", "C-1"))
			return err
		}, "", ""},
		{"released production order", connectors.KindProductionOrder, "MO-C2", func() error {
			_, err := env.client.EnsureProductionOrder(ctx, productionOrder("MO-C2", "CT-C2"))
			return err
		}, "", ""},
		{"completed production order", connectors.KindProductionOrder, "MO-C3", func() error {
			if _, err := env.client.EnsureProductionOrder(ctx, productionOrder("MO-C3", "CT-C3")); err != nil {
				return err
			}
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
				if status, err := env.client.GetProductionStatus(ctx, "MO-C3"); err != nil || status.Completed {
					return err
				}
			}
			return errors.New("MO-C3 did not complete")
		}, "", "C"},
		{"missing document", connectors.KindDelivery, "DL-404", func() error { return nil }, "", ""},
		{"written-off receivable", connectors.KindReceivable, "AR-C5", func() error {
			if _, err := env.client.EnsureReceivable(ctx, receivable("AR-C5", "CT-C5", "C-1")); err != nil {
				return err
			}
			_, err := env.client.EnsureWriteOff(ctx, writeOff("WO-C5", "AR-C5", "CT-C5", "C-1"))
			return err
		}, connectors.KindConflict, "C"},
		{"unknown kind", connectors.DocumentKind("invoice"), "X", func() error { return nil }, connectors.KindValidation, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.setup(); err != nil {
				t.Fatalf("setup: %v", err)
			}
			err := env.client.CancelDocument(ctx, tc.kind, tc.number)
			if tc.wantKind != "" {
				if ce := connectorError(t, err); ce.Kind != tc.wantKind {
					t.Errorf("error %v: kind %s, want %s", err, ce.Kind, tc.wantKind)
				}
			} else if err != nil {
				t.Fatalf("CancelDocument: %v", err)
			}
			if _, known := formsByKind[tc.kind]; !known {
				return
			}
			if got := env.status(tc.kind, tc.number); got != tc.wantStatus {
				t.Errorf("status after cancel = %q, want %q", got, tc.wantStatus)
			}
			if tc.wantKind == "" {
				if err := env.client.CancelDocument(ctx, tc.kind, tc.number); err != nil {
					t.Errorf("second CancelDocument: %v", err)
				}
			}
		})
	}

	status, err := env.client.GetProductionStatus(ctx, "MO-C3")
	if err != nil {
		t.Fatalf("GetProductionStatus: %v", err)
	}
	if status.Status != "6" || !status.Completed || status.Cancelled {
		t.Errorf("force-closed completed order = %+v, want status 6, completed, not cancelled", status)
	}
}

func TestDecodeAnswers(t *testing.T) {
	cases := []struct {
		name      string
		operation string
		raw       string
		query     bool
		wantKind  connectors.ErrorKind // "" means no error
		wantRows  int
	}{
		{"rows", "ExecuteBillQuery PRD_MO", `[["MO-1", 5], ["MO-2", 3]]`, true, "", 2},
		{"no rows", "ExecuteBillQuery PRD_MO", `[]`, true, "", 0},
		{"single-column rows", "ExecuteBillQuery PRD_MO", `[["MO-1"]]`, true, "", 1},
		{"error inside the array", "ExecuteBillQuery PRD_MO", `[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"","Message":"字段 FXYZ 不存在","DIndex":0}]}}}]]`, true, connectors.KindNotFound, 0},
		{"bad filter inside the array", "ExecuteBillQuery PRD_MO", `[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"","Message":"过滤条件错误","DIndex":0}]}}}]]`, true, connectors.KindValidation, 0},
		{"html instead of rows", "ExecuteBillQuery PRD_MO", `<html>error</html>`, true, connectors.KindProtocol, 0},
		{"audited document cannot be deleted", "Delete SAL_SaleOrder", `{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"","Message":"单据已审核，不能删除","DIndex":0}]}}}`, false, connectors.KindConflict, 0},
		{"field error with a number id", "Save SAL_SaleOrder", `{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FQty","Message":"第3行：数量必须大于 0","DIndex":0}]},"Id":""}}`, false, connectors.KindValidation, 0},
		{"success with numeric id", "Save SAL_SaleOrder", `{"Result":{"ResponseStatus":{"ErrorCode":0,"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":101,"Number":"SO-1","DIndex":0}]},"Id":101,"Number":"SO-1"}}`, false, "", 0},
		{"missing status", "Submit SAL_SaleOrder", `{"Result":{}}`, false, connectors.KindProtocol, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var rows [][]any
			if tc.query {
				rows, err = decodeRows(tc.operation, []byte(tc.raw))
			} else {
				_, err = decodeWrite(tc.operation, []byte(tc.raw))
			}
			if tc.wantKind == "" {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if len(rows) != tc.wantRows {
					t.Errorf("rows = %v, want %d", rows, tc.wantRows)
				}
				return
			}
			if ce := connectorError(t, err); ce.Kind != tc.wantKind {
				t.Errorf("kind = %s, want %s (%v)", ce.Kind, tc.wantKind, err)
			}
		})
	}

	_, err := decodeWrite("Save SAL_SaleOrder", []byte(`{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":[{"FieldName":"FQty","Message":"第3行：数量必须大于 0","DIndex":0}]}}}`))
	if ce := connectorError(t, err); len(ce.Fields) != 1 || ce.Fields[0].Index != 2 {
		t.Errorf("fields = %+v, want FQty at line index 2", ce.Fields)
	}
	if !sessionLost([]byte(`[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"Message":"会话信息已丢失，请重新登录"}]}}}]]`)) {
		t.Errorf("wrapped session-lost reply not recognised")
	}
	if sessionLost([]byte(`[["会话信息已丢失，请重新登录"]]`)) {
		t.Errorf("a row whose value is the message taken for a lost session")
	}
}

func TestConfigValidation(t *testing.T) {
	base := Config{BaseURL: "http://127.0.0.1:1/k3cloud/", AccountID: "a", Username: "u", Password: "p", OrgNumber: "100"}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"missing fields", func(c *Config) { c.BaseURL, c.OrgNumber = "", "" }, "missing BaseURL, OrgNumber"},
		{"no credential", func(c *Config) { c.Password = "" }, "set Password"},
		{"app id without secret", func(c *Config) { c.AppID = "x" }, "AppSecret is required"},
		{"not a URL", func(c *Config) { c.BaseURL = "127.0.0.1/k3cloud" }, "invalid BaseURL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.change(&cfg)
			_, err := New(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "p\"") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestEnsurePriceChangeOnce(t *testing.T) {
	env := newEnv(t, envOptions{client: func(c *Config) { c.Timeout = 300 * time.Millisecond }})
	ctx := context.Background()
	mustCustomer(t, env.client, "C-7")
	change := connectors.PriceChange{
		Number: "PC-AP-1", ApprovalID: "AP-1", CustomerNumber: "C-7", ProductNumber: "P-1",
		Currency: "CNY", UnitPrice: dec("480.50"), EffectiveFrom: testDate, Reason: "volume deal",
	}

	// The first Save's reply is lost after the simulator stored the list,
	// as when a worker dies mid-call; the retry must find that list.
	fault := simulators.FaultLostReply
	env.armed.Store(&fault)
	_, err := env.client.EnsurePriceChange(ctx, change)
	if ce := connectorError(t, err); !ce.Retryable() {
		t.Fatalf("lost reply gave %v, want a retryable error", err)
	}
	doc, err := env.client.EnsurePriceChange(ctx, change)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if doc.Created || doc.Status != "C" || doc.Kind != connectors.KindPriceList || doc.FormID != FormPriceList || doc.Number != "PC-AP-1" {
		t.Errorf("retry = %+v, want the audited price list the first call stored", doc)
	}
	again, err := env.client.EnsurePriceChange(ctx, change)
	if err != nil {
		t.Fatalf("third call: %v", err)
	}
	if again.ID != doc.ID {
		t.Errorf("third call returned document %s, want %s", again.ID, doc.ID)
	}
	if n := env.ledgerKinds("PC-AP-1")["price_list"]; n != 1 {
		t.Errorf("ledger has %d price lists PC-AP-1, want 1", n)
	}
}

func TestEnsurePriceChangeValidation(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	cases := []struct {
		name   string
		change connectors.PriceChange
		field  string
	}{
		{"unknown customer", connectors.PriceChange{Number: "PC-V1", CustomerNumber: "C-NONE", ProductNumber: "P-1", Currency: "CNY", UnitPrice: dec("10"), EffectiveFrom: testDate}, "FCustomerId"},
		{"zero price", connectors.PriceChange{Number: "PC-V2", CustomerNumber: "C-1", ProductNumber: "P-1", Currency: "CNY", UnitPrice: dec("0"), EffectiveFrom: testDate}, "FPrice"},
		{"no product", connectors.PriceChange{Number: "PC-V3", CustomerNumber: "C-1", Currency: "CNY", UnitPrice: dec("10"), EffectiveFrom: testDate}, "FMaterialId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.client.EnsurePriceChange(ctx, tc.change)
			ce := connectorError(t, err)
			if ce.Kind != connectors.KindValidation {
				t.Fatalf("error %v has kind %s, want validation", err, ce.Kind)
			}
			if len(ce.Fields) == 0 || ce.Fields[0].Field != tc.field {
				t.Errorf("error %v names fields %+v, want %s", err, ce.Fields, tc.field)
			}
		})
	}
}
