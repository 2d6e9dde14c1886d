package chatsim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/simulators/chatsim"
	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	"github.com/ordo-project/ordo/internal/sqlitedb/sqlitetest"
	"github.com/ordo-project/ordo/internal/testports"
)

// The store tests use the DingTalk simulator's table of notices.
const testTable = "sim_dingtalk_messages"

type notice = dingtalksim.Message

func newServer(t *testing.T, faults simulators.FaultConfig) (*chatsim.Server, *simulators.Tokens) {
	t.Helper()
	server, err := chatsim.NewServer(chatsim.Setup{Name: "test simulator", Component: "test-sim", Faults: faults})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	return server, server.Tokens()
}

func serve(handler http.Handler, method, target string) *httptest.ResponseRecorder {
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(method, target, nil))
	return recorder
}

func TestControlEndpoints(t *testing.T) {
	server, tokens := newServer(t, simulators.FaultConfig{})
	var recipient string
	messages := func(_ context.Context, id string) ([]string, error) {
		recipient = id
		return []string{"first", "second"}, nil
	}
	summary := func(context.Context) (map[string]int, error) { return map[string]int{"delivered": 2}, nil }
	mux := http.NewServeMux()
	chatsim.HandleControl(mux, server, chatsim.Control{CodeParam: "code", RecipientParam: "receive_id"}, messages, summary)

	reply := serve(mux, http.MethodPost, "/sim/inject?code=230020&count=2")
	if reply.Code != http.StatusOK || strings.TrimSpace(reply.Body.String()) != `{"code":230020,"count":2}` {
		t.Errorf("inject replied %d %q", reply.Code, reply.Body.String())
	}
	for i := range 2 {
		if code, ok := server.NextInjectedError(); !ok || code != 230020 {
			t.Errorf("injected error %d = %d, %v, expected 230020, true", i+1, code, ok)
		}
	}
	if code, ok := server.NextInjectedError(); ok {
		t.Errorf("third injected error = %d, expected an empty queue", code)
	}

	reply = serve(mux, http.MethodPost, "/sim/inject?code=230020&count=0")
	if reply.Code != http.StatusBadRequest || !strings.Contains(reply.Body.String(), "code and count must be integers") {
		t.Errorf("inject with count 0 replied %d %q", reply.Code, reply.Body.String())
	}

	token, _ := tokens.Issue("t-")
	reply = serve(mux, http.MethodPost, "/sim/expire_tokens")
	if reply.Code != http.StatusOK || tokens.Check(token) != simulators.TokenExpired {
		t.Errorf("expire_tokens replied %d and left the token %v", reply.Code, tokens.Check(token))
	}

	reply = serve(mux, http.MethodGet, "/sim/messages?receive_id=ou_1")
	if strings.TrimSpace(reply.Body.String()) != `["first","second"]` || recipient != "ou_1" {
		t.Errorf("messages replied %q for recipient %q", reply.Body.String(), recipient)
	}
	reply = serve(mux, http.MethodGet, "/sim/summary")
	if strings.TrimSpace(reply.Body.String()) != `{"delivered":2}` {
		t.Errorf("summary replied %q", reply.Body.String())
	}
}

func TestNewServerDefaults(t *testing.T) {
	server, _ := newServer(t, simulators.FaultConfig{})
	if got := server.Injector().Hang(); got != 30*time.Second {
		t.Errorf("hang = %v, expected the injector default of 30s", got)
	}
	if since := time.Since(server.Now()); since < 0 || since > time.Minute {
		t.Errorf("clock is %v away from time.Now", since)
	}
	token, ttl := server.Tokens().Issue("")
	if ttl != 7200*time.Second {
		t.Errorf("token lifetime = %v, expected 7200s", ttl)
	}
	if server.Tokens().Check(token) != simulators.TokenValid {
		t.Errorf("new token %q is not valid", token)
	}
	if server.TokensIssued() != 1 {
		t.Errorf("tokens issued = %d, expected 1", server.TokensIssued())
	}
}

func TestNewServerInvalidFaults(t *testing.T) {
	_, err := chatsim.NewServer(chatsim.Setup{Name: "test simulator", Faults: simulators.FaultConfig{Rate: 2}})
	if err == nil || !strings.HasPrefix(err.Error(), "test simulator: invalid fault rate 2") {
		t.Errorf("error = %v, expected the invalid fault rate named with the simulator", err)
	}
}

func TestServeAndClose(t *testing.T) {
	server, err := chatsim.NewServer(chatsim.Setup{Name: "test simulator", Address: testports.Address(t)})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := server.Close(); err != nil {
		t.Errorf("close before start: %v", err)
	}
	if err := server.Serve(http.NotFoundHandler()); err != nil {
		t.Fatalf("serve: %v", err)
	}
	response, err := http.Get(server.URL() + "/anything")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	_ = response.Body.Close()
	if response.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, expected 404 from the handler", response.StatusCode)
	}
	if err := server.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestInvalidUsers(t *testing.T) {
	server, _ := newServer(t, simulators.FaultConfig{})
	server.SetInvalidUsers("ghost", "nobody")
	if !server.InvalidUser("ghost") || server.InvalidUser("zhangwei") {
		t.Errorf("after SetInvalidUsers: ghost %v, zhangwei %v", server.InvalidUser("ghost"), server.InvalidUser("zhangwei"))
	}
	server.SetInvalidUsers("zhangwei")
	if server.InvalidUser("ghost") {
		t.Error("SetInvalidUsers kept ghost from the earlier set")
	}
}

func TestStoreQueries(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.Open(t)
	for i := range 2 {
		if err := chatsim.Migrate(ctx, db, (*notice)(nil), testTable,
			chatsim.Index{Name: "sim_dingtalk_messages_user", Columns: []string{"userid", "received_at"}}); err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
	}

	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	rows := []notice{
		{UserID: "zhangwei", Digest: "a", Outcome: "delivered", ReceivedAt: now.Add(-2 * time.Hour)},
		{UserID: "zhangwei", Digest: "a", Outcome: "delivered", ReceivedAt: now.Add(-time.Minute)},
		{UserID: "zhangwei", Digest: "b", Outcome: "delivered", ReceivedAt: now},
		{UserID: "lisi", Digest: "a", Outcome: "delivered", ReceivedAt: now},
		{UserID: "lisi", Digest: "a", Outcome: "invalid_user", ReceivedAt: now},
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		t.Fatalf("insert rows: %v", err)
	}

	counts, err := chatsim.Count(ctx, db, testTable, "userid, digest", "delivered")
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	if counts.ByOutcome["delivered"] != 4 || counts.ByOutcome["invalid_user"] != 1 || len(counts.ByOutcome) != 2 {
		t.Errorf("outcome counts = %v, expected 4 delivered and 1 invalid_user", counts.ByOutcome)
	}
	if counts.Delivered != 4 {
		t.Errorf("delivered = %d, expected 4", counts.Delivered)
	}
	if counts.Distinct != 3 {
		t.Errorf("distinct delivered (user, digest) pairs = %d, expected 3", counts.Distinct)
	}
	if counts.Copies != 1 {
		t.Errorf("copies = %d, expected 1", counts.Copies)
	}

	listed, err := chatsim.List[notice](ctx, db, testTable, "userid", "lisi")
	if err != nil {
		t.Fatalf("list lisi: %v", err)
	}
	if len(listed) != 2 || listed[0].ID >= listed[1].ID {
		t.Errorf("lisi's rows = %+v, expected 2 rows, oldest first", listed)
	}
	all, err := chatsim.List[notice](ctx, db, testTable, "userid", "")
	if err != nil {
		t.Fatalf("list all: %v", err)
	}
	if len(all) != len(rows) {
		t.Errorf("all rows = %d, expected %d", len(all), len(rows))
	}

	since := now.Add(-time.Hour)
	sameContent, err := chatsim.CountSince(ctx, db, (*notice)(nil), "userid", "zhangwei", "delivered", "a", since)
	if err != nil {
		t.Fatalf("count same content: %v", err)
	}
	if sameContent != 1 {
		t.Errorf("zhangwei's deliveries of digest a in the last hour = %d, expected 1", sameContent)
	}
	anyContent, err := chatsim.CountSince(ctx, db, (*notice)(nil), "userid", "zhangwei", "delivered", "", since)
	if err != nil {
		t.Fatalf("count any content: %v", err)
	}
	if anyContent != 2 {
		t.Errorf("zhangwei's deliveries in the last hour = %d, expected 2", anyContent)
	}
}

func TestDigest(t *testing.T) {
	first := chatsim.Digest("text", "", "hello", "")
	if len(first) != 32 {
		t.Errorf("digest %q has %d hex digits, expected 32", first, len(first))
	}
	if first != chatsim.Digest("text", "", "hello", "") {
		t.Error("digest of the same content differs")
	}
	// The separator keeps field boundaries apart.
	if chatsim.Digest("text", "ab", "c", "") == chatsim.Digest("text", "a", "bc", "") {
		t.Error("digests of different fields are equal")
	}
}
