package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
)

// servePprof serves the Go runtime profiles until ctx ends. They expose
// internals, so bind them to loopback.
func servePprof(ctx context.Context, address string, logger *logrus.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("listen on %s for profiles: %w", address, err)
	}
	server := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	go func() { _ = server.Serve(listener) }()
	logger.WithField(logging.KeyAddress, listener.Addr().String()).Info("serving Go profiles")
	return nil
}
