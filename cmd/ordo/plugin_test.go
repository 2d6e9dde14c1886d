package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-project/ordo/plugins/erpplugin"
	"github.com/ordo-project/ordo/plugins/host"
)

// buildTestPlugin builds the in-memory ERP test plugin into a temporary
// directory and returns the executable's path and SHA-256 checksum.
func buildTestPlugin(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ordo-plugin-memory")
	build := exec.Command("go", "build", "-o", path, "github.com/ordo-project/ordo/plugins/internal/testplugin")
	output, err := build.CombinedOutput()
	require.NoError(t, err, "build the test plugin: %s", output)
	sum, err := host.FileChecksum(path)
	require.NoError(t, err)
	return path, sum
}

// writePluginConfig writes a configuration with one plugin, memory, at
// path pinned to sum, and returns the configuration file's path.
func writePluginConfig(t *testing.T, path, sum string) string {
	t.Helper()
	return writeFile(t, "ordo.yaml", fmt.Sprintf("plugins:\n  - name: memory\n    path: %s\n    sha256: %s\n", path, sum))
}

// copyPlugin copies the executable at from into a new temporary directory
// and returns the copy's path.
func copyPlugin(t *testing.T, from string) string {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	to := filepath.Join(t.TempDir(), filepath.Base(from))
	require.NoError(t, os.WriteFile(to, data, 0o755))
	return to
}

func TestPluginCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the test plugin")
	}
	built, sum := buildTestPlugin(t)

	t.Run("list trusted plugin", func(t *testing.T) {
		configPath := writePluginConfig(t, built, sum)
		out, err := runOrdo(t, "plugin", "list", "--config", configPath)
		require.NoError(t, err)

		assert.Contains(t, out, fmt.Sprintf("ordo speaks ERP plugin protocol %d", erpplugin.ProtocolVersion))
		assert.Regexp(t, `NAME\s+PATH\s+CHECKSUM\n`, out)
		assert.Regexp(t, `memory\s+`+regexp.QuoteMeta(built)+`\s+ok\n`, out)
	})

	t.Run("verify trusted plugin", func(t *testing.T) {
		configPath := writePluginConfig(t, built, sum)
		out, err := runOrdo(t, "plugin", "verify", "--config", configPath)
		require.NoError(t, err)

		want := fmt.Sprintf(`memory: ok: checksum ok, protocol %d (ordo speaks %d), connector "memory" version "test", ping `,
			erpplugin.ProtocolVersion, erpplugin.ProtocolVersion)
		assert.Contains(t, out, want)
	})

	t.Run("verify named plugin", func(t *testing.T) {
		configPath := writePluginConfig(t, built, sum)
		out, err := runOrdo(t, "plugin", "verify", "memory", "--config", configPath)
		require.NoError(t, err)
		assert.Contains(t, out, "memory: ok: checksum ok")

		_, err = runOrdo(t, "plugin", "verify", "sapb1", "--config", configPath)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `plugin "sapb1" is not configured: `+"`ordo plugin list`"+` shows the configured names`)
	})

	t.Run("changed binary", func(t *testing.T) {
		changed := copyPlugin(t, built)
		file, err := os.OpenFile(changed, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = file.WriteString("tampered")
		require.NoError(t, err)
		require.NoError(t, file.Close())
		changedSum, err := host.FileChecksum(changed)
		require.NoError(t, err)
		require.NotEqual(t, sum, changedSum)
		configPath := writePluginConfig(t, changed, sum)

		out, err := runOrdo(t, "plugin", "list", "--config", configPath)
		require.NoError(t, err, "list reports a mismatch but does not fail")
		assert.Regexp(t, `memory\s+`+regexp.QuoteMeta(changed)+`\s+MISMATCH \(file has `+changedSum+`\)\n`, out)

		out, err = runOrdo(t, "plugin", "verify", "--config", configPath)
		require.Error(t, err)
		assert.Equal(t, "1 of 1 plugins failed verification", err.Error())
		assert.Contains(t, out, "memory: FAILED: plugin memory: checksum mismatch for "+changed+
			": configured sha256 "+sum+", file has sha256 "+changedSum+
			"; if the new binary is trusted, put its checksum into plugins[].sha256\n")
		assert.NotContains(t, out, "memory: ok")
	})

	t.Run("missing binary", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "ordo-plugin-gone")
		configPath := writePluginConfig(t, missing, sum)

		out, err := runOrdo(t, "plugin", "list", "--config", configPath)
		require.NoError(t, err, "list reports a missing file but does not fail")
		assert.Regexp(t, `memory\s+`+regexp.QuoteMeta(missing)+`\s+UNREADABLE \(plugin memory: open plugin executable: open `+
			regexp.QuoteMeta(missing)+`: no such file or directory\)\n`, out)

		out, err = runOrdo(t, "plugin", "verify", "--config", configPath)
		require.Error(t, err)
		assert.Equal(t, "1 of 1 plugins failed verification", err.Error())
		assert.Contains(t, out, "memory: FAILED: plugin memory: open plugin executable: open "+missing+": no such file or directory\n")
	})

	t.Run("verify other protocol version", func(t *testing.T) {
		configPath := writeFile(t, "ordo.yaml", fmt.Sprintf(
			"plugins:\n  - name: memory\n    path: %s\n    sha256: %s\n    env: [ORDO_TEST_PLUGIN_PROTOCOL=0]\n", built, sum))
		out, err := runOrdo(t, "plugin", "verify", "--config", configPath)
		require.Error(t, err)
		assert.Equal(t, "1 of 1 plugins failed verification", err.Error())
		assert.Contains(t, out, fmt.Sprintf("memory: FAILED: plugin memory (%s) speaks ERP plugin protocol 0, but ordo speaks version %d: rebuild the plugin",
			built, erpplugin.ProtocolVersion))
	})

	t.Run("no plugins configured", func(t *testing.T) {
		configPath := writeFile(t, "ordo.yaml", "plugins: []\n")
		out, err := runOrdo(t, "plugin", "list", "--config", configPath)
		require.NoError(t, err)
		assert.Equal(t, "No plugins are configured; add them under plugins: in the configuration file.\n", out)

		_, err = runOrdo(t, "plugin", "verify", "--config", configPath)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no plugins are configured")
	})
}
