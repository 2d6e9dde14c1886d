// Package chatsim contains the parts that ordo's simulators of chat
// platforms (DingTalk, Feishu, WeCom) share. These are the HTTP server,
// the /sim control endpoints, the queue of injected error codes, the set
// of recipients that do not exist and the faults that get the same reply
// on every platform. The package also has the queries on a table of
// received messages. Each simulator keeps its wire format, error codes,
// token rules and limits.
package chatsim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// Setup configures a Server. Zero values take the defaults named on each
// field, which are those of every chat simulator's Config.
type Setup struct {
	// Name labels log lines and errors, e.g. "DingTalk simulator".
	Name string
	// Component is the logging component of the simulator, e.g.
	// "dingtalk-sim".
	Component string
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// TokenTTL is the lifetime of an access token, default 7200 seconds.
	TokenTTL time.Duration
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults        simulators.FaultConfig
	DefaultFaults []simulators.Fault
	// InvalidUsers are the recipient ids that do not exist.
	InvalidUsers []string
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Server is the protocol-independent part of a chat platform simulator.
// A simulator embeds it, so the methods below are the simulator's own.
type Server struct {
	name     string
	address  string
	clock    func() time.Time
	log      logrus.FieldLogger
	injector *simulators.Injector
	tokens   *simulators.Tokens

	inject  simulators.Queue[int]
	invalid simulators.IDSet

	http *simulators.HTTPServer
}

// NewServer applies the defaults to setup and returns the server. It
// returns an error if the fault configuration is invalid.
func NewServer(setup Setup) (*Server, error) {
	if setup.Address == "" {
		setup.Address = "127.0.0.1:0"
	}
	if setup.TokenTTL <= 0 {
		setup.TokenTTL = 7200 * time.Second
	}
	if setup.Clock == nil {
		setup.Clock = time.Now
	}
	if setup.Logger == nil {
		setup.Logger = simulators.DiscardLogger()
	}
	injector, err := simulators.NewInjector(setup.Faults, setup.DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setup.Name, err)
	}
	s := &Server{
		name: setup.Name, address: setup.Address, clock: setup.Clock,
		log:      setup.Logger.WithField(logging.KeyComponent, setup.Component),
		injector: injector,
		tokens:   simulators.NewTokens(setup.TokenTTL, setup.Clock),
	}
	s.SetInvalidUsers(setup.InvalidUsers...)
	return s, nil
}

// Serve listens on the configured address and serves handler in the
// background.
func (s *Server) Serve(handler http.Handler) error {
	server, err := simulators.ServeHTTP(s.address, handler, s.log, s.name)
	if err != nil {
		return err
	}
	s.http = server
	return nil
}

// URL returns the base URL clients use, once started.
func (s *Server) URL() string { return s.http.URL() }

// Close stops the server. It returns nil if the server never started.
func (s *Server) Close() error { return s.http.Close() }

// Now returns the time of the simulator's clock.
func (s *Server) Now() time.Time { return s.clock() }

// Log returns the simulator's logger.
func (s *Server) Log() logrus.FieldLogger { return s.log }

// Tokens returns the access tokens the simulator issued.
func (s *Server) Tokens() *simulators.Tokens { return s.tokens }

// Injector returns the fault injector, so tests can change the faults.
func (s *Server) Injector() *simulators.Injector { return s.injector }

// ExpireTokens makes every issued token expired, so the next call with
// one gets the platform's expired-token error.
func (s *Server) ExpireTokens() { s.tokens.ExpireAll() }

// TokensIssued returns how many tokens the simulator issued.
func (s *Server) TokensIssued() int { return s.tokens.Issued() }

// InjectSendErrors makes the next count send requests fail with the
// platform error code and send nothing.
func (s *Server) InjectSendErrors(code, count int) {
	for range count {
		s.inject.Push(code)
	}
}

// SetInvalidUsers replaces the recipient ids that do not exist.
func (s *Server) SetInvalidUsers(ids ...string) { s.invalid.Replace(ids...) }

// InvalidUser reports whether id is one of the ids set by
// SetInvalidUsers.
func (s *Server) InvalidUser(id string) bool { return s.invalid.Contains(id) }

// NextInjectedError removes and returns the oldest error code queued by
// InjectSendErrors. It returns false when the queue is empty.
func (s *Server) NextInjectedError() (int, bool) { return s.inject.Pop() }

// Control names the query parameters of the /sim control endpoints, which
// follow each platform's own names.
type Control struct {
	// CodeParam is the parameter of /sim/inject with the error code, such
	// as "errcode". The reply uses the same name for the code.
	CodeParam string
	// RecipientParam is the parameter of /sim/messages that selects one
	// recipient, such as "userid".
	RecipientParam string
}

// HandleControl adds the control endpoints to mux:
//
//	POST /sim/expire_tokens            every issued token expires
//	POST /sim/inject?<CodeParam>=<code>&count=1
//	GET  /sim/messages?<RecipientParam>=
//	GET  /sim/summary
//
// messages lists the stored messages, of one recipient when its argument
// is not empty, and summary counts them.
func HandleControl[M, S any](mux *http.ServeMux, server *Server, control Control,
	messages func(context.Context, string) ([]M, error), summary func(context.Context) (S, error)) {
	mux.HandleFunc("POST /sim/expire_tokens", func(w http.ResponseWriter, r *http.Request) {
		server.ExpireTokens()
		simulators.WriteJSON(w, map[string]any{"expired": true})
	})
	mux.HandleFunc("POST /sim/inject", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get(control.CodeParam))
		count, cerr := strconv.Atoi(r.URL.Query().Get("count"))
		if err != nil || cerr != nil || count < 1 {
			http.Error(w, control.CodeParam+" and count must be integers, count at least 1", http.StatusBadRequest)
			return
		}
		server.InjectSendErrors(code, count)
		simulators.WriteJSON(w, map[string]any{control.CodeParam: code, "count": count})
	})
	mux.HandleFunc("GET /sim/messages", func(w http.ResponseWriter, r *http.Request) {
		list, err := messages(r.Context(), r.URL.Query().Get(control.RecipientParam))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		simulators.WriteJSON(w, list)
	})
	mux.HandleFunc("GET /sim/summary", func(w http.ResponseWriter, r *http.Request) {
		counts, err := summary(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		simulators.WriteJSON(w, counts)
	})
}
