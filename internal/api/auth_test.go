package api

import (
	"net/http"
	"testing"

	"github.com/ordo-project/ordo/internal/numbering"
)

func TestAuthToken(t *testing.T) {
	const token = "s3cret-api-token"
	ledger := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	ts := newTestServer(t, "sqlite", func(s *Server) {
		s.Token = token
		s.Extra = map[string]http.Handler{"GET /api/v1/dev/ledger": ledger}
	})

	routes := []struct {
		method string
		path   string
		body   string
	}{
		{http.MethodGet, "/api/v1/contracts", ""},
		{http.MethodGet, "/api/v1/contracts/CT-NOSUCH", ""},
		{http.MethodPost, "/api/v1/contracts/CT-NOSUCH/cancel", `{"reason":"test"}`},
		{http.MethodPost, "/api/v1/contracts/CT-NOSUCH/resume", `{}`},
		{http.MethodGet, "/api/v1/summary", ""},
		{http.MethodGet, "/api/v1/attention", ""},
		{http.MethodGet, "/api/v1/bank-lines", ""},
		{http.MethodPost, "/api/v1/bank-lines/L-1/assign", `{"contract_no":"CT-1"}`},
		{http.MethodPost, "/api/v1/imports/crm", ""},
		{http.MethodGet, "/api/v1/imports/crm-1", ""},
		{http.MethodGet, "/api/v1/dev/ledger", ""},
	}
	rejected := []struct {
		name          string
		authorization string
	}{
		{"no header", ""},
		{"wrong token", "Bearer wrong-token"},
		{"token without scheme", token},
		{"other scheme", "Basic " + token},
		{"token prefix", "Bearer " + token[:5]},
		{"empty bearer", "Bearer "},
	}
	for _, route := range routes {
		for _, tc := range rejected {
			t.Run(route.method+" "+route.path+" "+tc.name, func(t *testing.T) {
				header := http.Header{"Content-Type": {"application/json"}}
				if tc.authorization != "" {
					header.Set("Authorization", tc.authorization)
				}
				ts.do(route.method, route.path, []byte(route.body), header).
					expectError(t, http.StatusUnauthorized, "unauthorized", "bearer token")
			})
		}
	}

	for _, authorization := range []string{"Bearer " + token, "bearer " + token} {
		t.Run("accepted "+authorization[:6], func(t *testing.T) {
			resp := ts.do(http.MethodGet, "/api/v1/contracts", nil, http.Header{"Authorization": {authorization}})
			if resp.status != http.StatusOK {
				t.Errorf("status %d with %q, expected 200; body %s", resp.status, authorization[:6]+"…", resp.body)
			}
			resp = ts.do(http.MethodGet, "/api/v1/dev/ledger", nil, http.Header{"Authorization": {authorization}})
			if resp.status != http.StatusOK {
				t.Errorf("extra route: status %d, expected 200; body %s", resp.status, resp.body)
			}
		})
	}

	t.Run("health without token", func(t *testing.T) {
		expectStatus(t, ts.do(http.MethodGet, "/healthz", nil, nil), http.StatusOK, "ok")
	})

	t.Run("signed routes without token", func(t *testing.T) {
		no := uniqueNo(t)
		t.Cleanup(func() { terminateWorkflow(t, numbering.ContractWorkflowID(no)) })
		expectStatus(t, ts.postSigned(contractSignedPath, mustJSON(t, signedEvent("evt-"+no, no))), http.StatusAccepted, "accepted")
		ts.waitChainStarted(no)
		expectStatus(t, ts.postSigned(productionPath, mustJSON(t, productionBody(no))), http.StatusOK, "accepted")
		expectStatus(t, ts.postSigned(einvoicePath, mustJSON(t, invoiceBody(numbering.InvoiceSerial(no), no))), http.StatusOK, "accepted")
	})
}

func TestAuthWithoutToken(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	resp := ts.do(http.MethodGet, "/api/v1/contracts", nil, http.Header{"Authorization": {"Bearer anything"}})
	if resp.status != http.StatusOK {
		t.Errorf("status %d without a configured token, expected 200; body %s", resp.status, resp.body)
	}
}

func TestHealthDatabaseDown(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	if err := ts.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	ts.do(http.MethodGet, "/healthz", nil, nil).expectError(t, http.StatusServiceUnavailable, "database_unavailable", "database")
}
