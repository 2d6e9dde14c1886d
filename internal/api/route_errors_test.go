package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestRouteErrorsAreJSON(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	cases := []struct {
		name, method, path string
		status             int
		code               string
		words              []string
	}{
		{"unknown route", http.MethodGet, "/api/v1/nothing-here", http.StatusNotFound, "not_found", []string{"GET", "/api/v1/nothing-here"}},
		{"unknown root path", http.MethodGet, "/", http.StatusNotFound, "not_found", []string{"GET /"}},
		{"wrong method", http.MethodDelete, "/api/v1/contracts", http.StatusMethodNotAllowed, "method_not_allowed",
			[]string{"DELETE", "/api/v1/contracts", "GET"}},
		{"get on a post route", http.MethodGet, "/api/v1/tasks/1/complete", http.StatusMethodNotAllowed, "method_not_allowed",
			[]string{"GET", "POST"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := ts.do(tc.method, tc.path, nil, nil)
			resp.expectError(t, tc.status, tc.code, tc.words...)
			if contentType := resp.header.Get("Content-Type"); !strings.HasPrefix(contentType, "application/json") {
				t.Errorf("content type %q, expected application/json", contentType)
			}
			if tc.status == http.StatusMethodNotAllowed && resp.header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}

	t.Run("known route unchanged", func(t *testing.T) {
		if resp := ts.do(http.MethodGet, "/api/v1/contracts", nil, nil); resp.status != http.StatusOK {
			t.Errorf("GET /api/v1/contracts: status %d, expected 200", resp.status)
		}
	})
}
