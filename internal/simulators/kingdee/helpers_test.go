package kingdee

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/simulators"
)

const (
	testAccount  = "ordo-test"
	testUser     = "administrator"
	testPassword = "test-password"
	testAppID    = "ordo-app"
	testSecret   = "test-app-secret"
)

// newTestSimulator starts a simulator on a temporary SQLite file behind an
// httptest server. change, if set, adjusts the configuration first.
func newTestSimulator(t *testing.T, change func(*Config)) (*Simulator, *httptest.Server) {
	t.Helper()
	cfg := Config{
		Path:            filepath.Join(t.TempDir(), "simulators.db"),
		AccountID:       testAccount,
		Username:        testUser,
		Password:        testPassword,
		AppID:           testAppID,
		AppSecret:       testSecret,
		CompletionDelay: time.Hour,
		PollInterval:    20 * time.Millisecond,
	}
	if change != nil {
		change(&cfg)
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	server := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		server.Close()
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sim, server
}

// rawClient posts WebAPI calls with a cookie jar, as a minimal Kingdee
// client does.
type rawClient struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newRawClient(t *testing.T, server *httptest.Server) *rawClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	return &rawClient{t: t, base: server.URL + "/k3cloud/", client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// post sends body to a service and returns the raw response.
func (c *rawClient) post(service string, body any) []byte {
	c.t.Helper()
	encoded, err := json.Marshal(body)
	if err != nil {
		c.t.Fatalf("encode request: %v", err)
	}
	resp, err := c.client.Post(c.base+service, "application/json", bytes.NewReader(encoded))
	if err != nil {
		c.t.Fatalf("POST %s: %v", service, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read response of %s: %v", service, err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("POST %s: HTTP %d: %s", service, resp.StatusCode, raw)
	}
	return raw
}

func (c *rawClient) login() loginReply {
	c.t.Helper()
	raw := c.post("Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc", map[string]any{
		"format": 1, "useragent": "ApiClient", "rid": map[string]any{},
		"parameters": []any{testAccount, testUser, testPassword, 2052},
		"timestamp":  "2026-01-01", "v": "1.0",
	})
	var response loginReply
	if err := json.Unmarshal(raw, &response); err != nil {
		c.t.Fatalf("decode login reply %s: %v", raw, err)
	}
	if response.LoginResultType != loginOK {
		c.t.Fatalf("login failed: %s", raw)
	}
	return response
}

// form calls a DynamicFormService method in the object form.
func (c *rawClient) form(method, formID string, data map[string]any) reply {
	c.t.Helper()
	raw := c.post("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."+method+".common.kdsvc", map[string]any{"formid": formID, "data": data})
	var response reply
	if err := json.Unmarshal(raw, &response); err != nil {
		c.t.Fatalf("decode %s reply %s: %v", method, raw, err)
	}
	return response
}

// mustSucceed fails the test unless the reply reports success.
func mustSucceed(t *testing.T, step string, response reply) {
	t.Helper()
	if !response.Result.ResponseStatus.IsSuccess {
		t.Fatalf("%s failed: %+v", step, response.Result.ResponseStatus.Errors)
	}
}

// query runs ExecuteBillQuery and returns the raw response.
func (c *rawClient) query(formID, fieldKeys, filter string, startRow, limit int) []byte {
	c.t.Helper()
	return c.post("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc", map[string]any{"data": map[string]any{
		"FormId": formID, "FieldKeys": fieldKeys, "FilterString": filter, "StartRow": startRow, "Limit": limit,
	}})
}

func (c *rawClient) rows(formID, fieldKeys, filter string) [][]any {
	c.t.Helper()
	raw := c.query(formID, fieldKeys, filter, 0, 0)
	var rows [][]any
	if err := json.Unmarshal(raw, &rows); err != nil {
		c.t.Fatalf("decode query rows %s: %v", raw, err)
	}
	for _, row := range rows {
		if len(row) == 1 {
			if _, isObject := row[0].(map[string]any); isObject {
				c.t.Fatalf("query of %s returned an error: %s", formID, raw)
			}
		}
	}
	return rows
}

// audit runs Save, Submit and Audit of one model.
func (c *rawClient) audit(formID string, model map[string]any) successEntity {
	c.t.Helper()
	saved := c.form("Save", formID, map[string]any{"Model": model})
	mustSucceed(c.t, "Save "+formID, saved)
	number := saved.Result.Number
	mustSucceed(c.t, "Submit "+formID, c.form("Submit", formID, map[string]any{"Numbers": []string{number}}))
	mustSucceed(c.t, "Audit "+formID, c.form("Audit", formID, map[string]any{"Numbers": []string{number}}))
	return saved.Result.ResponseStatus.SuccessEntitys[0]
}

func customerModel(number, name string) map[string]any {
	return map[string]any{"FNumber": number, "FName": name, "FCreateOrgId": map[string]any{"FNumber": "100"}}
}

func salesOrderModel(number, customer, contractNo string) map[string]any {
	return map[string]any{
		"FBillNo":           number,
		"FDate":             "2026-03-01",
		"FSaleOrgId":        map[string]any{"FNumber": "100"},
		"FCustId":           map[string]any{"FNumber": customer},
		"FSaleOrderFinance": map[string]any{"FSettleCurrId": map[string]any{"FNumber": "PRE001"}},
		"FSaleOrderEntry": []any{
			map[string]any{"FMaterialId": map[string]any{"FNumber": "P-1"}, "FQty": 2, "FTaxPrice": 565, "FAllAmount": 1130},
			map[string]any{"FMaterialId": map[string]any{"FNumber": "P-2"}, "FQty": 1, "FTaxPrice": "100.50"},
		},
		ContractNoField: contractNo,
	}
}

func productionOrderModel(number, contractNo string) map[string]any {
	return map[string]any{
		"FBillNo":       number,
		"FDate":         "2026-03-01",
		"FPrdOrgId":     map[string]any{"FNumber": "100"},
		"FTreeEntity":   []any{map[string]any{"FMaterialId": map[string]any{"FNumber": "P-1"}, "FQty": 2}},
		ContractNoField: contractNo,
	}
}

// ledgerEntries returns the Kingdee ledger entries of a contract.
func ledgerEntries(t *testing.T, sim *Simulator, contractNo string) []simulators.LedgerEntry {
	t.Helper()
	entries, err := simulators.NewLedger(sim.db).Entries(context.Background(), contractNo)
	if err != nil {
		t.Fatalf("read ledger: %v", err)
	}
	return entries
}

// recordingWorld keeps the sales orders reported to it.
type recordingWorld struct {
	simulators.NopWorld
	orders chan simulators.SalesOrderAudited
}

func (w *recordingWorld) SalesOrderAudited(_ context.Context, event simulators.SalesOrderAudited) error {
	w.orders <- event
	return nil
}
