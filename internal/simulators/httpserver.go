package simulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// HTTPServer serves one simulator's handler on a loopback listener in the
// background.
type HTTPServer struct {
	server   *http.Server
	listener net.Listener
}

// StartHTTP listens on address and serves handler until Close. name, e.g.
// "SMS simulator", starts its log lines and errors.
func StartHTTP(address string, handler http.Handler, name string, log logrus.FieldLogger) (*HTTPServer, error) {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, address, err)
	}
	s := &HTTPServer{server: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}, listener: listener}
	go func() {
		if err := s.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error(name + " stopped")
		}
	}()
	log.WithField("address", listener.Addr().String()).Info(name + " listening")
	return s, nil
}

// URL returns the base URL clients use, e.g. http://127.0.0.1:8095.
func (s *HTTPServer) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops the server, waiting up to 5 seconds for running requests.
func (s *HTTPServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.server.Shutdown(ctx)
}

// DropConnection closes the request's connection without a reply, as a
// lost reply or a dropped request looks to the client.
func DropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
