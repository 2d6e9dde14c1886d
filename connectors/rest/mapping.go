package rest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/ordo-project/ordo/connectors"
)

// requestBody returns the JSON body of a document as the mapping of kind
// shapes it, and the document's top-level fields as text for the path
// placeholders. Amounts stay JSON strings, as ordo writes decimals, so no
// digit is lost to a float.
//
// NOTE: dates go out as RFC 3339 timestamps (2026-03-02T00:00:00Z). An ERP
// that expects another date format needs a format option, which the
// mapping does not have yet.
func (c *Client) requestBody(kind connectors.DocumentKind, document any) ([]byte, map[string]string, error) {
	raw, err := json.Marshal(document)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	fields := make(map[string]string, len(top))
	for name, value := range top {
		var text string
		if json.Unmarshal(value, &text) == nil {
			fields[name] = text
		} else {
			fields[name] = string(value)
		}
	}

	mapping, ok := c.cfg.Mapping[string(kind)]
	if !ok || (len(mapping.Request) == 0 && mapping.Lines == nil) {
		return raw, fields, nil
	}
	body := []byte("{}")
	for _, field := range sortedKeys(mapping.Request) {
		value, present := top[field]
		if !present {
			continue
		}
		if body, err = sjson.SetRawBytes(body, mapping.Request[field], value); err != nil {
			return nil, nil, fmt.Errorf("map %s field %s: %w", kind, field, err)
		}
	}
	if mapping.Lines != nil {
		lines, err := mapLines(top["lines"], mapping.Lines)
		if err != nil {
			return nil, nil, fmt.Errorf("map %s lines: %w", kind, err)
		}
		if body, err = sjson.SetRawBytes(body, mapping.Lines.Path, lines); err != nil {
			return nil, nil, fmt.Errorf("map %s lines: %w", kind, err)
		}
	}
	return body, fields, nil
}

// mapLines returns the lines array with each line shaped by the mapping.
func mapLines(raw json.RawMessage, mapping *LineMapping) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("[]"), nil
	}
	if len(mapping.Fields) == 0 {
		return raw, nil
	}
	var lines []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, err
	}
	out := []byte("[]")
	for i, line := range lines {
		item := []byte("{}")
		var err error
		for _, field := range sortedKeys(mapping.Fields) {
			if value, ok := line[field]; ok {
				if item, err = sjson.SetRawBytes(item, mapping.Fields[field], value); err != nil {
					return nil, fmt.Errorf("line %d field %s: %w", i+1, field, err)
				}
			}
		}
		if out, err = sjson.SetRawBytes(out, "-1", item); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replyPath returns the reply path of an ordo field, the field's own name
// when the mapping does not set one.
func (c *Client) replyPath(mappingName, field string) string {
	if path, ok := c.cfg.Mapping[mappingName].Reply[field]; ok {
		return path
	}
	return field
}

// document reads a document reference from a reply. A reply whose
// number differs from the requested one is a protocol error, because
// accepting it would link ordo's document to another one.
func (c *Client) document(kind connectors.DocumentKind, number, operation string, r reply) (connectors.Document, error) {
	doc := connectors.Document{Kind: kind, FormID: string(kind), Number: number}
	if len(r.body) == 0 {
		return doc, nil
	}
	if !gjson.ValidBytes(r.body) {
		return doc, protocolError(operation, "reply is not JSON: %s", snippet(r.body))
	}
	if id := gjson.GetBytes(r.body, c.replyPath(string(kind), "id")); id.Exists() {
		doc.ID = id.String()
	}
	if status := gjson.GetBytes(r.body, c.replyPath(string(kind), "status")); status.Exists() {
		doc.Status = status.String()
	}
	if got := gjson.GetBytes(r.body, c.replyPath(string(kind), "number")); got.Exists() && got.String() != number {
		return doc, protocolError(operation, "reply is for %s, not %s: check mapping.%s.reply.number", got.String(), number, kind)
	}
	return doc, nil
}

// productionStatus reads the production_status reply.
func (c *Client) productionStatus(number, operation string, r reply) (connectors.ProductionStatus, error) {
	status := connectors.ProductionStatus{Number: number}
	if !gjson.ValidBytes(r.body) {
		return status, protocolError(operation, "reply is not JSON: %s", snippet(r.body))
	}
	status.Status = gjson.GetBytes(r.body, c.replyPath(mappingProductionStatus, "status")).String()
	status.Completed = gjson.GetBytes(r.body, c.replyPath(mappingProductionStatus, "completed")).Bool()
	status.Cancelled = gjson.GetBytes(r.body, c.replyPath(mappingProductionStatus, "cancelled")).Bool()
	if at := gjson.GetBytes(r.body, c.replyPath(mappingProductionStatus, "completed_at")); at.Exists() && at.String() != "" {
		parsed, err := time.Parse(time.RFC3339, at.String())
		if err != nil {
			return status, protocolError(operation, "completed_at %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", at.String())
		}
		status.CompletedAt = parsed.UTC()
	}
	return status, nil
}
