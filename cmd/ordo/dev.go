package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/devserver"
	"github.com/ordo-project/ordo/internal/logging"
)

func newDevCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded stack: Temporal, Web UI, API, worker and simulators",
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, err := logging.New(logging.Options{})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			srv, err := devserver.Start(ctx, devserver.Config{
				DataDir:         dataDir,
				FrontendAddress: "127.0.0.1:7233",
				UIAddress:       "127.0.0.1:8233",
				Logger:          logger,
			})
			if err != nil {
				return err
			}
			<-ctx.Done()
			return srv.Stop()
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", ".ordo", "directory for all state")
	_ = context.Background
	return cmd
}
