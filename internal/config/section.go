package config

import "gopkg.in/yaml.v3"

// Section is the settings of one connector, kept as YAML until start-up,
// when the connector the configuration selects decodes and checks them.
// The configuration package does not know every connector's keys, so it
// cannot check them itself.
type Section struct {
	Node *yaml.Node
}

// UnmarshalYAML keeps the node for the connector to decode.
func (s *Section) UnmarshalYAML(node *yaml.Node) error {
	s.Node = node
	return nil
}

// MarshalYAML writes the section as it was read.
func (s Section) MarshalYAML() (any, error) {
	if s.Node == nil {
		return nil, nil
	}
	return s.Node, nil
}

// IsZero reports whether the section was not set.
func (s Section) IsZero() bool { return s.Node == nil }

// Metrics configures the Prometheus endpoint GET /metrics of the API.
type Metrics struct {
	// Enabled serves GET /metrics.
	Enabled bool `yaml:"enabled"`
	// RequireToken puts /metrics behind the API token, when one is set.
	// Off, scrapers read it without a token, so keep the API address
	// private or turn this on.
	RequireToken bool `yaml:"require_token"`
}
