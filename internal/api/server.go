// Package api serves ordo's HTTP API: contract status for people and the
// CLI, inbound CRM events and callbacks from outside systems, imports, and
// the queues of work that needs a person.
package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/leads"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/renewals"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/tickets"
)

// maxBodyBytes bounds JSON request bodies; imports have their own limit.
const maxBodyBytes = 1 << 20

// Server is the HTTP API.
type Server struct {
	Store    *store.Store
	Temporal client.Client
	Config   *config.Config
	Logger   *logrus.Logger
	// Token, when not empty, is required as a bearer token on every route
	// except health checks and HMAC-signed routes.
	Token string
	// AdminToken, when not empty, is accepted wherever Token is, and lets
	// its bearer act for anyone, such as completing another person's task.
	AdminToken string
	// WebhookSecret verifies inbound CRM events and callbacks.
	WebhookSecret []byte
	// LinkSecret verifies the signed links of task pages; with none, every
	// task page link is rejected.
	LinkSecret []byte
	// Contracts starts chains for newly recorded contracts.
	Contracts ContractStarter
	// Renewals plans and drives contract renewals; nil disables the
	// renewal routes.
	Renewals *renewals.Starter
	// Tickets opens tickets and starts their workflows; nil disables
	// opening tickets.
	Tickets *tickets.Starter
	// Leads serves the lead operations; LeadStarter starts the SLA
	// workflows of imported leads.
	Leads       *leads.Service
	LeadStarter LeadStarter
	// Extra routes, for example the simulator ledger under ordo dev.
	Extra map[string]http.Handler
	// Metrics, when set, serves GET /metrics for Prometheus, without the
	// token unless MetricsAuth is set.
	Metrics     http.Handler
	MetricsAuth bool
	// Now is the clock, replaceable in tests.
	Now func() time.Time

	http *http.Server
}

// ContractStarter starts chains for recorded contracts.
type ContractStarter interface {
	Kick()
	Start(ctx context.Context, contract *store.Contract, account *store.Account) error
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)

	mux.Handle("GET /api/v1/contracts", s.auth(s.listContracts))
	mux.Handle("GET /api/v1/contracts/{no}", s.auth(s.showContract))
	mux.Handle("POST /api/v1/contracts/{no}/cancel", s.auth(s.cancelContract))
	mux.Handle("POST /api/v1/contracts/{no}/resume", s.auth(s.resumeContract))
	mux.Handle("GET /api/v1/summary", s.auth(s.summary))
	mux.Handle("GET /api/v1/attention", s.auth(s.listAttention))
	mux.Handle("GET /api/v1/bank-lines", s.auth(s.listBankLines))
	mux.Handle("GET /api/v1/dead-letters", s.auth(s.listDeadLetters))
	mux.Handle("POST /api/v1/dead-letters/{id}/retry", s.auth(s.retryDeadLetter))
	mux.Handle("GET /api/v1/sync/status", s.auth(s.syncStatus))
	mux.Handle("POST /api/v1/bank-lines/{id}/assign", s.auth(s.assignBankLine))
	mux.Handle("POST /api/v1/bank-lines/{id}/unassign", s.auth(s.unassignBankLine))
	mux.Handle("GET /api/v1/contracts/{no}/renewal", s.auth(s.showRenewal))
	mux.Handle("POST /api/v1/contracts/{no}/renewal", s.auth(s.renewalAction))
	mux.Handle("POST /api/v1/contracts/{no}/end-date", s.auth(s.setEndDate))
	mux.Handle("GET /api/v1/customers/{name}", s.auth(s.showCustomer))
	mux.Handle("POST /api/v1/customers/{name}/contact", s.auth(s.setCustomerContact))
	mux.Handle("POST /api/v1/tickets", s.auth(s.openTicket))
	mux.Handle("GET /api/v1/tickets", s.auth(s.listTickets))
	mux.Handle("GET /api/v1/tickets/{id}", s.auth(s.showTicket))
	mux.Handle("POST /api/v1/tickets/{id}/answer", s.auth(s.answerTicket))
	mux.Handle("POST /api/v1/tickets/{id}/return", s.auth(s.returnTicket))
	mux.Handle("POST /api/v1/imports/crm", s.auth(s.importCRM))
	mux.Handle("GET /api/v1/imports/{id}", s.auth(s.showImport))
	mux.Handle("GET /api/v1/rules", s.auth(s.showLatestRules))
	mux.Handle("POST /api/v1/rules", s.auth(s.applyRules))
	mux.Handle("GET /api/v1/rules/versions", s.auth(s.listRuleVersions))
	mux.Handle("GET /api/v1/rules/versions/{n}", s.auth(s.showRulesVersion))
	mux.Handle("GET /api/v1/tasks", s.auth(s.listTasks))
	mux.Handle("GET /api/v1/metrics/process-health", s.auth(s.processHealth))
	mux.Handle("POST /api/v1/customers/{name}/interactions", s.auth(s.recordInteraction))
	mux.Handle("GET /api/v1/tasks/{id}", s.auth(s.showTask))
	mux.Handle("POST /api/v1/tasks/{id}/complete", s.auth(s.completeTask))
	mux.HandleFunc("GET /t/{id}", s.showTaskPage)
	mux.HandleFunc("POST /t/{id}/complete", s.completeTaskPage)
	mux.Handle("POST /api/v1/contracts/{no}/verify-phone", s.auth(s.verifyPhone))
	mux.Handle("POST /api/v1/approvals", s.auth(s.requestApproval))
	mux.Handle("GET /api/v1/approvals", s.auth(s.listApprovals))
	mux.Handle("GET /api/v1/approvals/{id}", s.auth(s.showApproval))
	mux.Handle("POST /api/v1/approvals/{id}/decide", s.auth(s.decideApproval))
	mux.Handle("POST /api/v1/approvals/{id}/retry-erp", s.auth(s.retryApprovalERP))
	mux.Handle("GET /api/v1/leads", s.auth(s.listLeads))
	mux.Handle("POST /api/v1/leads", s.auth(s.createLead))
	mux.Handle("GET /api/v1/leads/{id}", s.auth(s.showLead))
	mux.Handle("POST /api/v1/leads/{id}/contact", s.auth(s.contactLead))
	mux.Handle("POST /api/v1/leads/{id}/reassign", s.auth(s.reassignLead))

	mux.HandleFunc("POST /api/v1/events/contract-signed", s.contractSigned)
	mux.HandleFunc("POST /api/v1/callbacks/erp/production", s.productionCallback)
	mux.HandleFunc("POST /api/v1/callbacks/einvoice", s.invoiceCallback)

	for pattern, h := range s.Extra {
		mux.Handle(pattern, s.auth(h.ServeHTTP))
	}
	if s.Metrics != nil && s.MetricsAuth {
		mux.Handle("GET /metrics", s.auth(s.Metrics.ServeHTTP))
	} else if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	return s.logRequests(jsonRouteErrors(mux))
}

// ListenAndServe serves on address until ctx ends, then shuts down
// gracefully.
func (s *Server) ListenAndServe(ctx context.Context, address string) error {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("listen on %s for the API: %w", address, err)
	}
	return s.Serve(ctx, listener)
}

// Serve serves on listener until ctx ends.
func (s *Server) Serve(ctx context.Context, listener net.Listener) error {
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errs := make(chan error, 1)
	go func() { errs <- s.http.Serve(listener) }()
	s.Logger.WithField(logging.KeyAddress, listener.Addr().String()).Info("API listening")
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.http.Shutdown(shutdownCtx)
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.DB.PingContext(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "database_unavailable", "database not reachable: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// auth wraps a handler with the bearer token check.
func (s *Server) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Token != "" {
			// The scheme is case-insensitive (RFC 9110, section 11.1), the
			// token is not.
			scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if (!strings.EqualFold(scheme, "Bearer") || !constantTimeEqual(strings.TrimSpace(token), s.Token)) && !s.isAdmin(r) {
				writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token: set ORDO_API_TOKEN")
				return
			}
		}
		next(w, r)
	})
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status >= 400 || s.Logger.IsLevelEnabled(logrus.DebugLevel) {
			entry := s.Logger.WithFields(logrus.Fields{
				logging.KeyHTTPMethod: r.Method,
				logging.KeyHTTPPath:   r.URL.Path,
				logging.KeyStatusCode: rec.status,
				logging.KeyDuration:   time.Since(started).Round(time.Microsecond).String(),
				logging.KeyRemoteAddr: r.RemoteAddr,
			})
			if rec.status >= 500 {
				entry.Warn("API request failed")
			} else if rec.status >= 400 {
				entry.Info("API request rejected")
			} else {
				entry.Debug("API request")
			}
		}
	})
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeStoreError maps store errors onto HTTP answers.
func (s *Server) writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrLineNotAssignable):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		s.Logger.WithError(err).Error("API database error")
		writeError(w, http.StatusInternalServerError, "internal", "database error; see the ordo log")
	}
}

// errBodyTooLarge means a JSON request body exceeds maxBodyBytes.
var errBodyTooLarge = errors.New("request body exceeds 1 MiB")

// readJSON decodes a bounded JSON body into v; see decodeStrict. When
// emptyOK is set, an empty body leaves v as it is, for requests whose
// fields are all optional.
func readJSON(r *http.Request, v any, emptyOK bool) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(body) > maxBodyBytes {
		return errBodyTooLarge
	}
	if emptyOK && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeStrict(body, v)
}

// writeBodyError writes the error response to a request whose body
// readJSON rejected.
func writeBodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
}

// decodeStrict decodes body, which must be one JSON value and nothing
// after it, into v, rejecting unknown fields.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("request body is empty: send a JSON object")
		}
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid JSON body: send one JSON object and nothing after it")
	}
	return nil
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
