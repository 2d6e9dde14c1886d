package config

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Plugin is an out-of-process connector binary ordo starts with go-plugin.
type Plugin struct {
	// Name identifies the plugin in logs, errors and `ordo plugin` output.
	Name string `yaml:"name"`
	// Path is the plugin executable.
	Path string `yaml:"path"`
	// SHA256 is the hex SHA-256 checksum of the executable; ordo rejects
	// to start a binary whose checksum differs.
	SHA256 string `yaml:"sha256"`
	// Args are passed to the executable.
	Args []string `yaml:"args"`
	// Env holds extra environment variables, NAME=value, for the plugin,
	// which otherwise inherits ordo's environment.
	Env []string `yaml:"env"`
	// CallTimeout bounds a call whose context has no deadline; zero means
	// one minute.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// StartTimeout bounds the handshake of a starting plugin; zero means
	// go-plugin's default of one minute.
	StartTimeout time.Duration `yaml:"start_timeout"`
}

var pluginNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

func (c *Config) validatePlugins(add func(key, format string, args ...any)) {
	seen := map[string]bool{}
	for i, p := range c.Plugins {
		key := fmt.Sprintf("plugins[%d]", i)
		if !pluginNamePattern.MatchString(p.Name) {
			add(key+".name", "%q is not a plugin name: use lower-case letters, digits, - and _", p.Name)
		}
		if seen[p.Name] {
			add(key+".name", "%q is already used by an earlier plugin", p.Name)
		}
		seen[p.Name] = true
		if p.Path == "" {
			add(key+".path", "must name the plugin executable")
		}
		if sum, err := hex.DecodeString(p.SHA256); err != nil || len(sum) != 32 {
			add(key+".sha256", "%q is not a hex SHA-256 checksum: run `sha256sum %s` and copy its first column", p.SHA256, p.Path)
		}
		if p.CallTimeout < 0 {
			add(key+".call_timeout", "%s is negative", p.CallTimeout)
		}
		if p.StartTimeout < 0 {
			add(key+".start_timeout", "%s is negative", p.StartTimeout)
		}
	}
}

// PluginByName returns the configured plugin called name.
func (c *Config) PluginByName(name string) (Plugin, bool) {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}
