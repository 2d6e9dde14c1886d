package kingdee

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ordo-project/ordo/internal/signing"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/simulators"
)

func TestLoginResults(t *testing.T) {
	_, server := newTestSimulator(t, nil)
	cases := []struct {
		name    string
		service string
		params  []any
		want    int
	}{
		{"password ok", "ValidateUser", []any{testAccount, testUser, testPassword, 2052}, loginOK},
		{"wrong password", "ValidateUser", []any{testAccount, testUser, "nope", 2052}, loginBadPassword},
		{"unknown data center", "ValidateUser", []any{"other", testUser, testPassword, 2052}, loginFailure},
		{"app secret ok", "LoginByAppSecret", []any{testAccount, testUser, testAppID, testSecret, 2052}, loginOK},
		{"wrong app secret", "LoginByAppSecret", []any{testAccount, testUser, testAppID, "nope", 2052}, loginFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newRawClient(t, server)
			raw := client.post("Kingdee.BOS.WebApi.ServicesStub.AuthService."+tc.service+".common.kdsvc",
				map[string]any{"format": 1, "useragent": "ApiClient", "rid": map[string]any{}, "parameters": tc.params, "v": "1.0"})
			var response loginReply
			if err := json.Unmarshal(raw, &response); err != nil {
				t.Fatalf("decode %s: %v", raw, err)
			}
			if response.LoginResultType != tc.want {
				t.Errorf("LoginResultType = %d, want %d (%s)", response.LoginResultType, tc.want, response.Message)
			}
			if strings.Contains(string(raw), testPassword) || strings.Contains(string(raw), testSecret) {
				t.Errorf("login reply echoes a credential: %s", raw)
			}
		})
	}
}

func TestSessionRequiredAndExpires(t *testing.T) {
	sim, server := newTestSimulator(t, func(c *Config) { c.SessionIdleTimeout = 200 * time.Millisecond })
	client := newRawClient(t, server)

	response := client.form("View", FormCustomer, map[string]any{"Number": "C1"})
	if !strings.Contains(firstMessage(response), SessionLostMessage) {
		t.Fatalf("call without login: want session-lost message, got %+v", response.Result.ResponseStatus)
	}
	if response.Result.ResponseStatus.ErrorCode != 500 {
		t.Errorf("session-lost ErrorCode = %d, want 500", response.Result.ResponseStatus.ErrorCode)
	}

	raw := client.query(FormCustomer, "FNumber", "", 0, 0)
	var wrapped [][]reply
	if err := json.Unmarshal(raw, &wrapped); err != nil || len(wrapped) != 1 || len(wrapped[0]) != 1 {
		t.Fatalf("query without login: want [[{Result}]], got %s", raw)
	}
	if !strings.Contains(firstMessage(wrapped[0][0]), SessionLostMessage) {
		t.Errorf("wrapped query error does not say the session is lost: %s", raw)
	}

	client.login()
	if rows := client.rows(FormCustomer, "FNumber", ""); len(rows) != 0 {
		t.Errorf("empty form returned %d rows", len(rows))
	}
	time.Sleep(300 * time.Millisecond)
	response = client.form("View", FormCustomer, map[string]any{"Number": "C1"})
	if !strings.Contains(firstMessage(response), SessionLostMessage) {
		t.Errorf("idle session still accepted: %+v", response.Result.ResponseStatus)
	}

	client.login()
	resp, err := http.Post(server.URL+"/sim/sessions/expire", "application/json", nil)
	if err != nil {
		t.Fatalf("POST /sim/sessions/expire: %v", err)
	}
	var expired map[string]int
	err = json.NewDecoder(resp.Body).Decode(&expired)
	resp.Body.Close()
	if err != nil || expired["expired"] != 1 {
		t.Errorf("POST /sim/sessions/expire = %v (%v), want 1 session expired", expired, err)
	}
	if stats := sim.Stats(); stats.Sessions != 0 || stats.Logins != 2 {
		t.Errorf("stats = %+v, want no session after 2 logins", stats)
	}
	response = client.form("View", FormCustomer, map[string]any{"Number": "C1"})
	if !strings.Contains(firstMessage(response), SessionLostMessage) {
		t.Errorf("expired session still accepted: %+v", response.Result.ResponseStatus)
	}
}

func firstMessage(r reply) string {
	if len(r.Result.ResponseStatus.Errors) == 0 {
		return ""
	}
	return r.Result.ResponseStatus.Errors[0].Message
}

func TestPositionalRequestForm(t *testing.T) {
	_, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()

	model, _ := json.Marshal(map[string]any{"Model": customerModel("C-POS", "Positional Ltd")})
	raw := client.post("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc",
		map[string]any{"parameters": []any{FormCustomer, string(model)}})
	var saved reply
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	mustSucceed(t, "positional Save with data as a JSON string", saved)

	raw = client.post("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc",
		map[string]any{"parameters": []any{map[string]any{"FormId": FormCustomer, "FieldKeys": "FNumber,FName", "FilterString": "FNumber = 'C-POS'"}}})
	var rows [][]any
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if len(rows) != 1 || rows[0][1] != "Positional Ltd" {
		t.Errorf("positional query rows = %v, want one row with the name", rows)
	}
}

func TestDocumentLifecycle(t *testing.T) {
	sim, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()
	client.audit(FormCustomer, customerModel("C1", "Acme"))

	saved := client.form("Save", FormSalesOrder, map[string]any{"Model": salesOrderModel("SO-1", "C1", "CT-1")})
	mustSucceed(t, "Save", saved)
	if saved.Result.Number != "SO-1" {
		t.Fatalf("Save returned number %q, want SO-1", saved.Result.Number)
	}

	steps := []struct {
		name       string
		method     string
		wantOK     bool
		wantStatus string
	}{
		{"audit before submit is refused", "Audit", false, StatusCreated},
		{"submit", "Submit", true, StatusAuditing},
		{"submit twice is refused", "Submit", false, StatusAuditing},
		{"delete under audit is refused", "Delete", false, StatusAuditing},
		{"audit", "Audit", true, StatusAudited},
		{"delete audited is refused", "Delete", false, StatusAudited},
		{"un-audit", "UnAudit", true, StatusReAuditing},
		{"submit again", "Submit", true, StatusAuditing},
		{"audit again", "Audit", true, StatusAudited},
	}
	for _, step := range steps {
		response := client.form(step.method, FormSalesOrder, map[string]any{"Numbers": []string{"SO-1"}})
		if response.Result.ResponseStatus.IsSuccess != step.wantOK {
			t.Fatalf("%s: IsSuccess = %v, want %v (%+v)", step.name, response.Result.ResponseStatus.IsSuccess, step.wantOK, response.Result.ResponseStatus.Errors)
		}
		rows := client.rows(FormSalesOrder, "FDocumentStatus", "FBillNo = 'SO-1'")
		if len(rows) != 1 || rows[0][0] != step.wantStatus {
			t.Fatalf("%s: status rows = %v, want %s", step.name, rows, step.wantStatus)
		}
	}

	rows := client.rows(FormSalesOrder, "FID,FBillNo,FSaleOrderFinance.FBillAllAmount,FCustId.FNumber,F_ORDO_ContractNo,FApproveDate", "FBillNo = 'SO-1'")
	if len(rows) != 1 {
		t.Fatalf("query returned %d rows, want 1", len(rows))
	}
	if got := fmt.Sprint(rows[0][2]); got != "1230.5" {
		t.Errorf("computed total = %s, want 1230.5 (1130 + 1 × 100.50)", got)
	}
	if rows[0][3] != "C1" || rows[0][4] != "CT-1" || rows[0][5] == nil {
		t.Errorf("row = %v, want customer C1, contract CT-1 and an approve date", rows[0])
	}

	entries := ledgerEntries(t, sim, "CT-1")
	if len(entries) != 1 || entries[0].Kind != "sales_order" || entries[0].Number != "SO-1" {
		t.Errorf("ledger for CT-1 = %+v, want one sales_order SO-1", entries)
	}
}

func TestSaveRejections(t *testing.T) {
	_, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()
	client.audit(FormCustomer, customerModel("C1", "Acme"))
	mustSucceed(t, "Save SO-1", client.form("Save", FormSalesOrder, map[string]any{"Model": salesOrderModel("SO-1", "C1", "CT-1")}))

	missingLine := salesOrderModel("SO-2", "C1", "CT-2")
	missingLine["FSaleOrderEntry"] = []any{map[string]any{"FMaterialId": map[string]any{"FNumber": "P-1"}}, map[string]any{"FQty": 0}}
	noCustomer := salesOrderModel("SO-3", "C-404", "CT-3")
	delete(noCustomer, "FDate")

	cases := []struct {
		name       string
		model      map[string]any
		wantFields []string
		wantText   string
	}{
		{"duplicate number", salesOrderModel("SO-1", "C1", "CT-1"), []string{"FBillNo"}, "已经存在"},
		{"line fields", missingLine, []string{"FQty", "FMaterialId", "FQty"}, "第2行"},
		{"header fields and unknown customer", noCustomer, []string{"FDate", "FCustId"}, "C-404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			response := client.form("Save", FormSalesOrder, map[string]any{"Model": tc.model})
			status := response.Result.ResponseStatus
			if status.IsSuccess {
				t.Fatalf("Save succeeded, want a rejection")
			}
			var fields, messages []string
			for _, e := range status.Errors {
				fields = append(fields, e.FieldName)
				messages = append(messages, e.Message)
			}
			if strings.Join(fields, ",") != strings.Join(tc.wantFields, ",") {
				t.Errorf("error fields = %v, want %v", fields, tc.wantFields)
			}
			if !strings.Contains(strings.Join(messages, " "), tc.wantText) {
				t.Errorf("messages %v do not mention %q", messages, tc.wantText)
			}
		})
	}
	if rows := client.rows(FormSalesOrder, "FBillNo", ""); len(rows) != 1 {
		t.Errorf("rejected saves left %d sales orders, want 1", len(rows))
	}
}

func TestDraftAndUpdate(t *testing.T) {
	sim, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()
	client.audit(FormCustomer, customerModel("C1", "Acme"))

	incomplete := map[string]any{"FBillNo": "SO-D", ContractNoField: "CT-D"}
	draft := client.form("Draft", FormSalesOrder, map[string]any{"Model": incomplete})
	mustSucceed(t, "Draft", draft)
	id := draft.Result.ResponseStatus.SuccessEntitys[0].ID
	if rows := client.rows(FormSalesOrder, "FDocumentStatus", "FBillNo = 'SO-D'"); rows[0][0] != StatusDraft {
		t.Fatalf("draft status = %v, want Z", rows[0][0])
	}
	if entries := ledgerEntries(t, sim, "CT-D"); len(entries) != 1 {
		t.Errorf("draft ledger entries = %d, want 1", len(entries))
	}

	invalid := client.form("Save", FormSalesOrder, map[string]any{"Model": map[string]any{"FID": id, "FNote": "still incomplete"}})
	if invalid.Result.ResponseStatus.IsSuccess {
		t.Fatalf("saving an incomplete draft succeeded")
	}

	full := salesOrderModel("SO-D", "C1", "CT-D")
	full["FID"] = id
	mustSucceed(t, "Save over draft", client.form("Save", FormSalesOrder, map[string]any{"Model": full}))
	if rows := client.rows(FormSalesOrder, "FDocumentStatus,FID", "FBillNo = 'SO-D'"); rows[0][0] != StatusCreated || fmt.Sprint(rows[0][1]) != fmt.Sprint(id) {
		t.Errorf("after saving the draft: row = %v, want status A and the same id %d", rows[0], id)
	}

	rename := client.form("Save", FormCustomer, map[string]any{
		"Model":            map[string]any{"FCUSTID": client.rows(FormCustomer, "FCUSTID", "FNumber = 'C1'")[0][0], "FName": "Acme Renamed"},
		"NeedUpDateFields": []string{"FName"},
	})
	if rename.Result.ResponseStatus.IsSuccess {
		t.Fatalf("updating an audited customer succeeded, want a refusal")
	}
	if entries := ledgerEntries(t, sim, "CT-D"); len(entries) != 1 {
		t.Errorf("updates added ledger entries: %d, want 1", len(entries))
	}
}

func TestQueryFiltersAndPaging(t *testing.T) {
	_, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()

	const total, batch = 2500, 500
	for first := 0; first < total; first += batch {
		models := make([]any, batch)
		for i := range models {
			models[i] = customerModel(fmt.Sprintf("C%05d", first+i), fmt.Sprintf("Customer %d", first+i))
		}
		mustSucceed(t, "BatchSave", client.form("BatchSave", FormCustomer, map[string]any{"Model": models}))
	}
	mustSucceed(t, "Submit", client.form("Submit", FormCustomer, map[string]any{"Numbers": "C00001,C00002,C00003"}))

	seen := map[string]bool{}
	for start := 0; ; {
		var rows [][]any
		if err := json.Unmarshal(client.query(FormCustomer, "FNumber", "", start, 5000), &rows); err != nil {
			t.Fatalf("decode page: %v", err)
		}
		if len(rows) > MaxQueryRows {
			t.Fatalf("page of %d rows exceeds %d", len(rows), MaxQueryRows)
		}
		for _, row := range rows {
			seen[row[0].(string)] = true
		}
		start += len(rows)
		if len(rows) < MaxQueryRows {
			break
		}
	}
	if len(seen) != total {
		t.Errorf("paging saw %d distinct customers, want %d", len(seen), total)
	}

	cases := []struct {
		name   string
		filter string
		want   int
	}{
		{"equality", "FNumber = 'C00007'", 1},
		{"in list", "FNumber IN ('C00001', 'C00002', 'C99999')", 2},
		{"and with status", "FDocumentStatus = 'B' AND FNumber <> 'C00001'", 2},
		{"or in parentheses", "(FNumber = 'C00001' OR FNumber = 'C00010') AND FDocumentStatus = 'A'", 1},
		{"not in", "FDocumentStatus NOT IN ('A')", 3},
		{"like on a model field", "FName LIKE 'Customer 24%'", 111},
		{"comparison on id", "FID <= 10", 10},
		{"quote inside text", "FName = 'O''Brien'", 0},
		{"case-insensitive keys", "fnumber = 'C00007' and fname is not null", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rows := client.rows(FormCustomer, "FNumber", tc.filter); len(rows) != tc.want {
				t.Errorf("filter %q returned %d rows, want %d", tc.filter, len(rows), tc.want)
			}
		})
	}

	var wrapped [][]reply
	if err := json.Unmarshal(client.query(FormCustomer, "FNumber", "FNumber = ", 0, 0), &wrapped); err != nil || len(wrapped) != 1 {
		t.Fatalf("invalid filter: want a wrapped error, got %v", err)
	}
	if wrapped[0][0].Result.ResponseStatus.IsSuccess {
		t.Errorf("invalid filter reported success")
	}
}

func TestParseFilter(t *testing.T) {
	resolve := func(field string) (string, error) { return "[" + strings.ToLower(field) + "]", nil }
	cases := []struct {
		name     string
		filter   string
		wantSQL  string
		wantArgs []any
		wantErr  bool
	}{
		{"empty", "  ", "", nil, false},
		{"equality", "FBillNo='SO-1'", "([fbillno] = ?)", []any{"SO-1"}, false},
		{"and binds tighter than or", "A = 1 OR B = 2 AND C = 3", "(([a] = ?) OR (([b] = ?) AND ([c] = ?)))", []any{int64(1), int64(2), int64(3)}, false},
		{"not equal spelled !=", "FStatus != '5'", "([fstatus] <> ?)", []any{"5"}, false},
		{"in with numbers", "FID IN (1, 2.5)", "([fid] IN (?, ?))", []any{int64(1), 2.5}, false},
		{"not like", "FName NOT LIKE 'A%'", "([fname] NOT LIKE ?)", []any{"A%"}, false},
		{"is null", "FApproveDate IS NULL", "([fapprovedate] IS NULL)", nil, false},
		{"not and parentheses", "NOT (FDate >= '2026-01-01')", "(NOT ([fdate] >= ?))", []any{"2026-01-01"}, false},
		{"field on the right", "FQty > FBaseQty", "([fqty] > [fbaseqty])", nil, false},
		{"unterminated text", "FBillNo = 'SO", "", nil, true},
		{"missing value", "FBillNo =", "", nil, true},
		{"trailing garbage", "FBillNo = 'A' 'B'", "", nil, true},
		{"keyword as field", "AND = 1", "", nil, true},
		{"semicolon", "FBillNo = 'A'; DROP TABLE x", "", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sql, args, err := parseFilter(tc.filter, resolve)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseFilter(%q) = %q, want an error", tc.filter, sql)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFilter(%q): %v", tc.filter, err)
			}
			if sql != tc.wantSQL {
				t.Errorf("SQL = %q, want %q", sql, tc.wantSQL)
			}
			if fmt.Sprint(args) != fmt.Sprint(tc.wantArgs) {
				t.Errorf("args = %v, want %v", args, tc.wantArgs)
			}
		})
	}
}

func TestSalesOrderAuditNotifiesWorld(t *testing.T) {
	world := &recordingWorld{orders: make(chan simulators.SalesOrderAudited, 4)}
	_, server := newTestSimulator(t, func(c *Config) { c.World = world })
	client := newRawClient(t, server)
	client.login()
	client.audit(FormCustomer, customerModel("C1", "Acme Trading"))
	client.audit(FormSalesOrder, salesOrderModel("SO-1", "C1", "CT-1"))

	select {
	case event := <-world.orders:
		if event.Number != "SO-1" || event.ContractNo != "CT-1" || event.CustomerName != "Acme Trading" || event.Currency != "CNY" || event.Total.String() != "1230.5" {
			t.Errorf("event = %+v, want SO-1, CT-1, Acme Trading, CNY, 1230.5", event)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("world was not told about the audited sales order")
	}

	// Re-auditing does not report the order a second time.
	mustSucceed(t, "UnAudit", client.form("UnAudit", FormSalesOrder, map[string]any{"Numbers": []string{"SO-1"}}))
	mustSucceed(t, "Submit", client.form("Submit", FormSalesOrder, map[string]any{"Numbers": []string{"SO-1"}}))
	mustSucceed(t, "Audit", client.form("Audit", FormSalesOrder, map[string]any{"Numbers": []string{"SO-1"}}))
	select {
	case event := <-world.orders:
		t.Errorf("re-audit reported the order again: %+v", event)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestWriteOffSettlesReceivable(t *testing.T) {
	_, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()
	client.audit(FormCustomer, customerModel("C1", "Acme"))
	client.audit(FormReceivable, map[string]any{
		"FBillNo": "AR-1", "FDate": "2026-03-01",
		"FCUSTOMERID": map[string]any{"FNumber": "C1"}, "FSETTLEORGID": map[string]any{"FNumber": "100"},
		"FCURRENCYID": map[string]any{"FNumber": "PRE001"}, "FALLAMOUNTFOR": "1000.00",
	})
	receiveBill := func(number, amount string) map[string]any {
		return map[string]any{
			"FBillNo": number, "FDate": "2026-03-05",
			"FCONTACTUNIT": map[string]any{"FNumber": "C1"}, "FSETTLEORGID": map[string]any{"FNumber": "100"},
			"FCURRENCYID":          map[string]any{"FNumber": "PRE001"},
			"FRECEIVEBILLSRCENTRY": []any{map[string]any{"FSRCBILLNO": "AR-1", "FREALRECAMOUNT": amount}},
		}
	}
	writtenOff := func() string {
		return fmt.Sprint(client.rows(FormReceivable, "FWRITTENOFFSTATUS", "FBillNo = 'AR-1'")[0][0])
	}

	client.audit(FormReceiveBill, receiveBill("SKD-1", "400"))
	if got := writtenOff(); got != WriteOffPartial {
		t.Errorf("after a partial receipt FWRITTENOFFSTATUS = %s, want %s", got, WriteOffPartial)
	}
	client.audit(FormReceiveBill, receiveBill("SKD-2", "600"))
	if got := writtenOff(); got != WriteOffFull {
		t.Errorf("after the full amount FWRITTENOFFSTATUS = %s, want %s", got, WriteOffFull)
	}
	if response := client.form("UnAudit", FormReceivable, map[string]any{"Numbers": []string{"AR-1"}}); response.Result.ResponseStatus.IsSuccess {
		t.Errorf("un-auditing a written-off receivable succeeded")
	}
	mustSucceed(t, "UnAudit SKD-2", client.form("UnAudit", FormReceiveBill, map[string]any{"Numbers": []string{"SKD-2"}}))
	if got := writtenOff(); got != WriteOffPartial {
		t.Errorf("after un-auditing a receipt FWRITTENOFFSTATUS = %s, want %s", got, WriteOffPartial)
	}

	unknown := client.form("Save", FormReceiveBill, map[string]any{"Model": func() map[string]any {
		m := receiveBill("SKD-3", "5")
		m["FRECEIVEBILLSRCENTRY"] = []any{map[string]any{"FSRCBILLNO": "AR-404", "FREALRECAMOUNT": 5}}
		return m
	}()})
	if unknown.Result.ResponseStatus.IsSuccess || unknown.Result.ResponseStatus.Errors[0].FieldName != "FSRCBILLNO" {
		t.Errorf("receive bill for a missing receivable: %+v, want an FSRCBILLNO error", unknown.Result.ResponseStatus)
	}
}

func TestProductionOrderCompletesAfterRestart(t *testing.T) {
	var received atomic.Int32
	var failFirst atomic.Int32
	failFirst.Store(2)
	bodies := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if failFirst.Add(-1) >= 0 {
			http.Error(w, "receiver not ready", http.StatusServiceUnavailable)
			return
		}
		if signing.Verify(r.Header, []byte("cb-secret"), body, time.Now(), time.Minute) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		received.Add(1)
		bodies <- body
	}))
	defer receiver.Close()

	path := filepath.Join(t.TempDir(), "simulators.db")
	configure := func(c *Config) {
		c.Path = path
		c.CompletionDelay = 300 * time.Millisecond
		c.CallbackURL = receiver.URL
		c.CallbackSecret = "cb-secret"
		c.CallbackBackoff = 20 * time.Millisecond
	}

	first, server := newTestSimulator(t, configure)
	client := newRawClient(t, server)
	client.login()
	client.audit(FormProductionOrder, productionOrderModel("MO-1", "CT-9"))
	if rows := client.rows(FormProductionOrder, "FStatus", "FBillNo = 'MO-1'"); rows[0][0] != ProductionReleased {
		t.Fatalf("audited order FStatus = %v, want %s", rows[0][0], ProductionReleased)
	}
	server.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("close first simulator: %v", err)
	}

	_, server = newTestSimulator(t, configure)
	client = newRawClient(t, server)
	client.login()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows := client.rows(FormProductionOrder, "FStatus,FFinishDate", "FBillNo = 'MO-1'")
		if rows[0][0] == ProductionCompleted && rows[0][1] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order did not complete after the restart: %v", rows[0])
		}
		time.Sleep(20 * time.Millisecond)
	}

	select {
	case body := <-bodies:
		var cb CompletionCallback
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Fatalf("decode callback %s: %v", body, err)
		}
		if cb.FormID != FormProductionOrder || cb.Number != "MO-1" || cb.Status != "5" || cb.ContractNo != "CT-9" || cb.CompletedAt == "" {
			t.Errorf("callback = %+v, want PRD_MO MO-1 status 5 for CT-9", cb)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no signed callback arrived")
	}
	time.Sleep(100 * time.Millisecond)
	if n := received.Load(); n != 1 {
		t.Errorf("receiver accepted %d callbacks, want 1", n)
	}
}

func TestProductionOrderCancellation(t *testing.T) {
	// The delay leaves MO-2 time to be un-audited before it would complete.
	_, server := newTestSimulator(t, func(c *Config) { c.CompletionDelay = 300 * time.Millisecond })
	client := newRawClient(t, server)
	client.login()
	forceClose := func(number string) reply {
		raw := client.post("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExcuteOperation.common.kdsvc",
			map[string]any{"formid": FormProductionOrder, "opNumber": "ForceClose", "data": map[string]any{"Numbers": []string{number}}})
		var response reply
		if err := json.Unmarshal(raw, &response); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		return response
	}

	client.audit(FormProductionOrder, productionOrderModel("MO-1", "CT-1"))
	time.Sleep(800 * time.Millisecond)
	if rows := client.rows(FormProductionOrder, "FStatus", "FBillNo = 'MO-1'"); rows[0][0] != ProductionCompleted {
		t.Fatalf("FStatus = %v, want completed", rows[0][0])
	}
	if response := client.form("UnAudit", FormProductionOrder, map[string]any{"Numbers": []string{"MO-1"}}); response.Result.ResponseStatus.IsSuccess {
		t.Errorf("un-auditing a completed order succeeded")
	}
	mustSucceed(t, "ForceClose", forceClose("MO-1"))
	if rows := client.rows(FormProductionOrder, "FStatus,FFinishDate", "FBillNo = 'MO-1'"); rows[0][0] != ProductionClosed || rows[0][1] == nil {
		t.Errorf("after force-close row = %v, want FStatus 6 and the finish date kept", rows[0])
	}

	client.audit(FormProductionOrder, productionOrderModel("MO-2", "CT-2"))
	mustSucceed(t, "UnAudit", client.form("UnAudit", FormProductionOrder, map[string]any{"Numbers": []string{"MO-2"}}))
	time.Sleep(500 * time.Millisecond)
	if rows := client.rows(FormProductionOrder, "FStatus", "FBillNo = 'MO-2'"); rows[0][0] != ProductionPlanned {
		t.Errorf("un-audited order FStatus = %v, want it planned and not completed", rows[0][0])
	}
	mustSucceed(t, "Delete", client.form("Delete", FormProductionOrder, map[string]any{"Numbers": []string{"MO-2"}}))
	if rows := client.rows(FormProductionOrder, "FBillNo", "FBillNo = 'MO-2'"); len(rows) != 0 {
		t.Errorf("deleted order still found: %v", rows)
	}
}

func TestFaultInjection(t *testing.T) {
	sim, server := newTestSimulator(t, nil)
	client := newRawClient(t, server)
	client.login()
	client.audit(FormCustomer, customerModel("C1", "Acme"))

	setFaults := func(kind simulators.Fault) {
		body, _ := json.Marshal(simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{kind}, Hang: 200 * time.Millisecond})
		req, _ := http.NewRequest(http.MethodPut, server.URL+"/sim/faults", bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("PUT /sim/faults: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT /sim/faults: HTTP %d", resp.StatusCode)
		}
	}
	send := func(number string) (*http.Response, error) {
		body, _ := json.Marshal(map[string]any{"formid": FormSalesOrder, "data": map[string]any{"Model": salesOrderModel(number, "C1", "CT-"+number)}})
		return client.client.Post(client.base+"Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc", "application/json", bytes.NewReader(body))
	}

	cases := []struct {
		fault      simulators.Fault
		wantStatus int // 0 means no HTTP response at all
		wantSaved  bool
	}{
		{simulators.FaultServerError, http.StatusInternalServerError, false},
		{simulators.FaultThrottle, http.StatusTooManyRequests, false},
		{simulators.FaultTimeout, 0, false},
		{simulators.FaultLostReply, 0, true},
		{FaultSessionLost, http.StatusOK, false},
	}
	for i, tc := range cases {
		t.Run(string(tc.fault), func(t *testing.T) {
			client.login()
			setFaults(tc.fault)
			number := fmt.Sprintf("SO-F%d", i)
			resp, err := send(number)
			sim.Faults().SetConfig(simulators.FaultConfig{})
			switch {
			case tc.wantStatus == 0 && err == nil:
				resp.Body.Close()
				t.Fatalf("got HTTP %d, want no response", resp.StatusCode)
			case tc.wantStatus != 0 && err != nil:
				t.Fatalf("got %v, want HTTP %d", err, tc.wantStatus)
			case tc.wantStatus != 0:
				resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.wantStatus)
				}
			}
			client.login()
			rows := client.rows(FormSalesOrder, "FBillNo", "FBillNo = '"+number+"'")
			if saved := len(rows) == 1; saved != tc.wantSaved {
				t.Errorf("document saved = %v, want %v", saved, tc.wantSaved)
			}
		})
	}

	t.Run("latency", func(t *testing.T) {
		client.login()
		sim.Faults().SetConfig(simulators.FaultConfig{Latency: 150 * time.Millisecond})
		defer sim.Faults().SetConfig(simulators.FaultConfig{})
		started := time.Now()
		client.rows(FormSalesOrder, "FBillNo", "")
		if elapsed := time.Since(started); elapsed < 150*time.Millisecond {
			t.Errorf("query took %s, want at least the added 150ms", elapsed)
		}
	})

	resp, err := http.Get(server.URL + "/sim/faults")
	if err != nil {
		t.Fatalf("GET /sim/faults: %v", err)
	}
	var current simulators.FaultConfig
	err = json.NewDecoder(resp.Body).Decode(&current)
	resp.Body.Close()
	if err != nil || current.Rate != 0 {
		t.Errorf("GET /sim/faults = %+v (%v), want rate 0 after the reset", current, err)
	}
	req, _ := http.NewRequest(http.MethodPut, server.URL+"/sim/faults", strings.NewReader(`{"rate": 2}`))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatalf("PUT /sim/faults: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT of rate 2 returned HTTP %d, want 400", resp.StatusCode)
	}

	resp, err = http.Get(server.URL + "/sim/ledger?contract_no=CT-SO-F3")
	if err != nil {
		t.Fatalf("GET /sim/ledger: %v", err)
	}
	defer resp.Body.Close()
	var entries []simulators.LedgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
		t.Fatalf("decode ledger: %v", err)
	}
	if len(entries) != 1 {
		t.Errorf("ledger for the lost-reply save has %d entries, want 1", len(entries))
	}
}
