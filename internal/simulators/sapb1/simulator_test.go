package sapb1

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/simulators"
)

// testClient is a raw HTTP client of a simulator, keeping its cookies.
type testClient struct {
	t      *testing.T
	base   string
	http   *http.Client
	sim    *Simulator
	server *httptest.Server
}

type recordingWorld struct {
	simulators.NopWorld
	orders chan simulators.SalesOrderAudited
}

func (w *recordingWorld) SalesOrderAudited(_ context.Context, event simulators.SalesOrderAudited) error {
	w.orders <- event
	return nil
}

func startSim(t *testing.T, path string, change func(*Config)) *testClient {
	t.Helper()
	logger := logrus.New()
	logger.SetLevel(logrus.WarnLevel)
	cfg := Config{Path: path, Logger: logger, CompanyDB: "SBODEMO", UserName: "manager", Password: "pw", CompletionDelay: time.Hour, PollInterval: 20 * time.Millisecond}
	if change != nil {
		change(&cfg)
	}
	sim, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(sim.Handler())
	jar, _ := cookiejar.New(nil)
	c := &testClient{t: t, base: server.URL + apiPrefix, http: &http.Client{Jar: jar, Timeout: 5 * time.Second}, sim: sim, server: server}
	t.Cleanup(c.stop)
	return c
}

func (c *testClient) stop() {
	c.server.Close()
	_ = c.sim.Close()
}

// do sends a request and decodes the JSON reply, if any, into a map.
func (c *testClient) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var reader *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	} else {
		reader = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c *testClient) login() {
	c.t.Helper()
	if status, body := c.do("POST", "Login", map[string]string{"CompanyDB": "SBODEMO", "UserName": "manager", "Password": "pw"}); status != 200 {
		c.t.Fatalf("login: HTTP %d %v", status, body)
	}
}

// errorOf returns the code and message of a Service Layer error body.
func errorOf(t *testing.T, body map[string]any) (float64, string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("reply %v has no error object", body)
	}
	message, _ := e["message"].(map[string]any)
	if message["lang"] != "en-us" {
		t.Errorf("error message %v has no lang en-us", message)
	}
	code, _ := e["code"].(float64)
	value, _ := message["value"].(string)
	return code, value
}

func TestLoginSetsSessionCookies(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	c.login()
	names := map[string]bool{}
	for _, cookie := range c.cookies() {
		names[cookie.Name] = true
	}
	if !names[CookieSession] || !names[CookieRoute] {
		t.Errorf("cookies after login: %v, expected B1SESSION and ROUTEID", names)
	}
}

func (c *testClient) cookies() []*http.Cookie {
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.http.Jar.Cookies(u)
}

func TestWrongPasswordIsRejected(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	status, body := c.do("POST", "Login", map[string]string{"CompanyDB": "SBODEMO", "UserName": "manager", "Password": "wrong"})
	if status != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: HTTP %d, expected 401", status)
	}
	if _, message := errorOf(t, body); message == "" {
		t.Errorf("login error has no message")
	}
}

func TestCallWithoutSessionIsInvalidSession(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	status, body := c.do("GET", "Orders", nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("GET Orders without a session: HTTP %d, expected 401", status)
	}
	if code, _ := errorOf(t, body); code != 301 {
		t.Errorf("error code %v, expected 301", code)
	}
}

func TestDuplicateOrdoNumberIsRejected(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	c.login()
	if status, body := c.do("POST", "BusinessPartners", map[string]any{"CardCode": "C1", "CardName": "Acme"}); status != 201 {
		t.Fatalf("create partner: HTTP %d %v", status, body)
	}
	order := map[string]any{"CardCode": "C1", "U_ORDO_NO": "SO-1", "U_ORDO_CONTRACT": "CT-1", "DocCurrency": "CNY",
		"DocumentLines": []map[string]any{{"ItemCode": "P-1", "Quantity": 2, "PriceAfterVAT": 10}}}
	status, created := c.do("POST", "Orders", order)
	if status != 201 || created["DocTotal"] != "20.00" && created["DocTotal"] != float64(20) {
		t.Fatalf("create order: HTTP %d %v, expected 201 with DocTotal 20", status, created)
	}
	status, body := c.do("POST", "Orders", order)
	if status != http.StatusBadRequest {
		t.Fatalf("second order with U_ORDO_NO SO-1: HTTP %d, expected 400", status)
	}
	if code, message := errorOf(t, body); code != -5002 || !strings.Contains(message, "SO-1") {
		t.Errorf("duplicate error %v %q, expected code -5002 naming SO-1", code, message)
	}
	entries, err := simulators.NewLedger(c.sim.db).Entries(context.Background(), "CT-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Kind != "sales_order" {
		t.Errorf("ledger of CT-1: %+v, expected one sales order", entries)
	}
}

func TestOrderOfUnknownPartnerIsRejected(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	c.login()
	status, body := c.do("POST", "Orders", map[string]any{"CardCode": "NOPE", "DocumentLines": []map[string]any{{"ItemCode": "P-1", "Quantity": 1}}})
	if status != http.StatusBadRequest {
		t.Fatalf("order of an unknown partner: HTTP %d, expected 400", status)
	}
	if _, message := errorOf(t, body); !strings.Contains(message, "NOPE") {
		t.Errorf("error %q does not name the partner", message)
	}
}

func TestListPagesWithNextLink(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), func(cfg *Config) { cfg.PageSize = 2 })
	c.login()
	for _, code := range []string{"C1", "C2", "C3", "C4", "C5"} {
		if status, _ := c.do("POST", "BusinessPartners", map[string]any{"CardCode": code, "CardName": "n"}); status != 201 {
			t.Fatalf("create %s: HTTP %d", code, status)
		}
	}
	var codes []string
	path := "BusinessPartners?$select=CardCode&$filter=CardCode%20ne%20'C2'"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("more than five pages for four partners")
		}
		status, body := c.do("GET", path, nil)
		if status != 200 {
			t.Fatalf("GET %s: HTTP %d %v", path, status, body)
		}
		for _, v := range body["value"].([]any) {
			codes = append(codes, v.(map[string]any)["CardCode"].(string))
		}
		path, _ = body["odata.nextLink"].(string)
	}
	if got := strings.Join(codes, ","); got != "C1,C3,C4,C5" {
		t.Errorf("listed %s, expected C1,C3,C4,C5", got)
	}
}

func TestInvalidFilterIsRejected(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	c.login()
	for _, filter := range []string{"CardCode%20like%20'x'", "CardCode%20eq%20'x", "CardCode%20eq%20'x'%20or%20CardCode%20eq%20'y'"} {
		if status, _ := c.do("GET", "BusinessPartners?$filter="+filter, nil); status != http.StatusBadRequest {
			t.Errorf("$filter=%s: HTTP %d, expected 400", filter, status)
		}
	}
}

func TestSalesOrderReachesWorld(t *testing.T) {
	world := &recordingWorld{orders: make(chan simulators.SalesOrderAudited, 4)}
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), func(cfg *Config) { cfg.World = world })
	c.login()
	c.do("POST", "BusinessPartners", map[string]any{"CardCode": "C1", "CardName": "Acme Pumps"})
	c.do("POST", "Orders", map[string]any{"CardCode": "C1", "U_ORDO_NO": "SO-9", "U_ORDO_CONTRACT": "CT-9", "DocCurrency": "CNY", "DocTotal": "99.50",
		"DocumentLines": []map[string]any{{"ItemCode": "P-1", "Quantity": 1}}})
	select {
	case event := <-world.orders:
		if event.Number != "SO-9" || event.ContractNo != "CT-9" || event.CustomerName != "Acme Pumps" || event.Total.String() != "99.5" || event.Currency != "CNY" {
			t.Errorf("reported %+v, expected SO-9 of CT-9 for Acme Pumps, 99.50 CNY", event)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the sales order was not reported to the world within 5s")
	}
}

func TestLostReplyStillCreates(t *testing.T) {
	c := startSim(t, filepath.Join(t.TempDir(), "sim.db"), nil)
	c.login()
	c.sim.InjectNext(simulators.FaultLostReply, "POST BusinessPartners")
	data, _ := json.Marshal(map[string]any{"CardCode": "C1", "CardName": "n"})
	if _, err := c.http.Post(c.base+"BusinessPartners", "application/json", bytes.NewReader(data)); err == nil {
		t.Fatal("POST with a lost reply returned a reply")
	}
	if status, body := c.do("GET", "BusinessPartners('C1')", nil); status != 200 || body["CardName"] != "n" {
		t.Errorf("GET the partner after a lost reply: HTTP %d %v, expected the partner", status, body)
	}
	if got := c.sim.Stats().Faults; got != 1 {
		t.Errorf("stats count %d faults, expected 1", got)
	}
}

func TestDocumentsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.db")
	first := startSim(t, path, nil)
	first.login()
	first.do("POST", "BusinessPartners", map[string]any{"CardCode": "C1", "CardName": "n"})
	oldCookies := first.cookies()
	first.stop()

	second := startSim(t, path, nil)
	req, err := http.NewRequest("GET", second.base+"BusinessPartners('C1')", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cookie := range oldCookies {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET with the first simulator's session: HTTP %d, expected 401 because sessions live in memory", resp.StatusCode)
	}
	second.login()
	if status, body := second.do("GET", "BusinessPartners('C1')", nil); status != 200 {
		t.Errorf("GET the partner after the restart: HTTP %d %v", status, body)
	}
}
