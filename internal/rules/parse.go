package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/internal/validation"
)

// Sections are the top-level keys every rules document must set. A
// missing section is an error and never takes its value from Default, so
// a stored version means the same under every later ordo release, whatever
// that release's defaults are.
var Sections = []string{"leads", "renewals", "tickets", "approvals", "verification", "calendar", "people"}

// Parse decodes a rules document written in YAML and validates it. On
// failure it returns a *validation.Error listing every problem. Syntax
// errors, unknown keys, values of the wrong type and missing sections come
// first, and only a document without them is checked by Validate.
func Parse(data []byte) (Document, error) {
	var doc Document
	return doc, check(&doc, validation.DecodeYAML(data, &doc, Sections...))
}

// ParseJSON decodes a rules document written in JSON, with the keys and
// checks of Parse.
func ParseJSON(data []byte) (Document, error) {
	var doc Document
	return doc, check(&doc, validation.DecodeJSON(data, &doc, Sections...))
}

// check validates a decoded document and returns every problem, or
// clears the document when there is one.
func check(doc *Document, problems validation.Problems) error {
	if len(problems) == 0 {
		problems = doc.Validate()
	}
	if err := problems.Err("rules"); err != nil {
		*doc = Document{}
		return err
	}
	return nil
}

// Decode reads a stored version without checking it. Each version was
// valid when it was applied, and a later ordo release with other keys or
// stricter checks must still read the versions running workflows use, so
// Decode ignores unknown keys and does not validate.
func Decode(data []byte) (Document, error) {
	var doc Document
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Document{}, fmt.Errorf("decode stored rules: %w", err)
	}
	return doc, nil
}

// Checksum returns the SHA-256 of the document's JSON encoding, in hex.
// Documents with equal values have equal checksums whatever their layout,
// comments or key order, because encoding/json writes struct fields in a
// fixed order and map keys sorted.
func (d Document) Checksum() string {
	data, err := json.Marshal(d)
	if err != nil {
		// Every field of Document has a JSON encoding that cannot fail.
		panic(fmt.Sprintf("encode rules document: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// YAML writes the document as YAML indented by two spaces, without
// comments.
func (d Document) YAML() ([]byte, error) {
	var buf bytes.Buffer
	encoder := yaml.NewEncoder(&buf)
	encoder.SetIndent(2)
	if err := encoder.Encode(d); err != nil {
		return nil, fmt.Errorf("encode rules document as YAML: %w", err)
	}
	if err := encoder.Close(); err != nil {
		return nil, fmt.Errorf("encode rules document as YAML: %w", err)
	}
	return buf.Bytes(), nil
}
