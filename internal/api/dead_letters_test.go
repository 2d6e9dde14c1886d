package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	kingdee "github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// seedDeadLetter stores a dead letter of the customers sync whose context
// is record, and returns its id.
func seedDeadLetter(t *testing.T, st *store.Store, record kingdee.CustomerRecord, problem string) int64 {
	t.Helper()
	ctx := context.Background()
	encoded, err := json.Marshal(record)
	if err != nil {
		t.Fatalf("encode customer record %s: %v", record.Number, err)
	}
	letters := []store.DeadLetter{{SyncName: erpsync.StreamCustomers, RecordKey: record.Number, Context: string(encoded), Error: problem}}
	if err := store.AddDeadLetters(ctx, st.DB, letters); err != nil {
		t.Fatalf("store dead letter of %s: %v", record.Number, err)
	}
	return letters[0].ID
}

// validCustomer is a record that passes erpsync.CustomerRow, so its dead
// letter resolves on retry, as after a validation rule was relaxed.
func validCustomer(number string) kingdee.CustomerRecord {
	return kingdee.CustomerRecord{ID: 7, Number: number, Name: "Cancity Ltd", DocumentStatus: "C", ModifiedAt: "2026-11-30T10:00:00"}
}

// invalidCustomer is a record without a name, which fails validation
// again on every retry.
func invalidCustomer(number string) kingdee.CustomerRecord {
	return kingdee.CustomerRecord{ID: 8, Number: number, DocumentStatus: "C", ModifiedAt: "2026-11-30T10:00:00"}
}

func (ts *testServer) listDeadLetters(query string) DeadLetterList {
	ts.t.Helper()
	resp := ts.do(http.MethodGet, "/api/v1/dead-letters"+query, nil, nil)
	if resp.status != http.StatusOK {
		ts.t.Fatalf("GET /api/v1/dead-letters%s: status %d, body %s", query, resp.status, resp.body)
	}
	var list DeadLetterList
	resp.decode(ts.t, &list)
	return list
}

func (ts *testServer) retryDeadLetter(id int64, by string) response {
	ts.t.Helper()
	return ts.postJSON("/api/v1/dead-letters/"+strconv.FormatInt(id, 10)+"/retry", RetryRequest{By: by})
}

func deadLetterIDs(list DeadLetterList) []int64 {
	ids := make([]int64, 0, len(list.DeadLetters))
	for _, letter := range list.DeadLetters {
		ids = append(ids, letter.ID)
	}
	return ids
}

func expectIDs(t *testing.T, page string, got, want []int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: ids %v, expected %v", page, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: ids %v, expected %v", page, got, want)
			return
		}
	}
}

func auditOf(t *testing.T, st *store.Store, id int64) []store.DLQAudit {
	t.Helper()
	entries, err := store.DLQAuditOf(context.Background(), st.DB, id)
	if err != nil {
		t.Fatalf("read audit of dead letter %d: %v", id, err)
	}
	return entries
}

func getDeadLetter(t *testing.T, st *store.Store, id int64) *store.DeadLetter {
	t.Helper()
	letter, err := store.GetDeadLetter(context.Background(), st.DB, id)
	if err != nil {
		t.Fatalf("read dead letter %d: %v", id, err)
	}
	return letter
}

func TestDeadLetterListPages(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) { testDeadLetterListPages(t, driver) })
	}
}

func testDeadLetterListPages(t *testing.T, driver string) {
	ts := newTestServer(t, driver, nil)
	var ids []int64
	for _, number := range []string{"C001", "C002", "C003", "C004", "C005"} {
		ids = append(ids, seedDeadLetter(t, ts.store, invalidCustomer(number), "FName is missing"))
	}
	documents := []store.DeadLetter{{SyncName: "documents:SAL_SaleOrder", RecordKey: "XSDD000001", Context: "{}", Error: "FDocumentStatus is missing"}}
	if err := store.AddDeadLetters(context.Background(), ts.store.DB, documents); err != nil {
		t.Fatalf("store document dead letter: %v", err)
	}

	first := ts.listDeadLetters("?limit=2")
	expectIDs(t, "first page", deadLetterIDs(first), []int64{documents[0].ID, ids[4]})
	if first.Next != strconv.FormatInt(ids[4], 10) {
		t.Fatalf("first page next = %q, expected %d", first.Next, ids[4])
	}
	second := ts.listDeadLetters("?limit=2&after=" + first.Next)
	expectIDs(t, "second page", deadLetterIDs(second), []int64{ids[3], ids[2]})
	third := ts.listDeadLetters("?limit=2&after=" + second.Next)
	expectIDs(t, "third page", deadLetterIDs(third), []int64{ids[1], ids[0]})
	last := ts.listDeadLetters("?limit=2&after=" + third.Next)
	expectIDs(t, "page after the last", deadLetterIDs(last), []int64{})
	if last.Next != "" {
		t.Errorf("empty page next = %q, expected none", last.Next)
	}

	short := ts.listDeadLetters("?limit=10")
	if len(short.DeadLetters) != 6 || short.Next != "" {
		t.Errorf("limit 10: %d letters, next %q, expected 6 and no next", len(short.DeadLetters), short.Next)
	}
	customers := ts.listDeadLetters("?sync=customers&limit=3")
	expectIDs(t, "customers sync", deadLetterIDs(customers), []int64{ids[4], ids[3], ids[2]})

	if err := store.SetDeadLetterState(context.Background(), ts.store.DB, ids[1], store.DeadLetterResolved, "", false); err != nil {
		t.Fatal(err)
	}
	resolved := ts.listDeadLetters("?state=resolved")
	expectIDs(t, "resolved", deadLetterIDs(resolved), []int64{ids[1]})
	open := ts.listDeadLetters("?state=open&sync=customers")
	expectIDs(t, "open customers", deadLetterIDs(open), []int64{ids[4], ids[3], ids[2], ids[0]})
}

func TestDeadLetterListInvalidQuery(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ts.do(http.MethodGet, "/api/v1/dead-letters?state=stuck", nil, nil).
		expectError(t, http.StatusBadRequest, "invalid_argument", `state "stuck" is invalid`, "open, requeued or resolved")
	ts.do(http.MethodGet, "/api/v1/dead-letters?limit=0", nil, nil).
		expectError(t, http.StatusBadRequest, "invalid_argument", "limit must be a number from 1 to 1000")
	ts.do(http.MethodGet, "/api/v1/dead-letters?after=x", nil, nil).
		expectError(t, http.StatusBadRequest, "invalid_argument", "after must be a dead letter id", `"x"`)

	empty := ts.listDeadLetters("")
	if empty.DeadLetters == nil || len(empty.DeadLetters) != 0 {
		t.Errorf("empty list = %#v, expected an empty array", empty.DeadLetters)
	}
}

func TestDeadLetterRetryResolves(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	id := seedDeadLetter(t, ts.store, validCustomer("C100"), "FName is missing")

	resp := ts.retryDeadLetter(id, "Lin Fang")
	if resp.status != http.StatusOK {
		t.Fatalf("retry: status %d, body %s", resp.status, resp.body)
	}
	var result erpsync.RetryResult
	resp.decode(t, &result)
	if result.Outcome != erpsync.OutcomeResolved {
		t.Errorf("outcome = %q, expected %q", result.Outcome, erpsync.OutcomeResolved)
	}
	if result.DeadLetter.ID != id || result.DeadLetter.State != store.DeadLetterResolved {
		t.Errorf("dead letter = %+v, expected %d resolved", result.DeadLetter, id)
	}
	if result.DeadLetter.Attempts != 2 {
		t.Errorf("attempts = %d, expected 2: the sync's and the retry", result.DeadLetter.Attempts)
	}
	if n, err := store.CountERPCustomers(context.Background(), ts.store.DB); err != nil || n != 1 {
		t.Errorf("stored ERP customers = %d (%v), expected the retried one", n, err)
	}

	audit := auditOf(t, ts.store, id)
	if len(audit) != 1 {
		t.Fatalf("audit = %+v, expected one entry", audit)
	}
	if audit[0].By != "Lin Fang" || audit[0].Action != "retry" || audit[0].Outcome != erpsync.OutcomeResolved {
		t.Errorf("audit entry = %+v, expected a resolved retry by Lin Fang", audit[0])
	}
}

func TestDeadLetterRetryFailsAgain(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	id := seedDeadLetter(t, ts.store, invalidCustomer("C200"), "old error")

	resp := ts.retryDeadLetter(id, "Lin Fang")
	if resp.status != http.StatusOK {
		t.Fatalf("retry: status %d, body %s", resp.status, resp.body)
	}
	var result erpsync.RetryResult
	resp.decode(t, &result)
	if result.Outcome != erpsync.OutcomeFailed {
		t.Errorf("outcome = %q, expected %q", result.Outcome, erpsync.OutcomeFailed)
	}
	if result.DeadLetter.State != store.DeadLetterOpen || result.DeadLetter.Attempts != 2 {
		t.Errorf("dead letter = %+v, expected open after 2 attempts", result.DeadLetter)
	}
	wantError := "ERP customer C200: FName is missing: enter the customer name in the ERP"
	if result.DeadLetter.Error != wantError {
		t.Errorf("error = %q, expected %q", result.DeadLetter.Error, wantError)
	}

	// A second retry fails the same way: one more attempt and one more
	// audit entry, nothing else.
	again := ts.retryDeadLetter(id, "Lin Fang")
	if again.status != http.StatusOK {
		t.Fatalf("second retry: status %d, body %s", again.status, again.body)
	}
	letter := getDeadLetter(t, ts.store, id)
	if letter.State != store.DeadLetterOpen || letter.Attempts != 3 || letter.Error != wantError {
		t.Errorf("after two retries: %+v, expected open after 3 attempts with the same error", letter)
	}
	audit := auditOf(t, ts.store, id)
	if len(audit) != 2 {
		t.Fatalf("audit = %+v, expected two entries", audit)
	}
	for _, entry := range audit {
		if entry.Outcome != erpsync.OutcomeFailed+": "+wantError {
			t.Errorf("audit outcome = %q, expected the failure with its error", entry.Outcome)
		}
	}
	if n, err := store.CountERPCustomers(context.Background(), ts.store.DB); err != nil || n != 0 {
		t.Errorf("stored ERP customers = %d (%v), expected none", n, err)
	}
}

func TestDeadLetterRetryTwice(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	id := seedDeadLetter(t, ts.store, validCustomer("C300"), "FName is missing")
	if resp := ts.retryDeadLetter(id, "Lin Fang"); resp.status != http.StatusOK {
		t.Fatalf("first retry: status %d, body %s", resp.status, resp.body)
	}
	before := getDeadLetter(t, ts.store, id)

	ts.retryDeadLetter(id, "Zhao Lei").expectError(t, http.StatusConflict, "conflict",
		"dead letter "+strconv.FormatInt(id, 10), "C300", "already resolved")

	after := getDeadLetter(t, ts.store, id)
	if after.State != store.DeadLetterResolved || after.Attempts != before.Attempts || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("second retry changed the letter: before %+v, after %+v", before, after)
	}
	if audit := auditOf(t, ts.store, id); len(audit) != 1 {
		t.Errorf("audit = %+v, expected only the first retry", audit)
	}
}

func TestDeadLetterRetryRequeued(t *testing.T) {
	// A letter stays requeued when ordo stopped during its retry, and a
	// new retry must still apply it.
	ts := newTestServer(t, "sqlite", nil)
	id := seedDeadLetter(t, ts.store, validCustomer("C400"), "FName is missing")
	if err := store.SetDeadLetterState(context.Background(), ts.store.DB, id, store.DeadLetterRequeued, "", false); err != nil {
		t.Fatal(err)
	}
	resp := ts.retryDeadLetter(id, "Lin Fang")
	if resp.status != http.StatusOK {
		t.Fatalf("retry: status %d, body %s", resp.status, resp.body)
	}
	if letter := getDeadLetter(t, ts.store, id); letter.State != store.DeadLetterResolved {
		t.Errorf("state = %s, expected resolved", letter.State)
	}
}

func TestDeadLetterRetryRejected(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	id := seedDeadLetter(t, ts.store, validCustomer("C500"), "FName is missing")

	ts.retryDeadLetter(999999, "Lin Fang").expectError(t, http.StatusNotFound, "not_found",
		"dead letter 999999 not found", "ordo dlq list")
	ts.postJSON("/api/v1/dead-letters/abc/retry", RetryRequest{By: "Lin Fang"}).expectError(t, http.StatusBadRequest,
		"invalid_argument", `dead letter id "abc" is invalid`)
	ts.postJSON("/api/v1/dead-letters/0/retry", RetryRequest{By: "Lin Fang"}).expectError(t, http.StatusBadRequest,
		"invalid_argument", `dead letter id "0" is invalid`)
	ts.retryDeadLetter(id, "").expectError(t, http.StatusBadRequest, "invalid_argument", "by is required")
	ts.retryDeadLetter(id, "   ").expectError(t, http.StatusBadRequest, "invalid_argument", "by is required")

	letter := getDeadLetter(t, ts.store, id)
	if letter.State != store.DeadLetterOpen || letter.Attempts != 1 {
		t.Errorf("rejected retries changed the letter: %+v", letter)
	}
	if audit := auditOf(t, ts.store, id); len(audit) != 0 {
		t.Errorf("rejected retries were audited: %+v", audit)
	}
}

func TestDeadLetterRoutesNeedToken(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(s *Server) { s.Token = "dead-letter-token" })
	id := seedDeadLetter(t, ts.store, validCustomer("C600"), "FName is missing")

	ts.do(http.MethodGet, "/api/v1/dead-letters", nil, nil).expectError(t, http.StatusUnauthorized, "unauthorized")
	ts.retryDeadLetter(id, "Lin Fang").expectError(t, http.StatusUnauthorized, "unauthorized")
	if letter := getDeadLetter(t, ts.store, id); letter.State != store.DeadLetterOpen {
		t.Errorf("unauthorized retry changed the letter: %+v", letter)
	}
}
