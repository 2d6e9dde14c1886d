package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
)

func TestLinkSecret(t *testing.T) {
	logger := logging.Discard()
	file := filepath.Join(t.TempDir(), "link-secret")
	if err := os.WriteFile(file, []byte("from-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("configured value", func(t *testing.T) {
		cfg := config.Default()
		cfg.API.LinkSecret, cfg.API.LinkSecretFile = "from-config-0123456789", file
		secret, err := linkSecret(cfg, t.TempDir(), true, logger)
		if err != nil || string(secret) != "from-config-0123456789" {
			t.Errorf("secret %q, error %v; expected from-config-0123456789", secret, err)
		}
	})

	t.Run("configured file", func(t *testing.T) {
		cfg := config.Default()
		cfg.API.LinkSecretFile = file
		secret, err := linkSecret(cfg, t.TempDir(), false, logger)
		if err != nil || string(secret) != "from-file-0123456789" {
			t.Errorf("secret %q, error %v; expected from-file-0123456789", secret, err)
		}
	})

	t.Run("too short", func(t *testing.T) {
		cfg := config.Default()
		cfg.API.LinkSecret = "short"
		if _, err := linkSecret(cfg, t.TempDir(), true, logger); err == nil {
			t.Error("no error for a link secret of 5 bytes")
		}
	})

	t.Run("missing file", func(t *testing.T) {
		cfg := config.Default()
		cfg.API.LinkSecretFile = file + ".none"
		if _, err := linkSecret(cfg, t.TempDir(), true, logger); err == nil {
			t.Error("no error for a missing api.link_secret_file")
		}
	})

	t.Run("production without one", func(t *testing.T) {
		dataDir := t.TempDir()
		secret, err := linkSecret(config.Default(), dataDir, false, logger)
		if err != nil || secret != nil {
			t.Errorf("secret %q, error %v; expected none", secret, err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, linkSecretFile)); !os.IsNotExist(err) {
			t.Errorf("a secret file was written outside ordo dev (stat error %v)", err)
		}
	})

	t.Run("dev generates and keeps one", func(t *testing.T) {
		dataDir := t.TempDir()
		first, err := linkSecret(config.Default(), dataDir, true, logger)
		if err != nil || len(first) != 64 {
			t.Fatalf("secret %q, error %v; expected 64 hex digits", first, err)
		}
		second, err := linkSecret(config.Default(), dataDir, true, logger)
		if err != nil || string(second) != string(first) {
			t.Errorf("second secret %q, error %v; expected the first %q", second, err, first)
		}
		info, err := os.Stat(filepath.Join(dataDir, linkSecretFile))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("secret file %v, error %v; expected mode 0600", info, err)
		}
	})
}
