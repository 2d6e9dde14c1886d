package kingdee

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
)

// executeBillQuery runs ExecuteBillQuery and returns a bare two-dimensional
// array of values in FieldKeys order. Failures come back wrapped in the
// same array shape: [[{"Result": {"ResponseStatus": ...}}]].
//
// NOTE: only header fields can be selected, filtered and sorted. A real
// Kingdee also accepts entry fields and then returns a row per entry line.
func (s *Simulator) executeBillQuery(ctx context.Context, body []byte, entry *logrus.Entry) any {
	query, err := parseQueryRequest(body)
	if err != nil {
		return wrapForQuery(messageReply("请求数据包格式错误：" + err.Error()))
	}
	formID := textField(query, "FormId")
	spec, ok := formByID(formID)
	if !ok {
		return wrapForQuery(messageReply("表单“" + formID + "”不存在或模拟器不支持。"))
	}
	fieldKeys := fieldKeyList(query)
	if len(fieldKeys) == 0 {
		return wrapForQuery(messageReply("FieldKeys 不能为空。"))
	}
	if value, ok := fieldOf(query, "FilterString"); ok {
		if _, isText := value.(string); !isText && value != nil {
			return wrapForQuery(messageReply("模拟器只支持文本形式的 FilterString。"))
		}
	}

	resolve := func(field string) (string, error) { return spec.sqlExpression(field) }
	where, args, err := parseFilter(textField(query, "FilterString"), resolve)
	if err != nil {
		return wrapForQuery(messageReply("过滤条件错误：" + err.Error()))
	}
	order, err := parseOrder(textField(query, "OrderString"), resolve)
	if err != nil {
		return wrapForQuery(messageReply("排序条件错误：" + err.Error()))
	}
	startRow := intField(query, "StartRow")
	limit := intField(query, "Limit")
	if limit <= 0 || limit > MaxQueryRows {
		limit = MaxQueryRows
	}
	if top := intField(query, "TopRowCount"); top > 0 {
		limit = min(limit, top-startRow)
	}
	if limit <= 0 || startRow < 0 {
		return [][]any{}
	}

	var docs []document
	selectQuery := s.db.NewSelect().Model(&docs).Where("d.form_id = ?", spec.id)
	if where != "" {
		selectQuery = selectQuery.Where(where, args...)
	}
	for _, term := range order {
		selectQuery = selectQuery.OrderExpr(term)
	}
	selectQuery = selectQuery.OrderExpr("d.id ASC").Limit(int64(limit)).Offset(int64(startRow))
	if err := selectQuery.Scan(ctx); err != nil {
		entry.WithError(err).Error("ExecuteBillQuery failed")
		return wrapForQuery(messageReply("查询失败：" + err.Error()))
	}

	rows := make([][]any, 0, len(docs))
	for i := range docs {
		row, err := projectRow(spec, &docs[i], fieldKeys)
		if err != nil {
			entry.WithError(err).Error("ExecuteBillQuery failed")
			return wrapForQuery(messageReply("查询失败：" + err.Error()))
		}
		rows = append(rows, row)
	}
	return rows
}

// projectRow returns the values of fieldKeys for one document.
func projectRow(spec *formSpec, doc *document, fieldKeys []string) ([]any, error) {
	var search map[string]any
	row := make([]any, len(fieldKeys))
	for i, key := range fieldKeys {
		if column, ok := spec.systemColumn(key); ok {
			row[i] = doc.columnValue(column)
			continue
		}
		if search == nil {
			var err error
			if search, err = doc.searchModel(); err != nil {
				return nil, err
			}
		}
		value, _ := valueAt(search, strings.ToLower(key))
		row[i] = value
	}
	return row, nil
}

// sqlExpression maps a field key to the SQL that reads it: a column for the
// fields the simulator maintains, json_extract over the lower-case model
// copy for the rest.
func (f *formSpec) sqlExpression(field string) (string, error) {
	if column, ok := f.systemColumn(field); ok {
		return column, nil
	}
	parts := strings.Split(strings.ToLower(field), ".")
	var path strings.Builder
	path.WriteString("$")
	for _, part := range parts {
		if part == "" || !isFieldKey(part) {
			return "", fmt.Errorf("字段“%s”不是有效的字段标识", field)
		}
		path.WriteString(`."` + part + `"`)
	}
	return "json_extract(d.search, '" + path.String() + "')", nil
}

func isFieldKey(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func textField(object map[string]any, key string) string {
	value, _ := fieldOf(object, key)
	text, _ := value.(string)
	return strings.TrimSpace(text)
}

func intField(object map[string]any, key string) int {
	value, _ := fieldOf(object, key)
	if d, ok := toDecimal(value); ok {
		return int(d.IntPart())
	}
	return 0
}

// fieldKeyList reads FieldKeys as comma-separated text or as an array.
func fieldKeyList(query map[string]any) []string {
	value, _ := fieldOf(query, "FieldKeys")
	return textList(value)
}

// parseOrder reads an OrderString such as "FDate DESC, FBillNo" into SQL
// ORDER BY terms.
func parseOrder(order string, resolve func(string) (string, error)) ([]string, error) {
	var terms []string
	for _, part := range strings.Split(order, ",") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 2 {
			return nil, fmt.Errorf("无法识别“%s”", strings.TrimSpace(part))
		}
		expr, err := resolve(fields[0])
		if err != nil {
			return nil, err
		}
		direction := "ASC"
		if len(fields) == 2 {
			direction = strings.ToUpper(fields[1])
			if direction != "ASC" && direction != "DESC" {
				return nil, fmt.Errorf("排序方向“%s”无效，请使用 ASC 或 DESC", fields[1])
			}
		}
		terms = append(terms, expr+" "+direction)
	}
	return terms, nil
}

// Filter strings are a small SQL subset:
//
//	expr       = and { OR and }
//	and        = unary { AND unary }
//	unary      = NOT unary | "(" expr ")" | comparison
//	comparison = field op value
//	           | field [NOT] IN "(" value { "," value } ")"
//	           | field [NOT] LIKE value
//	           | field IS [NOT] NULL
//	op         = "=" | "<>" | "!=" | "<" | "<=" | ">" | ">="
//	value      = 'text' | number | field
//
// Text uses '' for a quote inside it. Keywords are case-insensitive.

type tokenKind int

const (
	tokenEnd tokenKind = iota
	tokenIdent
	tokenText
	tokenNumber
	tokenOperator
	tokenOpen
	tokenClose
	tokenComma
)

type token struct {
	kind tokenKind
	text string
	pos  int
}

func tokenize(input string) ([]token, error) {
	var tokens []token
	i := 0
	for i < len(input) {
		c := input[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			tokens = append(tokens, token{tokenOpen, "(", i})
			i++
		case c == ')':
			tokens = append(tokens, token{tokenClose, ")", i})
			i++
		case c == ',':
			tokens = append(tokens, token{tokenComma, ",", i})
			i++
		case c == '\'':
			start := i
			var text strings.Builder
			i++
			for {
				if i >= len(input) {
					return nil, fmt.Errorf("位置 %d 的字符串缺少结束引号", start+1)
				}
				if input[i] == '\'' {
					if i+1 < len(input) && input[i+1] == '\'' {
						text.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				text.WriteByte(input[i])
				i++
			}
			tokens = append(tokens, token{tokenText, text.String(), start})
		case c == '=' || c == '<' || c == '>' || c == '!':
			start := i
			i++
			if i < len(input) && (input[i] == '=' || (c == '<' && input[i] == '>')) {
				i++
			}
			op := input[start:i]
			if op == "!" {
				return nil, fmt.Errorf("位置 %d 的运算符“!”无效", start+1)
			}
			tokens = append(tokens, token{tokenOperator, op, start})
		case c >= '0' && c <= '9' || c == '-' || c == '.':
			start := i
			i++
			for i < len(input) && (input[i] >= '0' && input[i] <= '9' || input[i] == '.') {
				i++
			}
			text := input[start:i]
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return nil, fmt.Errorf("位置 %d 的数字“%s”无效", start+1, text)
			}
			tokens = append(tokens, token{tokenNumber, text, start})
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			start := i
			for i < len(input) && (input[i] == '_' || input[i] == '.' || input[i] >= 'a' && input[i] <= 'z' || input[i] >= 'A' && input[i] <= 'Z' || input[i] >= '0' && input[i] <= '9') {
				i++
			}
			tokens = append(tokens, token{tokenIdent, input[start:i], start})
		default:
			return nil, fmt.Errorf("位置 %d 的字符“%c”无法识别", i+1, c)
		}
	}
	return append(tokens, token{kind: tokenEnd, pos: len(input)}), nil
}

type filterParser struct {
	tokens  []token
	pos     int
	resolve func(string) (string, error)
	args    []any
}

// parseFilter turns a FilterString into a SQL condition with ? arguments.
// An empty filter returns an empty condition.
func parseFilter(filter string, resolve func(string) (string, error)) (string, []any, error) {
	if strings.TrimSpace(filter) == "" {
		return "", nil, nil
	}
	tokens, err := tokenize(filter)
	if err != nil {
		return "", nil, err
	}
	p := &filterParser{tokens: tokens, resolve: resolve}
	sql, err := p.parseOr()
	if err != nil {
		return "", nil, err
	}
	if next := p.peek(); next.kind != tokenEnd {
		return "", nil, fmt.Errorf("位置 %d 的“%s”多余", next.pos+1, next.text)
	}
	return sql, p.args, nil
}

func (p *filterParser) peek() token { return p.tokens[p.pos] }

func (p *filterParser) next() token {
	t := p.tokens[p.pos]
	if t.kind != tokenEnd {
		p.pos++
	}
	return t
}

// keyword reports whether the next token is the keyword word, and consumes
// it if so.
func (p *filterParser) keyword(word string) bool {
	t := p.peek()
	if t.kind == tokenIdent && strings.EqualFold(t.text, word) {
		p.pos++
		return true
	}
	return false
}

func isKeyword(text string) bool {
	switch strings.ToUpper(text) {
	case "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL":
		return true
	}
	return false
}

func (p *filterParser) parseOr() (string, error) {
	left, err := p.parseAnd()
	if err != nil {
		return "", err
	}
	for p.keyword("OR") {
		right, err := p.parseAnd()
		if err != nil {
			return "", err
		}
		left = "(" + left + " OR " + right + ")"
	}
	return left, nil
}

func (p *filterParser) parseAnd() (string, error) {
	left, err := p.parseUnary()
	if err != nil {
		return "", err
	}
	for p.keyword("AND") {
		right, err := p.parseUnary()
		if err != nil {
			return "", err
		}
		left = "(" + left + " AND " + right + ")"
	}
	return left, nil
}

func (p *filterParser) parseUnary() (string, error) {
	if p.keyword("NOT") {
		inner, err := p.parseUnary()
		if err != nil {
			return "", err
		}
		return "(NOT " + inner + ")", nil
	}
	if p.peek().kind == tokenOpen {
		p.next()
		inner, err := p.parseOr()
		if err != nil {
			return "", err
		}
		if t := p.next(); t.kind != tokenClose {
			return "", fmt.Errorf("位置 %d 缺少“)”", t.pos+1)
		}
		return inner, nil
	}
	return p.parseComparison()
}

func (p *filterParser) parseComparison() (string, error) {
	t := p.next()
	if t.kind != tokenIdent || isKeyword(t.text) {
		return "", fmt.Errorf("位置 %d 需要字段标识，实际是“%s”", t.pos+1, t.text)
	}
	field, err := p.resolve(t.text)
	if err != nil {
		return "", err
	}

	if p.keyword("IS") {
		negate := p.keyword("NOT")
		if !p.keyword("NULL") {
			return "", fmt.Errorf("位置 %d 的 IS 后需要 NULL", p.peek().pos+1)
		}
		if negate {
			return "(" + field + " IS NOT NULL)", nil
		}
		return "(" + field + " IS NULL)", nil
	}
	negate := p.keyword("NOT")
	switch {
	case p.keyword("IN"):
		return p.parseIn(field, negate)
	case p.keyword("LIKE"):
		value, err := p.parseValue()
		if err != nil {
			return "", err
		}
		if negate {
			return "(" + field + " NOT LIKE " + value + ")", nil
		}
		return "(" + field + " LIKE " + value + ")", nil
	case negate:
		return "", fmt.Errorf("位置 %d 的 NOT 后需要 IN 或 LIKE", p.peek().pos+1)
	}

	op := p.next()
	if op.kind != tokenOperator {
		return "", fmt.Errorf("位置 %d 需要比较运算符，实际是“%s”", op.pos+1, op.text)
	}
	operator := op.text
	if operator == "!=" {
		operator = "<>"
	}
	value, err := p.parseValue()
	if err != nil {
		return "", err
	}
	return "(" + field + " " + operator + " " + value + ")", nil
}

func (p *filterParser) parseIn(field string, negate bool) (string, error) {
	if t := p.next(); t.kind != tokenOpen {
		return "", fmt.Errorf("位置 %d 的 IN 后需要“(”", t.pos+1)
	}
	var values []string
	for {
		value, err := p.parseValue()
		if err != nil {
			return "", err
		}
		values = append(values, value)
		t := p.next()
		if t.kind == tokenClose {
			break
		}
		if t.kind != tokenComma {
			return "", fmt.Errorf("位置 %d 需要“,”或“)”", t.pos+1)
		}
	}
	operator := " IN ("
	if negate {
		operator = " NOT IN ("
	}
	return "(" + field + operator + strings.Join(values, ", ") + "))", nil
}

// parseValue reads a literal into an argument, or a field into its SQL.
func (p *filterParser) parseValue() (string, error) {
	t := p.next()
	switch t.kind {
	case tokenText:
		p.args = append(p.args, t.text)
		return "?", nil
	case tokenNumber:
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			p.args = append(p.args, n)
		} else {
			f, _ := strconv.ParseFloat(t.text, 64)
			p.args = append(p.args, f)
		}
		return "?", nil
	case tokenIdent:
		if !isKeyword(t.text) {
			return p.resolve(t.text)
		}
	}
	return "", fmt.Errorf("位置 %d 需要值，实际是“%s”", t.pos+1, t.text)
}
