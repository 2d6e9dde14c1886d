package sapb1

import (
	"encoding/json"
	"strings"

	"github.com/shopspring/decimal"
)

// condition is one "Field op value" clause of a $filter. The simulator
// understands clauses joined by "and", with the operators eq, ne, gt, ge,
// lt and le and values that are quoted strings or numbers.
type condition struct {
	field string
	op    string
	value string
	// quoted marks a string literal.
	quoted bool
}

func parseFilter(text string) ([]condition, error) {
	tokens, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	var out []condition
	for i := 0; i < len(tokens); {
		if len(tokens)-i < 3 {
			return nil, badRequest("Invalid $filter %q: expected Field op value", text)
		}
		c := condition{field: tokens[i].text, op: strings.ToLower(tokens[i+1].text), value: tokens[i+2].text, quoted: tokens[i+2].quoted}
		switch c.op {
		case "eq", "ne", "gt", "ge", "lt", "le":
		default:
			return nil, badRequest("Invalid $filter %q: operator %q is not supported", text, tokens[i+1].text)
		}
		out = append(out, c)
		i += 3
		if i < len(tokens) {
			if strings.ToLower(tokens[i].text) != "and" || tokens[i].quoted {
				return nil, badRequest("Invalid $filter %q: only 'and' joins clauses", text)
			}
			i++
		}
	}
	return out, nil
}

type token struct {
	text   string
	quoted bool
}

func tokenize(text string) ([]token, error) {
	var tokens []token
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == ' ':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(text) {
				if text[i] == '\'' {
					if i+1 < len(text) && text[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(text[i])
				i++
			}
			if !closed {
				return nil, badRequest("Invalid $filter %q: unterminated string", text)
			}
			tokens = append(tokens, token{text: b.String(), quoted: true})
		default:
			start := i
			for i < len(text) && text[i] != ' ' {
				i++
			}
			tokens = append(tokens, token{text: text[start:i]})
		}
	}
	return tokens, nil
}

func matches(body map[string]any, filter []condition) bool {
	for _, c := range filter {
		if !c.holds(body) {
			return false
		}
	}
	return true
}

func (c condition) holds(body map[string]any) bool {
	got := stringProp(body, c.field)
	var cmp int
	if _, isNumber := body[c.field].(json.Number); isNumber && !c.quoted {
		a, errA := decimal.NewFromString(got)
		b, errB := decimal.NewFromString(c.value)
		if errA != nil || errB != nil {
			return false
		}
		cmp = a.Cmp(b)
	} else {
		cmp = strings.Compare(got, c.value)
	}
	switch c.op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	default:
		return cmp <= 0
	}
}
