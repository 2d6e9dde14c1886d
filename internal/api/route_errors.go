package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
)

// WriteError writes an API error in the shape of every other API error,
// {"error": {"code", "message"}}. Handlers outside this package, such as
// the routes in Server.Extra, use it.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeError(w, status, code, message)
}

// jsonRouteErrors responds to requests that match no route with JSON errors in
// place of http.ServeMux's plain-text 404 and 405. Every other request,
// including the mux's redirects to a canonical path, reaches the mux as is.
func jsonRouteErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No route matched, so handler is the mux's own 404, 405 or
		// redirect. It writes into a buffer, so its status can be read.
		captured := &capturedResponse{header: http.Header{}, status: http.StatusOK}
		handler.ServeHTTP(captured, r)
		switch captured.status {
		case http.StatusNotFound:
			writeError(w, http.StatusNotFound, "not_found",
				fmt.Sprintf("no API route %s %s: see the route list in README.md", r.Method, r.URL.Path))
		case http.StatusMethodNotAllowed:
			allow := captured.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.ReplaceAll(allow, ", ", " or ")))
		default:
			for key, values := range captured.header {
				w.Header()[key] = values
			}
			w.WriteHeader(captured.status)
			_, _ = w.Write(captured.body.Bytes())
		}
	})
}

// capturedResponse is a ResponseWriter that keeps what a handler writes.
type capturedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capturedResponse) Header() http.Header { return c.header }

func (c *capturedResponse) WriteHeader(status int) { c.status = status }

func (c *capturedResponse) Write(data []byte) (int, error) { return c.body.Write(data) }
