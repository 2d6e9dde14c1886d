package api

import (
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

const (
	productionPath = "/api/v1/callbacks/erp/production"
	einvoicePath   = "/api/v1/callbacks/einvoice"
)

// productionBody is the ERP's completion callback for contract no.
func productionBody(no string) map[string]any {
	return map[string]any{
		"form_id":      "PRD_MO",
		"number":       numbering.ProductionOrderNo(no),
		"status":       "5",
		"contract_no":  no,
		"completed_at": "2026-12-04T09:30:00Z",
	}
}

// invoiceBody is the e-invoice service's callback for an issued invoice.
// contractNo is left out of the data when empty.
func invoiceBody(serial, contractNo string) map[string]any {
	data := map[string]any{
		"serial_no":       serial,
		"status":          "issued",
		"red":             false,
		"invoice_no":      "24310000000000001234",
		"issued_at":       "2026-12-04T09:45:00Z",
		"total_inclusive": "7484.11",
	}
	if contractNo != "" {
		data["contract_no"] = contractNo
	}
	return map[string]any{
		"event_id":    serial + ":invoice.issued",
		"event":       "invoice.issued",
		"occurred_at": "2026-12-04T09:45:01Z",
		"data":        data,
	}
}

// TestCallbacksDelivered checks that each valid callback reaches the
// chain it names as a signal with the callback's data.
func TestCallbacksDelivered(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)

	t.Run("production completed", func(t *testing.T) {
		no := uniqueNo(t)
		contract := seedContract(t, ts, no, store.ContractInProduction, true)
		resp := ts.postSigned(productionPath, mustJSON(t, productionBody(no)))
		expectStatus(t, resp, http.StatusOK, "accepted")
		signals := signalsOf[workflows.ProductionCompletedSignal](t, contract.WorkflowID, workflows.SignalProductionCompleted)
		if len(signals) != 1 {
			t.Fatalf("%d production-completed signals, expected 1", len(signals))
		}
		if signals[0].Number != numbering.ProductionOrderNo(no) {
			t.Errorf("signal number = %s, expected %s", signals[0].Number, numbering.ProductionOrderNo(no))
		}
		if expected := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC); !signals[0].CompletedAt.Equal(expected) {
			t.Errorf("signal completed_at = %s, expected %s", signals[0].CompletedAt, expected)
		}
	})

	t.Run("production number only", func(t *testing.T) {
		no := uniqueNo(t)
		contract := seedContract(t, ts, no, store.ContractInProduction, true)
		body := productionBody(no)
		delete(body, "contract_no")
		delete(body, "completed_at")
		resp := ts.postSigned(productionPath, mustJSON(t, body))
		expectStatus(t, resp, http.StatusOK, "accepted")
		signals := signalsOf[workflows.ProductionCompletedSignal](t, contract.WorkflowID, workflows.SignalProductionCompleted)
		if len(signals) != 1 || !signals[0].CompletedAt.Equal(testNow) {
			t.Errorf("signals = %+v, expected one completed at the API's clock %s", signals, testNow)
		}
	})

	invoiceCases := []struct {
		name         string
		contractNo   string
		serialSuffix string
		echo         bool
	}{
		{"invoice", uniqueNo(t), "", true},
		{"invoice without contract_no", uniqueNo(t), "", false},
		{"reissued invoice without contract_no", uniqueNo(t), "-R2", false},
		// Opportunity ids that start with R give contract numbers with -R
		// inside, such as CT-REJ11LRY of the sample export.
		{"contract number with -R inside", "CT-R" + uniqueNo(t)[4:], "", false},
		{"reissue of contract number with -R inside", "CT-R" + uniqueNo(t)[4:], "-R1", false},
		{"contract number ending in -R<n>", uniqueNo(t) + "-R7", "", true},
	}
	for _, tc := range invoiceCases {
		t.Run(tc.name, func(t *testing.T) {
			contract := seedContract(t, ts, tc.contractNo, store.ContractDelivered, true)
			serial := numbering.InvoiceSerial(tc.contractNo) + tc.serialSuffix
			echoed := ""
			if tc.echo {
				echoed = tc.contractNo
			}
			resp := ts.postSigned(einvoicePath, mustJSON(t, invoiceBody(serial, echoed)))
			expectStatus(t, resp, http.StatusOK, "accepted")
			signals := signalsOf[workflows.InvoiceUpdatedSignal](t, contract.WorkflowID, workflows.SignalInvoiceUpdated)
			if len(signals) != 1 {
				t.Fatalf("%d invoice-updated signals to %s, expected 1", len(signals), contract.WorkflowID)
			}
			invoice := signals[0].Invoice
			if invoice.SerialNo != serial || invoice.Status != connectors.InvoiceIssued || invoice.InvoiceNo != "24310000000000001234" {
				t.Errorf("signalled invoice = %+v, expected %s issued as 24310000000000001234", invoice, serial)
			}
			if invoice.TotalInclusive.String() != "7484.11" {
				t.Errorf("signalled total = %s, expected 7484.11", invoice.TotalInclusive)
			}
		})
	}
}

// TestCallbacksIgnored checks callbacks that are valid but have nothing
// to act on. The response is 200, so the sender stops retrying.
func TestCallbacksIgnored(t *testing.T) {
	ts := newTestServer(t, "sqlite", withIdleStarter)

	t.Run("contract without chain", func(t *testing.T) {
		no := uniqueNo(t)
		seedContract(t, ts, no, store.ContractSigned, false)
		expectStatus(t, ts.postSigned(productionPath, mustJSON(t, productionBody(no))), http.StatusOK, "ignored")
		expectStatus(t, ts.postSigned(einvoicePath, mustJSON(t, invoiceBody(numbering.InvoiceSerial(no), no))), http.StatusOK, "ignored")
	})

	t.Run("unknown contract", func(t *testing.T) {
		no := uniqueNo(t)
		expectStatus(t, ts.postSigned(productionPath, mustJSON(t, productionBody(no))), http.StatusOK, "ignored")
	})

	t.Run("ended chain", func(t *testing.T) {
		no := uniqueNo(t)
		contract := seedContract(t, ts, no, store.ContractInProduction, true)
		terminateWorkflow(t, contract.WorkflowID)
		expectStatus(t, ts.postSigned(productionPath, mustJSON(t, productionBody(no))), http.StatusOK, "ignored")
		expectStatus(t, ts.postSigned(einvoicePath, mustJSON(t, invoiceBody(numbering.InvoiceSerial(no), no))), http.StatusOK, "ignored")
	})

	t.Run("production not completed", func(t *testing.T) {
		no := uniqueNo(t)
		contract := seedContract(t, ts, no, store.ContractInProduction, true)
		body := productionBody(no)
		body["status"] = "4"
		expectStatus(t, ts.postSigned(productionPath, mustJSON(t, body)), http.StatusOK, "ignored")
		if signals := signalsOf[workflows.ProductionCompletedSignal](t, contract.WorkflowID, workflows.SignalProductionCompleted); len(signals) != 0 {
			t.Errorf("production order in status 4 signalled as completed: %+v", signals)
		}
	})
}

// TestCallbacksRejected sends callbacks that must not reach a chain.
func TestCallbacksRejected(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	no := uniqueNo(t)
	contract := seedContract(t, ts, no, store.ContractInProduction, true)
	serial := numbering.InvoiceSerial(no)
	signed := func(body []byte) http.Header {
		header := http.Header{}
		signing.SetHeaders(header, testSecret, testNow, body)
		return header
	}
	production := func(field string, value any) []byte {
		body := productionBody(no)
		if value == nil {
			delete(body, field)
		} else {
			body[field] = value
		}
		return mustJSON(t, body)
	}
	invoice := func(change func(map[string]any)) []byte {
		body := invoiceBody(serial, no)
		change(body)
		return mustJSON(t, body)
	}
	invoiceData := func(field string, value any) []byte {
		return invoice(func(b map[string]any) { b["data"].(map[string]any)[field] = value })
	}

	cases := []struct {
		name   string
		path   string
		body   []byte
		header func(body []byte) http.Header
		status int
		code   string
		words  []string
	}{
		{"production wrong secret", productionPath, production("status", "5"), func(body []byte) http.Header {
			header := http.Header{}
			signing.SetHeaders(header, []byte("another secret"), testNow, body)
			return header
		}, http.StatusUnauthorized, "invalid_signature", []string{"does not match"}},
		{"production unsigned", productionPath, production("status", "5"), func([]byte) http.Header { return http.Header{} },
			http.StatusUnauthorized, "invalid_signature", []string{signing.HeaderSignature}},
		{"production stale", productionPath, production("status", "5"), func(body []byte) http.Header {
			header := http.Header{}
			signing.SetHeaders(header, testSecret, testNow.Add(-time.Hour), body)
			return header
		}, http.StatusUnauthorized, "invalid_signature", []string{"window"}},
		{"production invalid JSON", productionPath, []byte(`{"number":`), signed,
			http.StatusBadRequest, "invalid_argument", []string{"invalid JSON"}},
		{"production unknown field", productionPath, production("quantity", 3), signed,
			http.StatusBadRequest, "invalid_argument", []string{"quantity"}},
		{"production without number", productionPath, production("number", nil), signed,
			http.StatusBadRequest, "invalid_argument", []string{"number"}},
		{"production number of another system", productionPath, func() []byte {
			body := productionBody(no)
			body["number"] = "MO000123"
			delete(body, "contract_no")
			return mustJSON(t, body)
		}(), signed, http.StatusBadRequest, "invalid_argument", []string{"MO000123"}},
		{"production completed_at not a time", productionPath, production("completed_at", "04.12.2026"), signed,
			http.StatusBadRequest, "invalid_argument", []string{"completed_at", "04.12.2026"}},

		{"invoice wrong secret", einvoicePath, invoice(func(map[string]any) {}), func(body []byte) http.Header {
			header := http.Header{}
			signing.SetHeaders(header, []byte("another secret"), testNow, body)
			return header
		}, http.StatusUnauthorized, "invalid_signature", []string{"does not match"}},
		{"invoice invalid JSON", einvoicePath, []byte(`[1, 2`), signed,
			http.StatusBadRequest, "invalid_argument", []string{"decode"}},
		{"invoice without event_id", einvoicePath, invoice(func(b map[string]any) { delete(b, "event_id") }), signed,
			http.StatusBadRequest, "invalid_argument", []string{"event_id"}},
		{"invoice occurred_at not a time", einvoicePath, invoice(func(b map[string]any) { b["occurred_at"] = "now" }), signed,
			http.StatusBadRequest, "invalid_argument", []string{"occurred_at"}},
		{"invoice unknown status", einvoicePath, invoiceData("status", "printed"), signed,
			http.StatusBadRequest, "invalid_argument", []string{"printed"}},
		{"invoice total not a number", einvoicePath, invoiceData("total_inclusive", "a lot"), signed,
			http.StatusBadRequest, "invalid_argument", []string{"total_inclusive"}},
		{"invoice serial of another system", einvoicePath, invoice(func(b map[string]any) {
			data := b["data"].(map[string]any)
			data["serial_no"] = "FP-2026-0001"
			delete(data, "contract_no")
		}), signed, http.StatusBadRequest, "invalid_argument", []string{"FP-2026-0001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header(tc.body)
			header.Set("Content-Type", "application/json")
			ts.do(http.MethodPost, tc.path, tc.body, header).expectError(t, tc.status, tc.code, tc.words...)
		})
	}
	if n := len(signalsOf[workflows.ProductionCompletedSignal](t, contract.WorkflowID, workflows.SignalProductionCompleted)); n != 0 {
		t.Errorf("%d production-completed signals after rejected callbacks, expected none", n)
	}
	if n := len(signalsOf[workflows.InvoiceUpdatedSignal](t, contract.WorkflowID, workflows.SignalInvoiceUpdated)); n != 0 {
		t.Errorf("%d invoice-updated signals after rejected callbacks, expected none", n)
	}
}

func TestCallbacksWithoutSecret(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(s *Server) { s.WebhookSecret = nil })
	no := uniqueNo(t)
	for _, path := range []string{productionPath, einvoicePath} {
		ts.postSigned(path, mustJSON(t, productionBody(no))).expectError(t, http.StatusServiceUnavailable, "not_configured")
	}
}

func TestContractNoFromDocument(t *testing.T) {
	cases := []struct {
		number   string
		expected string
	}{
		{"MO-CT-1C1I7A6R", "CT-1C1I7A6R"},
		{"SO-CT-1C1I7A6R", "CT-1C1I7A6R"},
		{"INV-CT-1C1I7A6R", "CT-1C1I7A6R"},
		{"INV-CT-1C1I7A6R-R1", "CT-1C1I7A6R"},
		{"INV-CT-1C1I7A6R-R12", "CT-1C1I7A6R"},
		{"INV-CT-REJ11LRY", "CT-REJ11LRY"},
		{"INV-CT-REJ11LRY-R3", "CT-REJ11LRY"},
		{"INV-CT-R4F4RGAL", "CT-R4F4RGAL"},
		{"INV-CT-X-RAY", "CT-X-RAY"},
		{"RED-CT-REJ11LRY", "CT-REJ11LRY"},
		{"INV-", ""},
		{"MO000123", ""},
		{"", ""},
	}
	for _, tc := range cases {
		if got := contractNoFromDocument(tc.number); got != tc.expected {
			t.Errorf("contractNoFromDocument(%q) = %q, expected %q", tc.number, got, tc.expected)
		}
	}
}

// expectStatus checks the status code and the "status" field of a JSON
// response.
func expectStatus(t *testing.T, resp response, code int, status string) {
	t.Helper()
	if resp.status != code {
		t.Fatalf("status code = %d, expected %d; body %s", resp.status, code, resp.body)
	}
	var body struct {
		Status string `json:"status"`
	}
	resp.decode(t, &body)
	if body.Status != status {
		t.Errorf("status = %q, expected %q; body %s", body.Status, status, resp.body)
	}
}

// TestTemporalUnavailable checks the responses when Temporal cannot be
// reached. The sender of a callback is told to retry, and so is a person
// cancelling a contract.
func TestTemporalUnavailable(t *testing.T) {
	address, err := freeLoopbackAddress()
	if err != nil {
		t.Fatalf("reserve an unused port: %v", err)
	}
	unreachable, err := client.NewLazyClient(client.Options{
		HostPort: address,
		Logger:   logging.NewSDKLogger(logging.Discard().WithField(logging.KeyComponent, "test-client")),
	})
	if err != nil {
		t.Fatalf("create client for %s: %v", address, err)
	}
	t.Cleanup(unreachable.Close)
	ts := newTestServer(t, "sqlite", func(s *Server) { s.Temporal = unreachable })
	no := uniqueNo(t)
	seedContract(t, ts, no, store.ContractInProduction, false)

	ts.postSigned(productionPath, mustJSON(t, productionBody(no))).expectError(t, http.StatusServiceUnavailable, "temporal_unavailable", "retry")
	ts.do(http.MethodPost, "/api/v1/contracts/"+no+"/cancel", []byte(`{"reason":"test"}`), nil).
		expectError(t, http.StatusServiceUnavailable, "temporal_unavailable", "retry")
}
