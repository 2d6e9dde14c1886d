package simulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// HTTPServer serves one simulator's handler on a loopback address in the
// background.
type HTTPServer struct {
	server   *http.Server
	listener net.Listener
}

// ServeHTTP listens on address and serves handler until Close. name
// labels the log lines, e.g. "DingTalk simulator".
func ServeHTTP(address string, handler http.Handler, log logrus.FieldLogger, name string) (*HTTPServer, error) {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, address, err)
	}
	s := &HTTPServer{listener: listener, server: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error(name + " stopped")
		}
	}()
	log.WithField("address", listener.Addr().String()).Info(name + " listening")
	return s, nil
}

// URL returns the base URL clients use.
func (s *HTTPServer) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops the server, waiting up to 5 seconds for requests in flight.
func (s *HTTPServer) Close() error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.server.Shutdown(ctx)
}

// DiscardLogger returns a logger that drops every line, the default of
// simulators configured without one.
func DiscardLogger() logrus.FieldLogger {
	logger := logrus.New()
	logger.Out = io.Discard
	return logger
}
