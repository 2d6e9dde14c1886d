package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "48h", "90m", "30d" or "1d12h"
// in the rules document. A day is 24 hours.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration reads a duration in the rules document's notation.
func ParseDuration(s string) (Duration, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return 0, fmt.Errorf("empty duration: write it like 48h, 90m or 30d")
	}
	invalid := fmt.Errorf("invalid duration %q: write it like 48h, 90m or 30d", text)
	rest := text
	var days int64
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n < 0 {
			return 0, invalid
		}
		days = n
		rest = rest[i+1:]
	}
	var remainder time.Duration
	if rest != "" {
		var err error
		remainder, err = time.ParseDuration(rest)
		if err != nil || (days > 0 && remainder < 0) {
			return 0, invalid
		}
	}
	if days > int64((math.MaxInt64-max(remainder, 0))/(24*time.Hour)) {
		return 0, fmt.Errorf("duration %q is too long: the maximum is about 106751 days", text)
	}
	return Duration(time.Duration(days)*24*time.Hour + remainder), nil
}

// String writes the duration in the document's notation, using days when
// it is a whole number of them and leaving out zero minutes and seconds:
// 48h is "2d", 4h is "4h", 90m is "1h30m".
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode || node.Tag == "!!int" || node.Tag == "!!float" {
		return fmt.Errorf("line %d: expected a duration such as 48h, 90m or 30d, got %q", node.Line, node.Value)
	}
	v, err := ParseDuration(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", node.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expected a duration string such as 48h, 90m or 30d")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
