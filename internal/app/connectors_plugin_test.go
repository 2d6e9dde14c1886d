package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/connectors/registry"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	pluginhost "github.com/ordo-project/ordo/plugins/host"
)

// TestPluginChecksumCheckedAtStart builds the plugin ERP connector with a
// checksum that does not match the file. Start-up fails with the checksum
// error instead of the first contract parking on it.
func TestPluginChecksumCheckedAtStart(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "ordo-plugin-x")
	if err := os.WriteFile(binary, []byte("not the pinned binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Plugins = []config.Plugin{{Name: "x", Path: binary, SHA256: strings.Repeat("0", 64)}}
	env := registry.Env{Config: cfg, Logger: logging.Discard(), ID: "erp/plugin", Argument: "x"}

	_, err := newPluginERP(env)

	var mismatch *pluginhost.ChecksumError
	if !errors.As(err, &mismatch) {
		t.Fatalf("got %v, expected a checksum error", err)
	}
}
