package validation

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds the nesting DecodeYAML follows, so that a document of
// aliases cannot make it recurse without end.
const maxDepth = 64

// DecodeYAML decodes the YAML document data into out, a pointer to a
// struct, and returns every problem it finds. Problems are syntax errors,
// unknown keys, keys set twice, values of the wrong type, and each path of
// required that the document does not set. Paths in required are written
// as Key and Index write them, e.g. "leads" or "tax.rates".
//
// out keeps the values data does not set, so a caller may fill it with
// defaults first. out is changed only when there are no problems.
//
// yaml.v3's own strict mode stops at the first value a custom unmarshaler
// rejects and reports unknown keys by line only. DecodeYAML therefore
// first walks the node tree along out's type, decoding each value on its
// own, and only then decodes the whole document.
func DecodeYAML(data []byte, out any, required ...string) Problems {
	checkTarget(out)
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Problems{{Reason: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(root.Content) == 0 {
		return emptyDocument(required)
	}
	return decodeNode(root.Content[0], out, required)
}

func checkTarget(out any) {
	target := reflect.ValueOf(out)
	if target.Kind() != reflect.Pointer || target.IsNil() {
		panic(fmt.Sprintf("validation: out must be a non-nil pointer, got %T", out))
	}
}

func emptyDocument(required []string) Problems {
	if len(required) == 0 {
		return nil
	}
	return Problems{{Reason: "the document is empty: it must set " + strings.Join(required, ", ")}}
}

// decodeNode checks the value node against out's type, then decodes it.
func decodeNode(node *yaml.Node, out any, required []string) Problems {
	w := &walker{seen: map[string]bool{}}
	w.walk(node, reflect.TypeOf(out).Elem(), "", 0)
	for _, path := range required {
		if !w.seen[path] {
			w.problems.Add(path, "is required but missing")
		}
	}
	if len(w.problems) > 0 {
		return w.problems
	}

	// The walk found no problem, unknown keys included, so this decode is
	// expected to succeed. An error here is a case the walk does not
	// cover, reported as it is.
	if err := node.Decode(out); err != nil {
		return Problems{{Reason: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	return nil
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

// walker checks a node tree against a Go type.
type walker struct {
	problems Problems
	// seen holds the path of every key the document sets.
	seen map[string]bool
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string, depth int) {
	if depth > maxDepth {
		w.problems.Add(path, "is nested more than %d levels deep", maxDepth)
		return
	}
	if n.Kind == yaml.AliasNode {
		w.walk(n.Alias, t, path, depth+1)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// An empty or null value leaves the Go value as it is.
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if customDecoded(t) {
		w.decodeValue(n, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		w.walkStruct(n, t, path, depth)
	case reflect.Map:
		w.walkMap(n, t, path, depth)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			w.problems.Add(path, "expected a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), Index(path, i), depth+1)
		}
	case reflect.Interface:
		// Any value fits.
	default:
		w.decodeValue(n, t, path)
	}
}

// customDecoded reports whether values of t decode themselves.
func customDecoded(t reflect.Type) bool {
	pointer := reflect.PointerTo(t)
	return pointer.Implements(unmarshalerType) || pointer.Implements(textUnmarshalerType)
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		w.problems.Add(path, "expected a mapping of keys, got %s", describe(n))
		return
	}
	fields := structFields(t)
	w.eachPair(n, path, depth, func(key string, value *yaml.Node) {
		field, ok := fields[key]
		if !ok {
			w.problems.Add(Key(path, key), "unknown key%s; the keys here are %s",
				suggestion(key, fields), strings.Join(sortedNames(fields), ", "))
			return
		}
		w.walk(value, field, Key(path, key), depth+1)
	}, func(merged *yaml.Node) {
		w.walkStruct(merged, t, path, depth+1)
	})
}

func (w *walker) walkMap(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		w.problems.Add(path, "expected a mapping of keys, got %s", describe(n))
		return
	}
	w.eachPair(n, path, depth, func(key string, value *yaml.Node) {
		w.walk(value, t.Elem(), Key(path, key), depth+1)
	}, func(merged *yaml.Node) {
		w.walkMap(merged, t, path, depth+1)
	})
}

// eachPair calls pair for every key of the mapping n, reports keys set
// twice, and calls merge for each mapping a "<<" merge key brings in.
func (w *walker) eachPair(n *yaml.Node, path string, depth int, pair func(key string, value *yaml.Node), merge func(*yaml.Node)) {
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyNode, value := n.Content[i], n.Content[i+1]
		if keyNode.ShortTag() == "!!merge" {
			w.walkMerge(value, path, depth, merge)
			continue
		}
		key := keyNode.Value
		if first, dup := lines[key]; dup {
			w.problems.Add(Key(path, key), "is set twice, on lines %d and %d: keep one", first, keyNode.Line)
			continue
		}
		lines[key] = keyNode.Line
		w.seen[Key(path, key)] = true
		pair(key, value)
	}
}

func (w *walker) walkMerge(value *yaml.Node, path string, depth int, merge func(*yaml.Node)) {
	if depth > maxDepth {
		w.problems.Add(path, "is nested more than %d levels deep", maxDepth)
		return
	}
	switch value.Kind {
	case yaml.AliasNode:
		w.walkMerge(value.Alias, path, depth+1, merge)
	case yaml.MappingNode:
		merge(value)
	case yaml.SequenceNode:
		for _, item := range value.Content {
			w.walkMerge(item, path, depth+1, merge)
		}
	default:
		w.problems.Add(path, "a << merge key needs a mapping or a list of mappings, got %s", describe(value))
	}
}

// decodeValue decodes n into a new value of type t and reports the error.
func (w *walker) decodeValue(n *yaml.Node, t reflect.Type, path string) {
	custom := customDecoded(t)
	if !custom && n.Kind != yaml.ScalarNode {
		w.problems.Add(path, "expected a single value, got %s", describe(n))
		return
	}
	err := n.Decode(reflect.New(t).Interface())
	if t == durationType {
		if err != nil {
			w.problems.Add(path, "expected a duration such as 5s, 2m or 1h, got %q", n.Value)
		}
		return
	}
	if err == nil && !custom && isInteger(t.Kind()) && n.ShortTag() != "!!int" {
		// yaml.v3 truncates 2.5 to 2 for an integer; reject it instead.
		err = errors.New("not a whole number")
	}
	if err == nil {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// The type's own message names the format it expects.
		w.problems.Add(path, "%s", stripLine(err.Error()))
		return
	}
	if custom {
		w.problems.Add(path, "invalid value %s: %s", describe(n), stripLine(err.Error()))
		return
	}
	switch {
	case isInteger(t.Kind()):
		w.problems.Add(path, "expected a whole number, got %q", n.Value)
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		w.problems.Add(path, "expected a number, got %q", n.Value)
	case t.Kind() == reflect.Bool:
		w.problems.Add(path, "expected true or false, got %q", n.Value)
	default:
		w.problems.Add(path, "%s", stripLine(err.Error()))
	}
}

func isInteger(kind reflect.Kind) bool {
	switch kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// linePrefix matches the "line N: " that yaml.v3 and unmarshalers put
// before a message, which the path replaces.
var linePrefix = regexp.MustCompile(`^(yaml: )?(unmarshal errors:\s*)?(line \d+: )?`)

func stripLine(message string) string {
	return strings.TrimSpace(linePrefix.ReplaceAllString(strings.TrimSpace(message), ""))
}

// describe names the kind of a node for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// structFields maps the YAML key of every field of t to the field's type,
// following yaml.v3's rules. The key is the name before the comma in the
// yaml tag, else the lower-cased field name. A "-" tag skips the field,
// and ",inline" lifts the keys of an embedded struct.
func structFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		if !field.IsExported() && !field.Anonymous {
			continue
		}
		tag := field.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		if strings.Contains(","+options+",", ",inline,") {
			inner := field.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				for key, typ := range structFields(inner) {
					fields[key] = typ
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(field.Name)
		}
		fields[name] = field.Type
	}
	return fields
}

func sortedNames(fields map[string]reflect.Type) []string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// suggestion returns ` (did you mean "x"?)` for the known key closest to
// key when it is at most two edits away, and "" otherwise.
func suggestion(key string, fields map[string]reflect.Type) string {
	best, bestDistance := "", 3
	for _, name := range sortedNames(fields) {
		if d := editDistance(key, name); d < bestDistance {
			best, bestDistance = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
		}
		previous, current = current, previous
	}
	return previous[len(b)]
}
