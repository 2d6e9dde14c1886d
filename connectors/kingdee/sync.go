package kingdee

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Watermark is the position of an ERP sync: the FModifyDate and id of
// the last record it stored. Kingdee writes FModifyDate as China wall
// clock text with one-second precision, so several records can share one,
// and the id orders them.
type Watermark struct {
	ModifiedAt string `json:"modified_at"`
	ID         int64  `json:"id"`
}

// IsZero reports whether the watermark is the start of the form.
func (w Watermark) IsZero() bool { return w.ModifiedAt == "" && w.ID == 0 }

// filter returns the FilterString that selects records after w.
func (w Watermark) filter(idField string) string {
	if w.IsZero() {
		return ""
	}
	modified := quote(w.ModifiedAt)
	return fmt.Sprintf("FModifyDate > %s OR (FModifyDate = %s AND %s > %d)", modified, modified, idField, w.ID)
}

// CustomerRecord is a BD_Customer row as a sync reads it.
type CustomerRecord struct {
	ID             int64  `json:"id"`
	Number         string `json:"number"`
	Name           string `json:"name"`
	TaxNo          string `json:"tax_no"`
	DocumentStatus string `json:"document_status"`
	// ModifiedAt is FModifyDate as Kingdee sent it.
	ModifiedAt string `json:"modified_at"`
}

// Watermark returns the position just after the record.
func (r CustomerRecord) Watermark() Watermark { return Watermark{ModifiedAt: r.ModifiedAt, ID: r.ID} }

// ModifiedTime returns FModifyDate in UTC.
func (r CustomerRecord) ModifiedTime() (time.Time, error) { return parseWallClock(r.ModifiedAt) }

// DocumentStateRecord is the status of one document as a sync reads it.
type DocumentStateRecord struct {
	FormID         string `json:"form_id"`
	ID             int64  `json:"id"`
	Number         string `json:"number"`
	DocumentStatus string `json:"document_status"`
	ContractNo     string `json:"contract_no"`
	ModifiedAt     string `json:"modified_at"`
}

// Watermark returns the position just after the record.
func (r DocumentStateRecord) Watermark() Watermark {
	return Watermark{ModifiedAt: r.ModifiedAt, ID: r.ID}
}

// ModifiedTime returns FModifyDate in UTC.
func (r DocumentStateRecord) ModifiedTime() (time.Time, error) { return parseWallClock(r.ModifiedAt) }

// CustomerTaxField is the BD_Customer field with the taxpayer number.
//
// NOTE: the key follows public K/3 Cloud samples (纳税登记号) and is
// unverified against a live data center.
const CustomerTaxField = "FTaxRegisterCode"

// CustomersChangedSince returns up to limit customers modified after the
// watermark, oldest first. Each call is a fresh ExecuteBillQuery from
// StartRow 0 with a filter on the watermark (keyset paging), so records
// that change between two pages shift no page, and the next page starts
// at the Watermark of the last record returned. Fewer than limit rows
// means the sync has caught up.
func (c *Client) CustomersChangedSince(ctx context.Context, since Watermark, limit int) ([]CustomerRecord, error) {
	keys := []string{"FCUSTID", "FNumber", "FName", CustomerTaxField, "FDocumentStatus", "FModifyDate"}
	rows, err := c.QueryPage(ctx, QueryRequest{
		FormID: FormCustomer, FieldKeys: keys, Filter: since.filter("FCUSTID"),
		OrderString: "FModifyDate ASC, FCUSTID ASC", Limit: limit,
	})
	if err != nil {
		return nil, err
	}
	operation := "ExecuteBillQuery " + FormCustomer
	records := make([]CustomerRecord, 0, len(rows))
	for i, row := range rows {
		if len(row) != len(keys) {
			return nil, protocolError(operation, fmt.Sprintf("row %d has %d values, expected %d", i, len(row), len(keys)), nil)
		}
		id, err := strconv.ParseInt(cellText(row[0]), 10, 64)
		if err != nil {
			return nil, protocolError(operation, fmt.Sprintf("row %d has FCUSTID %q, expected an integer", i, cellText(row[0])), err)
		}
		records = append(records, CustomerRecord{
			ID: id, Number: cellText(row[1]), Name: cellText(row[2]), TaxNo: cellText(row[3]),
			DocumentStatus: cellText(row[4]), ModifiedAt: cellText(row[5]),
		})
	}
	return records, nil
}

// DocumentStatesChangedSince returns up to limit documents of formID
// modified after the watermark, oldest first, paged as
// CustomersChangedSince pages customers.
func (c *Client) DocumentStatesChangedSince(ctx context.Context, formID string, since Watermark, limit int) ([]DocumentStateRecord, error) {
	keys := []string{"FID", "FBillNo", "FDocumentStatus", c.cfg.ContractNoField, "FModifyDate"}
	rows, err := c.QueryPage(ctx, QueryRequest{
		FormID: formID, FieldKeys: keys, Filter: since.filter("FID"),
		OrderString: "FModifyDate ASC, FID ASC", Limit: limit,
	})
	if err != nil {
		return nil, err
	}
	operation := "ExecuteBillQuery " + formID
	records := make([]DocumentStateRecord, 0, len(rows))
	for i, row := range rows {
		if len(row) != len(keys) {
			return nil, protocolError(operation, fmt.Sprintf("row %d has %d values, expected %d", i, len(row), len(keys)), nil)
		}
		id, err := strconv.ParseInt(cellText(row[0]), 10, 64)
		if err != nil {
			return nil, protocolError(operation, fmt.Sprintf("row %d has FID %q, expected an integer", i, cellText(row[0])), err)
		}
		records = append(records, DocumentStateRecord{
			FormID: formID, ID: id, Number: cellText(row[1]), DocumentStatus: cellText(row[2]),
			ContractNo: cellText(row[3]), ModifiedAt: cellText(row[4]),
		})
	}
	return records, nil
}
