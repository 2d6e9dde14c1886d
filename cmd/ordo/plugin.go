package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/plugins/erpplugin"
	"github.com/ordo-project/ordo/plugins/host"
)

func newPluginCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "List and verify the out-of-process connector plugins of the configuration",
		Long: "Plugins are connector executables listed under plugins: in the configuration, each with the\n" +
			"SHA-256 checksum ordo requires before it starts the file. These commands read the configuration\n" +
			"file directly and need no running ordo.",
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", os.Getenv("ORDO_CONFIG"), "YAML configuration file (env ORDO_CONFIG)")
	load := func() (*config.Config, error) { return config.Load(configPath) }
	cmd.AddCommand(newPluginListCommand(load), newPluginVerifyCommand(load))
	return cmd
}

func newPluginListCommand(load func() (*config.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Show each configured plugin with its path and whether the file matches its checksum",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(cfg.Plugins) == 0 {
				fmt.Fprintln(out, "No plugins are configured; add them under plugins: in the configuration file.")
				return nil
			}
			// A plugin's own protocol version is known only once it runs,
			// so list prints ordo's and verify compares the two.
			fmt.Fprintf(out, "ordo speaks ERP plugin protocol %d; `ordo plugin verify` starts each plugin and checks its version.\n\n", erpplugin.ProtocolVersion)
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tPATH\tCHECKSUM")
			for _, p := range cfg.Plugins {
				fmt.Fprintf(w, "%s\t%s\t%s\n", p.Name, p.Path, checksumStatus(p))
			}
			return w.Flush()
		},
	}
}

// checksumStatus is "ok", "MISMATCH (file has ...)" or "UNREADABLE (...)".
func checksumStatus(p config.Plugin) string {
	err := host.VerifyChecksum(p)
	var mismatch *host.ChecksumError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &mismatch):
		return "MISMATCH (file has " + mismatch.Got + ")"
	default:
		return "UNREADABLE (" + err.Error() + ")"
	}
}

func newPluginVerifyCommand(load func() (*config.Config, error)) *cobra.Command {
	var timeout time.Duration
	var verbose bool
	cmd := &cobra.Command{
		Use:   "verify [NAME...]",
		Short: "Start each plugin (or the named ones), check checksum and protocol version, and call it once",
		Example: "  ordo plugin verify\n" +
			"  ordo plugin verify sapb1 --config /etc/ordo/ordo.yaml",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			selected, err := selectPlugins(cfg, args)
			if err != nil {
				return err
			}
			logger := logging.Discard()
			if verbose {
				logger = logrus.New()
				logger.SetOutput(cmd.ErrOrStderr())
				logger.SetLevel(logrus.DebugLevel)
			}

			out := cmd.OutOrStdout()
			failed := 0
			for _, p := range selected {
				if err := verifyPlugin(cmd.Context(), p, logger, timeout, out); err != nil {
					fmt.Fprintf(out, "%s: FAILED: %v\n", p.Name, err)
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d plugins failed verification", failed, len(selected))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long each plugin may take to start and answer")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the plugins' log output to standard error")
	return cmd
}

func selectPlugins(cfg *config.Config, names []string) ([]config.Plugin, error) {
	if len(names) == 0 {
		if len(cfg.Plugins) == 0 {
			return nil, errors.New("no plugins are configured: add them under plugins: in the configuration file")
		}
		return cfg.Plugins, nil
	}
	var selected []config.Plugin
	for _, name := range names {
		p, ok := cfg.PluginByName(name)
		if !ok {
			return nil, fmt.Errorf("plugin %q is not configured: `ordo plugin list` shows the configured names", name)
		}
		selected = append(selected, p)
	}
	return selected, nil
}

func verifyPlugin(ctx context.Context, p config.Plugin, logger *logrus.Logger, timeout time.Duration, out io.Writer) error {
	if p.StartTimeout == 0 {
		p.StartTimeout = timeout
	}
	erp := host.NewERP(p, logger)
	defer erp.Close()
	if err := erp.Start(); err != nil {
		return startCause(err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := erp.Describe(ctx)
	if err != nil {
		return err
	}
	started := time.Now()
	if err := erp.Ping(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok: checksum ok, protocol %d (ordo speaks %d), connector %q version %q, ping %s\n",
		p.Name, info.ProtocolVersion, erpplugin.ProtocolVersion, info.Connector, info.Version, time.Since(started).Round(time.Microsecond))
	return nil
}

// startCause returns the cause of a failed plugin start without the
// connector error's wrapping ("plugin NAME start: auth code ..."), whose
// error kind is meant for ordo's retry decisions, not for the operator.
func startCause(err error) error {
	var connectorErr *connectors.Error
	if errors.As(err, &connectorErr) && connectorErr.Operation == "start" && connectorErr.Err != nil {
		return connectorErr.Err
	}
	return err
}
