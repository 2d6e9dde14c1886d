package kingdee

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/shopspring/decimal"
)

// Models arrive as JSON objects decoded with UseNumber, so numbers are
// json.Number and nested objects are map[string]any. Kingdee treats field
// keys case-insensitively, and so do these helpers.

// fieldOf returns the value stored under key, matching the key exactly
// first and then case-insensitively.
func fieldOf(object map[string]any, key string) (any, bool) {
	if value, ok := object[key]; ok {
		return value, true
	}
	for k, value := range object {
		if strings.EqualFold(k, key) {
			return value, true
		}
	}
	return nil, false
}

// setField stores value under key, replacing any key that differs only in
// case, so a model never holds two spellings of one field.
func setField(object map[string]any, key string, value any) {
	for k := range object {
		if k != key && strings.EqualFold(k, key) {
			delete(object, k)
		}
	}
	object[key] = value
}

// valueAt follows a dotted path such as "FCustId.FNumber".
func valueAt(object map[string]any, path string) (any, bool) {
	current := any(object)
	for _, part := range strings.Split(path, ".") {
		m, ok := current.(map[string]any)
		if !ok {
			return nil, false
		}
		current, ok = fieldOf(m, part)
		if !ok {
			return nil, false
		}
	}
	return current, true
}

// stringAt returns the text at path, or "" when it is missing or not text.
func stringAt(object map[string]any, path string) string {
	value, ok := valueAt(object, path)
	if !ok {
		return ""
	}
	switch v := value.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// setAt stores value at a dotted path, creating the objects on the way.
func setAt(object map[string]any, path string, value any) {
	parts := strings.Split(path, ".")
	current := object
	for _, part := range parts[:len(parts)-1] {
		next, ok := fieldOf(current, part)
		nextMap, isMap := next.(map[string]any)
		if !ok || !isMap {
			nextMap = map[string]any{}
			setField(current, part, nextMap)
		}
		current = nextMap
	}
	setField(current, parts[len(parts)-1], value)
}

// decimalAt reads a number at path. Kingdee clients send numbers either as
// JSON numbers or as numeric text.
func decimalAt(object map[string]any, path string) (decimal.Decimal, bool) {
	value, ok := valueAt(object, path)
	if !ok {
		return decimal.Zero, false
	}
	return toDecimal(value)
}

func toDecimal(value any) (decimal.Decimal, bool) {
	var text string
	switch v := value.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = strings.TrimSpace(v)
	case float64:
		return decimal.NewFromFloat(v), true
	default:
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(text)
	if err != nil {
		return decimal.Zero, false
	}
	return d, true
}

// entriesAt returns the entry lines of a collection. A missing or malformed
// collection has none.
func entriesAt(object map[string]any, key string) []map[string]any {
	value, ok := fieldOf(object, key)
	if !ok {
		return nil
	}
	list, ok := value.([]any)
	if !ok {
		return nil
	}
	lines := make([]map[string]any, 0, len(list))
	for _, item := range list {
		if line, ok := item.(map[string]any); ok {
			lines = append(lines, line)
		}
	}
	return lines
}

// amount encodes a money amount as a JSON number with two decimals, the
// form Kingdee returns amounts in.
func amount(d decimal.Decimal) json.Number {
	return json.Number(d.StringFixed(2))
}

// lowerKeys copies a decoded JSON value with every object key in lower
// case. The copy is stored beside the model so queries can match field keys
// case-insensitively with SQLite's json_extract.
func lowerKeys(value any) any {
	switch v := value.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for key, item := range v {
			out[strings.ToLower(key)] = lowerKeys(item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = lowerKeys(item)
		}
		return out
	}
	return value
}

// decodeObject decodes a JSON object keeping numbers exact.
func decodeObject(data []byte) (map[string]any, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var object map[string]any
	if err := decoder.Decode(&object); err != nil {
		return nil, err
	}
	return object, nil
}
