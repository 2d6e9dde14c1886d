package einvoice_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/ordo-project/ordo/internal/signing"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/connectors"
	einvoiceconn "github.com/ordo-project/ordo/connectors/einvoice"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/einvoice"
)

var invoiceNumberPattern = regexp.MustCompile(`^[0-9]{20}$`)

func TestIssueProcessingThenIssued(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	world := &recordingWorld{}
	simulator := startSimulator(t, db, func(cfg *sim.Config) { cfg.World = world })
	client := newClient(t, simulator.URL(), nil)
	ctx := context.Background()

	request := validRequest(t, "CT-A1-INV-1", "CT-A1")
	accepted, err := client.Issue(ctx, request)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if accepted.Status != connectors.InvoiceProcessing {
		t.Errorf("status right after issue = %q, want %q", accepted.Status, connectors.InvoiceProcessing)
	}
	if accepted.InvoiceNo != "" {
		t.Errorf("invoice number before issuing = %q, want none", accepted.InvoiceNo)
	}
	if !accepted.TotalInclusive.Equal(dec(t, "12360")) {
		t.Errorf("total including tax = %s, want 12360", accepted.TotalInclusive)
	}

	issued := waitForStatus(t, client, request.SerialNo, connectors.InvoiceIssued, 3*time.Second)
	if !invoiceNumberPattern.MatchString(issued.InvoiceNo) {
		t.Errorf("invoice number %q is not 20 digits", issued.InvoiceNo)
	}
	if issued.IssuedAt.IsZero() {
		t.Error("issued invoice has no issue time")
	}
	if got := ledgerNumbers(t, db, "invoice", "CT-A1"); len(got) != 1 || got[0] != issued.InvoiceNo {
		t.Errorf("ledger invoices of CT-A1 = %v, want [%s]", got, issued.InvoiceNo)
	}

	deadline := time.Now().Add(2 * time.Second)
	for len(world.events()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	events := world.events()
	if len(events) != 1 {
		t.Fatalf("world received %d invoice events, want 1", len(events))
	}
	want := simulators.InvoiceIssued{
		SerialNo: request.SerialNo, InvoiceNo: issued.InvoiceNo, ContractNo: "CT-A1",
		BuyerName: request.BuyerName, Currency: "CNY",
	}
	got := events[0]
	if got.SerialNo != want.SerialNo || got.InvoiceNo != want.InvoiceNo || got.ContractNo != want.ContractNo ||
		got.BuyerName != want.BuyerName || got.Currency != want.Currency {
		t.Errorf("world event = %+v, want %+v", got, want)
	}
	if !got.TotalInclusive.Equal(dec(t, "12360")) {
		t.Errorf("world event total = %s, want 12360", got.TotalInclusive)
	}
}

func TestIssueRepeatIsIdempotent(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, nil)
	client := newClient(t, simulator.URL(), nil)
	ctx := context.Background()
	request := validRequest(t, "CT-B2-INV-1", "CT-B2")

	if _, err := client.Issue(ctx, request); err != nil {
		t.Fatalf("first issue: %v", err)
	}
	if _, err := client.Issue(ctx, request); err != nil {
		t.Fatalf("repeat while processing: %v", err)
	}
	issued := waitForStatus(t, client, request.SerialNo, connectors.InvoiceIssued, 3*time.Second)

	repeat, err := client.Issue(ctx, request)
	if err != nil {
		t.Fatalf("repeat after issuing: %v", err)
	}
	if repeat.Status != connectors.InvoiceIssued || repeat.InvoiceNo != issued.InvoiceNo {
		t.Errorf("repeat returned %s %q, want issued %q", repeat.Status, repeat.InvoiceNo, issued.InvoiceNo)
	}
	if got := ledgerNumbers(t, db, "invoice", "CT-B2"); len(got) != 1 {
		t.Errorf("ledger has %d invoices for CT-B2, want 1: %v", len(got), got)
	}
}

func TestIssueRepeatWithDifferentBodyConflicts(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, nil)
	client := newClient(t, simulator.URL(), nil)
	ctx := context.Background()

	request := validRequest(t, "CT-C3-INV-1", "CT-C3")
	if _, err := client.Issue(ctx, request); err != nil {
		t.Fatalf("first issue: %v", err)
	}
	changed := request
	changed.BuyerName = "另一家公司"
	_, err := client.Issue(ctx, changed)
	if err == nil {
		t.Fatal("issue with a reused serial number and a different body succeeded, want a conflict")
	}
	connectorErr := connectorError(t, err)
	if connectorErr.Kind != connectors.KindConflict || connectorErr.StatusCode != http.StatusConflict || connectorErr.Code != "1002" {
		t.Errorf("error = %v, want conflict with HTTP 409 and code 1002", err)
	}
	if connectorErr.Retryable() {
		t.Error("conflict is retryable, want not")
	}
}

func TestIssueValidation(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, nil)
	client := newClient(t, simulator.URL(), nil)

	type field struct {
		name  string
		index int
	}
	cases := []struct {
		name   string
		change func(*connectors.InvoiceRequest)
		// want lists the rejected fields; none means the request is valid.
		want []field
	}{
		{"tax code too short", func(r *connectors.InvoiceRequest) { r.Lines[0].TaxCode = "10905110" }, []field{{"tax_code", 0}}},
		{"tax code with letters", func(r *connectors.InvoiceRequest) { r.Lines[1].TaxCode = "30401000000000000AB" }, []field{{"tax_code", 1}}},
		{"rate not in force", func(r *connectors.InvoiceRequest) {
			r.Lines[0].TaxRate = dec(t, "0.17")
			r.Lines[0].Tax = r.Lines[0].Amount.Mul(dec(t, "0.17")).Round(2)
			recomputeTotals(r)
		}, []field{{"tax_rate", 0}}},
		{"amount with three decimals", func(r *connectors.InvoiceRequest) {
			r.Lines[0].Amount = r.Lines[0].Amount.Add(dec(t, "0.001"))
		}, []field{{"amount", 0}}},
		{"tax with three decimals", func(r *connectors.InvoiceRequest) {
			r.Lines[1].Tax = r.Lines[1].Tax.Add(dec(t, "0.004"))
		}, []field{{"tax", 1}}},
		{"tax off by more than 0.06", func(r *connectors.InvoiceRequest) {
			r.Lines[0].Tax = r.Lines[0].Tax.Add(dec(t, "0.07"))
			recomputeTotals(r)
		}, []field{{"tax", 0}}},
		{"tax off by exactly 0.06", func(r *connectors.InvoiceRequest) {
			r.Lines[0].Tax = r.Lines[0].Tax.Add(dec(t, "0.06"))
			recomputeTotals(r)
		}, nil},
		{"line differences above 1.27 in total", func(r *connectors.InvoiceRequest) {
			line := connectors.InvoiceLine{Name: "配件", TaxCode: testTaxCode, Amount: dec(t, "100.00"), TaxRate: dec(t, "0.13"), Tax: dec(t, "13.05")}
			r.Lines = nil
			for range 30 {
				r.Lines = append(r.Lines, line)
			}
			recomputeTotals(r)
		}, []field{{"total_tax", -1}}},
		{"total amount not the line sum", func(r *connectors.InvoiceRequest) {
			r.TotalAmount = r.TotalAmount.Add(dec(t, "1"))
			r.TotalInclusive = r.TotalAmount.Add(r.TotalTax)
		}, []field{{"total_amount", -1}}},
		{"total tax not the line sum", func(r *connectors.InvoiceRequest) {
			r.TotalTax = r.TotalTax.Sub(dec(t, "0.01"))
			r.TotalInclusive = r.TotalAmount.Add(r.TotalTax)
		}, []field{{"total_tax", -1}}},
		{"total inclusive not amount plus tax", func(r *connectors.InvoiceRequest) {
			r.TotalInclusive = r.TotalInclusive.Add(dec(t, "0.01"))
		}, []field{{"total_inclusive", -1}}},
		{"missing buyer", func(r *connectors.InvoiceRequest) { r.BuyerName = " " }, []field{{"buyer_name", -1}}},
		{"special invoice without buyer tax ID", func(r *connectors.InvoiceRequest) {
			r.Kind = connectors.InvoiceKindSpecial
		}, []field{{"buyer_tax_id", -1}}},
		{"special invoice with buyer tax ID", func(r *connectors.InvoiceRequest) {
			r.Kind = connectors.InvoiceKindSpecial
			r.BuyerTaxID = "91310000MA1FL8XQ3K"
		}, nil},
		{"unknown invoice kind", func(r *connectors.InvoiceRequest) { r.Kind = "04" }, []field{{"invoice_kind", -1}}},
		{"missing serial number", func(r *connectors.InvoiceRequest) { r.SerialNo = "" }, []field{{"serial_no", -1}}},
		{"no lines", func(r *connectors.InvoiceRequest) {
			r.Lines = nil
			recomputeTotals(r)
		}, []field{{"lines", -1}}},
		{"missing item name", func(r *connectors.InvoiceRequest) { r.Lines[1].Name = "" }, []field{{"name", 1}}},
		{"quantity with fourteen decimals", func(r *connectors.InvoiceRequest) {
			r.Lines[0].Quantity = dec(t, "2.00000000000001")
		}, []field{{"quantity", 0}}},
		{"unit price with thirteen decimals", func(r *connectors.InvoiceRequest) {
			r.Lines[0].Quantity = dec(t, "3")
			r.Lines[0].UnitPrice = r.Lines[0].Amount.DivRound(dec(t, "3"), 13)
		}, nil},
		{"quantity times price far from amount", func(r *connectors.InvoiceRequest) {
			r.Lines[0].UnitPrice = r.Lines[0].UnitPrice.Add(dec(t, "1"))
		}, []field{{"amount", 0}}},
		{"currency other than CNY", func(r *connectors.InvoiceRequest) { r.Currency = "USD" }, []field{{"currency", -1}}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			request := validRequest(t, "CT-V-INV-"+strconv.Itoa(i), "CT-V")
			tc.change(&request)
			_, err := client.Issue(context.Background(), request)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("issue of a valid request failed: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("issue succeeded, want rejected fields %v", tc.want)
			}
			connectorErr := connectorError(t, err)
			if connectorErr.Kind != connectors.KindValidation || connectorErr.StatusCode != http.StatusBadRequest {
				t.Fatalf("error = %v, want a validation error with HTTP 400", err)
			}
			var got []field
			for _, f := range connectorErr.Fields {
				got = append(got, field{f.Field, f.Index})
			}
			sort.Slice(got, func(a, b int) bool { return got[a].name < got[b].name })
			if len(got) != len(tc.want) {
				t.Fatalf("rejected fields = %v, want %v (error: %v)", got, tc.want, err)
			}
			for j := range got {
				if got[j] != tc.want[j] {
					t.Errorf("rejected field %d = %v, want %v (error: %v)", j, got[j], tc.want[j], err)
				}
			}
		})
	}
}

func TestRedLetterReversesInvoice(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, nil)
	client := newClient(t, simulator.URL(), nil)
	ctx := context.Background()

	blue := validRequest(t, "CT-R1-INV-1", "CT-R1")
	if _, err := client.Issue(ctx, blue); err != nil {
		t.Fatalf("issue blue invoice: %v", err)
	}

	early := connectors.RedLetterRequest{SerialNo: "CT-R1-RED-0", OriginalSerialNo: blue.SerialNo, Reason: "开票有误"}
	_, err := client.RedLetter(ctx, early)
	if connectors.KindOf(err) != connectors.KindConflict {
		t.Errorf("red letter before the blue invoice is issued: error %v, want a conflict", err)
	}

	issued := waitForStatus(t, client, blue.SerialNo, connectors.InvoiceIssued, 3*time.Second)
	red := connectors.RedLetterRequest{SerialNo: "CT-R1-RED-1", OriginalSerialNo: blue.SerialNo, Reason: "销货退回"}
	accepted, err := client.RedLetter(ctx, red)
	if err != nil {
		t.Fatalf("red letter: %v", err)
	}
	if accepted.Status != connectors.InvoiceProcessing {
		t.Errorf("red request status = %q, want processing", accepted.Status)
	}
	if repeat, err := client.RedLetter(ctx, red); err != nil || repeat.SerialNo != red.SerialNo {
		t.Errorf("repeated red letter = %+v, %v; want the same request", repeat, err)
	}

	redInvoice := waitForStatus(t, client, red.SerialNo, connectors.InvoiceIssued, 3*time.Second)
	if !invoiceNumberPattern.MatchString(redInvoice.InvoiceNo) || redInvoice.InvoiceNo == issued.InvoiceNo {
		t.Errorf("red invoice number = %q, want 20 digits other than the blue %q", redInvoice.InvoiceNo, issued.InvoiceNo)
	}
	if !redInvoice.TotalInclusive.Equal(issued.TotalInclusive.Neg()) {
		t.Errorf("red invoice total = %s, want %s", redInvoice.TotalInclusive, issued.TotalInclusive.Neg())
	}
	original, err := client.Get(ctx, blue.SerialNo)
	if err != nil {
		t.Fatalf("get original: %v", err)
	}
	if original.Status != connectors.InvoiceReversed || original.RedInvoiceNo != redInvoice.InvoiceNo {
		t.Errorf("original = %s with red invoice %q, want reversed by %q", original.Status, original.RedInvoiceNo, redInvoice.InvoiceNo)
	}

	again := connectors.RedLetterRequest{SerialNo: "CT-R1-RED-2", OriginalInvoiceNo: issued.InvoiceNo, Reason: "开票有误"}
	if _, err := client.RedLetter(ctx, again); connectors.KindOf(err) != connectors.KindConflict {
		t.Errorf("second reversal under a new serial number: error %v, want a conflict", err)
	}
	if got := ledgerNumbers(t, db, "red_invoice", "CT-R1"); len(got) != 1 || got[0] != redInvoice.InvoiceNo {
		t.Errorf("ledger red invoices of CT-R1 = %v, want [%s]", got, redInvoice.InvoiceNo)
	}
	if got := ledgerNumbers(t, db, "invoice", "CT-R1"); len(got) != 1 {
		t.Errorf("ledger blue invoices of CT-R1 = %v, want one", got)
	}
}

func TestIssueFailsAsynchronously(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	world := &recordingWorld{}
	simulator := startSimulator(t, db, func(cfg *sim.Config) {
		cfg.World = world
		cfg.Faults = simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{sim.FaultIssueFailed}}
	})
	client := newClient(t, simulator.URL(), nil)

	request := validRequest(t, "CT-F1-INV-1", "CT-F1")
	accepted, err := client.Issue(context.Background(), request)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if accepted.Status != connectors.InvoiceProcessing {
		t.Errorf("status right after issue = %q, want processing", accepted.Status)
	}
	simulator.Injector().SetConfig(simulators.FaultConfig{})

	failed := waitForStatus(t, client, request.SerialNo, connectors.InvoiceFailed, 3*time.Second)
	if failed.FailureReason == "" || failed.InvoiceNo != "" {
		t.Errorf("failed invoice has reason %q and number %q, want a reason and no number", failed.FailureReason, failed.InvoiceNo)
	}
	if got := ledgerNumbers(t, db, "invoice", "CT-F1"); len(got) != 0 {
		t.Errorf("ledger has invoices %v for a failed request, want none", got)
	}
	if events := world.events(); len(events) != 0 {
		t.Errorf("world received %d events for a failed request, want none", len(events))
	}
}

// callbackReceiver is an HTTP server on loopback that fails the first
// deliveries and records the verified events.
type callbackReceiver struct {
	mu       sync.Mutex
	failures int
	attempts int
	events   []einvoiceconn.CallbackEvent
	invalid  []error
}

func (c *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	if c.failures > 0 {
		c.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := einvoiceconn.VerifyCallback(testAppSecret, r.Header, body, time.Now(), time.Minute); err != nil {
		c.invalid = append(c.invalid, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	event, err := einvoiceconn.ParseCallback(body)
	if err != nil {
		c.invalid = append(c.invalid, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.events = append(c.events, event)
	w.WriteHeader(http.StatusNoContent)
}

func (c *callbackReceiver) snapshot() (attempts int, events []einvoiceconn.CallbackEvent, invalid []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts, append([]einvoiceconn.CallbackEvent(nil), c.events...), append([]error(nil), c.invalid...)
}

func TestCallbackSignedAndRetried(t *testing.T) {
	receiver := &callbackReceiver{failures: 2}
	server := httptest.NewServer(receiver)
	t.Cleanup(server.Close)

	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, func(cfg *sim.Config) { cfg.CallbackURL = server.URL })
	client := newClient(t, simulator.URL(), nil)
	request := validRequest(t, "CT-K1-INV-1", "CT-K1")
	if _, err := client.Issue(context.Background(), request); err != nil {
		t.Fatalf("issue: %v", err)
	}
	issued := waitForStatus(t, client, request.SerialNo, connectors.InvoiceIssued, 3*time.Second)

	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, events, _ := receiver.snapshot(); len(events) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	attempts, events, invalid := receiver.snapshot()
	if len(invalid) > 0 {
		t.Fatalf("receiver rejected callbacks: %v", invalid)
	}
	if len(events) != 1 {
		t.Fatalf("receiver accepted %d events, want 1", len(events))
	}
	if attempts != 3 {
		t.Errorf("deliveries = %d, want 3 (two failures, then success)", attempts)
	}
	event := events[0]
	if event.Event != einvoiceconn.EventIssued || event.Invoice.InvoiceNo != issued.InvoiceNo || event.ID == "" {
		t.Errorf("event = %+v, want %s of invoice %s with an ID", event, einvoiceconn.EventIssued, issued.InvoiceNo)
	}
}

func TestCallbackSignatureRejectsTampering(t *testing.T) {
	body := []byte(`{"event_id":"x:invoice.issued"}`)
	timestamp := strconv.FormatInt(time.Now().Unix(), 10)
	header := http.Header{}
	header.Set(einvoiceconn.HeaderCallbackTimestamp, timestamp)
	seconds, _ := strconv.ParseInt(timestamp, 10, 64)
	header.Set(einvoiceconn.HeaderCallbackSignature, signing.Sign([]byte(testAppSecret), time.Unix(seconds, 0), body))

	if err := einvoiceconn.VerifyCallback(testAppSecret, header, body, time.Now(), time.Minute); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	tampered := append(bytes.Clone(body), ' ')
	if err := einvoiceconn.VerifyCallback(testAppSecret, header, tampered, time.Now(), time.Minute); err == nil {
		t.Error("changed body accepted, want a signature error")
	}
	if err := einvoiceconn.VerifyCallback(testAppSecret, header, body, time.Now().Add(2*time.Minute), time.Minute); err == nil {
		t.Error("stale timestamp accepted, want a signature error")
	}
	if err := einvoiceconn.VerifyCallback("other-secret", header, body, time.Now(), time.Minute); err == nil {
		t.Error("signature with another secret accepted, want a signature error")
	}
}

func TestRestartMidIssue(t *testing.T) {
	path := tempDBPath(t)
	firstDB := openDB(t, path)
	first := startSimulator(t, firstDB, func(cfg *sim.Config) { cfg.IssueDelay = 400 * time.Millisecond })
	request := validRequest(t, "CT-S1-INV-1", "CT-S1")
	if _, err := newClient(t, first.URL(), nil).Issue(context.Background(), request); err != nil {
		t.Fatalf("issue before restart: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("stop first simulator: %v", err)
	}
	if err := firstDB.Close(); err != nil {
		t.Fatalf("close first database: %v", err)
	}

	secondDB := openDB(t, path)
	world := &recordingWorld{failures: 1}
	second := startSimulator(t, secondDB, func(cfg *sim.Config) { cfg.World = world })
	client := newClient(t, second.URL(), nil)
	issued := waitForStatus(t, client, request.SerialNo, connectors.InvoiceIssued, 3*time.Second)

	if got := ledgerNumbers(t, secondDB, "invoice", "CT-S1"); len(got) != 1 || got[0] != issued.InvoiceNo {
		t.Errorf("ledger invoices after restart = %v, want [%s]", got, issued.InvoiceNo)
	}
	// The first report fails, so the event must arrive through the retry.
	deadline := time.Now().Add(2 * time.Second)
	for len(world.events()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if events := world.events(); len(events) != 1 {
		t.Errorf("world received %d events, want exactly 1 after one failed report", len(events))
	}
}

// rawRequest sends a GET signed with the given timestamp and nonce and
// returns the HTTP status and envelope code.
func rawRequest(t *testing.T, baseURL, path, timestamp, nonce, secret string) (int, string) {
	t.Helper()
	bodyHash := sha256.Sum256(nil)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("GET\n" + path + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(bodyHash[:])))
	request, err := http.NewRequest(http.MethodGet, baseURL+path, nil)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	request.Header.Set("X-App-Key", testAppKey)
	request.Header.Set("X-Timestamp", timestamp)
	request.Header.Set("X-Nonce", nonce)
	request.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("send request: %v", err)
	}
	defer response.Body.Close()
	var reply struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(response.Body).Decode(&reply); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return response.StatusCode, reply.Code
}

func TestAuthentication(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, nil)
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	stale := strconv.FormatInt(time.Now().Add(-10*time.Minute).UnixMilli(), 10)

	cases := []struct {
		name       string
		timestamp  string
		nonce      string
		secret     string
		wantStatus int
		wantCode   string
	}{
		{"valid request for unknown serial", now, "nonce-0001", testAppSecret, http.StatusNotFound, "1004"},
		{"reused nonce", now, "nonce-0001", testAppSecret, http.StatusUnauthorized, "2003"},
		{"wrong secret", now, "nonce-0002", "wrong-secret", http.StatusUnauthorized, "2001"},
		{"stale timestamp", stale, "nonce-0003", testAppSecret, http.StatusUnauthorized, "2002"},
		{"short nonce", now, "abc", testAppSecret, http.StatusUnauthorized, "2001"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := rawRequest(t, simulator.URL(), "/v1/invoices/NO-SUCH-SERIAL", tc.timestamp, tc.nonce, tc.secret)
			if status != tc.wantStatus || code != tc.wantCode {
				t.Errorf("reply = HTTP %d code %s, want HTTP %d code %s", status, code, tc.wantStatus, tc.wantCode)
			}
		})
	}

	client := newClient(t, simulator.URL(), func(cfg *einvoiceconn.Config) { cfg.AppSecret = "wrong-secret" })
	_, err := client.Get(context.Background(), "ANY")
	if connectors.KindOf(err) != connectors.KindAuth {
		t.Errorf("connector with a wrong secret: error %v, want kind auth", err)
	}
}

func TestFaultsAdminEndpoint(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	simulator := startSimulator(t, db, nil)

	body := []byte(`{"rate":0.25,"kinds":["throttle"],"seed":7}`)
	request, err := http.NewRequest(http.MethodPut, simulator.URL()+"/sim/faults", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("PUT /sim/faults: %v", err)
	}
	_ = response.Body.Close()
	if response.StatusCode != http.StatusOK {
		t.Fatalf("PUT /sim/faults = HTTP %d, want 200", response.StatusCode)
	}
	got := simulator.Injector().Config()
	if got.Rate != 0.25 || len(got.Kinds) != 1 || got.Kinds[0] != simulators.FaultThrottle {
		t.Errorf("fault configuration = %+v, want rate 0.25 and kind throttle", got)
	}

	response, err = http.Get(simulator.URL() + "/sim/faults")
	if err != nil {
		t.Fatalf("GET /sim/faults: %v", err)
	}
	defer response.Body.Close()
	var reply struct {
		Data simulators.FaultConfig `json:"data"`
	}
	if err := json.NewDecoder(response.Body).Decode(&reply); err != nil {
		t.Fatalf("decode GET /sim/faults: %v", err)
	}
	if reply.Data.Rate != 0.25 {
		t.Errorf("GET /sim/faults rate = %v, want 0.25", reply.Data.Rate)
	}
}
