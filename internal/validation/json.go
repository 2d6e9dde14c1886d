package validation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeJSON decodes the JSON document data into out, a pointer to a
// struct, with the checks and paths of DecodeYAML. Not every JSON text is
// YAML that yaml.v3 reads (it rejects the escape \/, for one), so the JSON
// is first read with encoding/json into a YAML node tree. Number literals
// keep their text, so amounts lose no digits.
func DecodeJSON(data []byte, out any, required ...string) Problems {
	checkTarget(out)
	if len(bytes.TrimSpace(data)) == 0 {
		return emptyDocument(required)
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	reader := &jsonReader{decoder: decoder}
	node, err := reader.value("", 0)
	if err == nil {
		if _, extra := decoder.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("invalid JSON: send one JSON value and nothing after it")
		}
	}
	if err != nil {
		return append(reader.problems, Problem{Reason: err.Error()})
	}
	if len(reader.problems) > 0 {
		return reader.problems
	}
	return decodeNode(node, out, required)
}

// jsonReader builds a YAML node tree from JSON tokens.
type jsonReader struct {
	decoder *json.Decoder
	// problems are keys set twice, found while reading.
	problems Problems
}

// value reads the next JSON value, at path.
func (r *jsonReader) value(path string, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("invalid JSON: %s is nested more than %d levels deep", orDocument(path), maxDepth)
	}
	token, err := r.decoder.Token()
	if err != nil {
		return nil, jsonSyntaxError(r.decoder, err)
	}
	switch v := token.(type) {
	case json.Delim:
		if v == '{' {
			return r.object(path, depth)
		}
		return r.array(path, depth)
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(v.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}, nil
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
}

func (r *jsonReader) object(path string, depth int) (*yaml.Node, error) {
	node := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	seen := map[string]bool{}
	for r.decoder.More() {
		token, err := r.decoder.Token()
		if err != nil {
			return nil, jsonSyntaxError(r.decoder, err)
		}
		key := token.(string) // encoding/json returns object keys as strings
		value, err := r.value(Key(path, key), depth+1)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			r.problems.Add(Key(path, key), "is set twice: keep one")
			continue
		}
		seen[key] = true
		node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, value)
	}
	if _, err := r.decoder.Token(); err != nil {
		return nil, jsonSyntaxError(r.decoder, err)
	}
	return node, nil
}

func (r *jsonReader) array(path string, depth int) (*yaml.Node, error) {
	node := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i := 0; r.decoder.More(); i++ {
		value, err := r.value(Index(path, i), depth+1)
		if err != nil {
			return nil, err
		}
		node.Content = append(node.Content, value)
	}
	if _, err := r.decoder.Token(); err != nil {
		return nil, jsonSyntaxError(r.decoder, err)
	}
	return node, nil
}

// jsonSyntaxError adds the offset of the last token read to a syntax
// error.
func jsonSyntaxError(decoder *json.Decoder, err error) error {
	return fmt.Errorf("invalid JSON at byte %d: %v", decoder.InputOffset(), err)
}

func orDocument(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}
