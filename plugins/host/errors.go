package host

import (
	"fmt"

	"github.com/ordo-project/ordo/plugins/erpplugin"
)

// ChecksumError means a plugin executable differs from the one configured:
// it was replaced, rebuilt or tampered with after its checksum was written
// into the configuration.
type ChecksumError struct {
	Plugin string
	Path   string
	// Want is the configured checksum and Got the file's, both hex SHA-256.
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %s: checksum mismatch for %s: configured sha256 %s, file has sha256 %s; "+
		"if the new binary is trusted, put its checksum into plugins[].sha256", e.Plugin, e.Path, e.Want, e.Got)
}

// VersionError means a plugin speaks another ERP plugin protocol than
// this ordo.
type VersionError struct {
	Plugin string
	Path   string
	// PluginVersion is the version the plugin announced, -1 if unknown.
	PluginVersion int
	Detail        string
}

func (e *VersionError) Error() string {
	if e.PluginVersion < 0 {
		return fmt.Sprintf("plugin %s (%s) speaks an unsupported ERP plugin protocol, ordo speaks version %d: %s",
			e.Plugin, e.Path, erpplugin.ProtocolVersion, e.Detail)
	}
	advice := "rebuild the plugin against the plugins/erpplugin package of this ordo release"
	if e.PluginVersion > erpplugin.ProtocolVersion {
		advice = "upgrade ordo or use a plugin release built for protocol " + fmt.Sprint(erpplugin.ProtocolVersion)
	}
	return fmt.Sprintf("plugin %s (%s) speaks ERP plugin protocol %d, but ordo speaks version %d: %s",
		e.Plugin, e.Path, e.PluginVersion, erpplugin.ProtocolVersion, advice)
}
