package kingdee

import (
	"context"
	"strconv"
	"strings"
)

// MaxPageSize is the most rows one ExecuteBillQuery call returns.
const MaxPageSize = 2000

// QueryRequest is one ExecuteBillQuery call. FieldKeys name the columns of
// each returned row, in order.
type QueryRequest struct {
	FormID    string
	FieldKeys []string
	// Filter is a FilterString such as "FBillNo = 'SO-1' AND FDocumentStatus = 'C'".
	Filter string
	// OrderString sorts the rows, e.g. "FID ASC". Paging over a changing
	// form needs a stable order.
	OrderString string
	// StartRow skips that many rows.
	StartRow int
	// Limit is the page size, at most MaxPageSize. 0 means MaxPageSize.
	Limit int
	// TopRowCount caps the rows over all pages. 0 means no cap.
	TopRowCount int
}

func (q QueryRequest) body() map[string]any {
	limit := q.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	return map[string]any{"data": map[string]any{
		"FormId":       q.FormID,
		"FieldKeys":    strings.Join(q.FieldKeys, ","),
		"FilterString": q.Filter,
		"OrderString":  q.OrderString,
		"TopRowCount":  q.TopRowCount,
		"StartRow":     q.StartRow,
		"Limit":        limit,
	}}
}

// QueryPage runs one ExecuteBillQuery call and returns its rows. Cells are
// string, json.Number, bool or nil. Transient failures are retried, since
// a query changes nothing.
func (c *Client) QueryPage(ctx context.Context, req QueryRequest) ([][]any, error) {
	operation := "ExecuteBillQuery " + req.FormID
	var rows [][]any
	err := c.read(ctx, operation, formService("ExecuteBillQuery"), req.body(), func(raw []byte) error {
		var err error
		rows, err = decodeRows(operation, raw)
		return err
	})
	return rows, err
}

// QueryEach pages through every row of req, calling fn for each in order,
// and stops at the first error fn returns.
//
// NOTE: pages are separate calls, so rows inserted or deleted while paging
// can shift the pages. Sort by FID and filter on a range for exact syncs.
func (c *Client) QueryEach(ctx context.Context, req QueryRequest, fn func(row []any) error) error {
	pageSize := req.Limit
	if pageSize <= 0 || pageSize > MaxPageSize {
		pageSize = MaxPageSize
	}
	req.Limit = pageSize
	for {
		rows, err := c.QueryPage(ctx, req)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := fn(row); err != nil {
				return err
			}
		}
		if len(rows) < pageSize {
			return nil
		}
		req.StartRow += len(rows)
		if req.TopRowCount > 0 && req.StartRow >= req.TopRowCount {
			return nil
		}
	}
}

// Query pages through every row of formID that matches filter, in FID
// order, calling fn with the values of fieldKeys.
func (c *Client) Query(ctx context.Context, formID string, fieldKeys []string, filter string, fn func(row []any) error) error {
	order := "FID ASC"
	if strings.EqualFold(formID, FormCustomer) {
		order = "FCUSTID ASC"
	}
	return c.QueryEach(ctx, QueryRequest{FormID: formID, FieldKeys: fieldKeys, Filter: filter, OrderString: order}, fn)
}

// docState is the state of a document as a lookup found it.
type docState struct {
	ID     string
	Number string
	// Status is FDocumentStatus.
	Status string
	// Extra holds the form-specific fields the lookup asked for, by key.
	Extra map[string]string
}

// lookup finds a document by number. found is false when it does not exist.
func (c *Client) lookup(ctx context.Context, form formInfo, number string, extra ...string) (docState, bool, error) {
	keys := append([]string{form.idField, form.numberField, "FDocumentStatus"}, extra...)
	rows, err := c.QueryPage(ctx, QueryRequest{
		FormID:    form.id,
		FieldKeys: keys,
		Filter:    form.numberField + " = " + quote(number),
		Limit:     10,
	})
	if err != nil {
		return docState{}, false, err
	}
	if len(rows) == 0 {
		return docState{}, false, nil
	}

	// A real Kingdee may return a row per entry line or per organization
	// that uses a customer, and every row describes the same document.
	row := rows[0]
	if len(row) != len(keys) {
		return docState{}, false, protocolError("ExecuteBillQuery "+form.id, "query row has "+strconv.Itoa(len(row))+" values, expected "+strconv.Itoa(len(keys)), nil)
	}
	state := docState{
		ID:     cellText(row[0]),
		Number: cellText(row[1]),
		Status: cellText(row[2]),
		Extra:  map[string]string{},
	}

	for i, key := range extra {
		state.Extra[key] = cellText(row[3+i])
	}
	if state.Number == "" {
		return docState{}, false, protocolError("ExecuteBillQuery "+form.id, "query row has no document number", nil)
	}
	return state, true, nil
}
