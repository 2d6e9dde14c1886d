package kingdee

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/connectors"
)

// chinaTime is China Standard Time, the wall clock Kingdee dates are in.
// China has kept UTC+8 without daylight saving since 1991, so a fixed zone
// is exact and needs no tzdata.
var chinaTime = time.FixedZone("CST", 8*60*60)

// The builders below write the Save models. Master data (customers,
// materials, organizations, currencies) is referenced as {"FNumber": ...},
// as Kingdee models do. Forms fill the bill type and other defaults
// themselves when the model leaves them out.

func (c *Client) customerModel(customer connectors.Customer) map[string]any {
	return map[string]any{
		"FNumber":      customer.Number,
		"FName":        customer.Name,
		"FCreateOrgId": ref(c.cfg.OrgNumber),
		"FUseOrgId":    ref(c.cfg.OrgNumber),
	}
}

func (c *Client) salesOrderModel(order connectors.SalesOrder) (map[string]any, error) {
	operation := "Save " + FormSalesOrder
	if len(order.Lines) == 0 {
		return nil, validationError(operation, "FSaleOrderEntry", "the order has no lines")
	}
	sum := decimal.Zero
	lines := make([]any, 0, len(order.Lines))
	for _, line := range order.Lines {
		sum = sum.Add(line.Amount)
		lines = append(lines, map[string]any{
			"FMaterialId":   ref(line.ProductNumber),
			"FQty":          number(line.Quantity),
			"FTaxPrice":     number(line.UnitPrice),
			"FEntryTaxRate": number(line.TaxRate.Shift(2)), // Kingdee takes percent
			"FAllAmount":    number(line.Amount),
		})
	}
	if !order.Total.IsZero() && !order.Total.Equal(sum) {
		return nil, validationError(operation, "FBillAllAmount", fmt.Sprintf("the order total %s differs from the sum of its lines %s", order.Total, sum))
	}
	currency, err := c.currency(operation, order.Currency)
	if err != nil {
		return nil, err
	}
	model := map[string]any{
		"FBillNo":             order.Number,
		"FDate":               date(order.Date),
		"FSaleOrgId":          ref(c.cfg.OrgNumber),
		"FCustId":             ref(order.CustomerNumber),
		"FSaleOrderFinance":   map[string]any{"FSettleCurrId": ref(currency)},
		"FSaleOrderEntry":     lines,
		c.cfg.ContractNoField: order.ContractNo,
	}
	if order.SalesAgent != "" {
		model["FSalerId"] = ref(order.SalesAgent)
	}
	return model, nil
}

func (c *Client) productionOrderModel(order connectors.ProductionOrder) map[string]any {
	return map[string]any{
		"FBillNo":   order.Number,
		"FDate":     date(order.Date),
		"FPrdOrgId": ref(c.cfg.OrgNumber),
		"FTreeEntity": []any{map[string]any{
			"FMaterialId":  ref(order.ProductNumber),
			"FQty":         number(order.Quantity),
			"FSaleOrderNo": order.SalesOrderNo,
		}},
		c.cfg.ContractNoField: order.ContractNo,
	}
}

func (c *Client) deliveryModel(delivery connectors.Delivery) (map[string]any, error) {
	if len(delivery.Lines) == 0 {
		return nil, validationError("Save "+FormDelivery, "FEntity", "the delivery has no lines")
	}
	lines := make([]any, 0, len(delivery.Lines))
	for _, line := range delivery.Lines {
		lines = append(lines, map[string]any{
			"FMaterialID": ref(line.ProductNumber),
			"FRealQty":    number(line.Quantity),
			"FTaxPrice":   number(line.UnitPrice),
			"FSoorDerno":  delivery.SalesOrderNo,
		})
	}
	return map[string]any{
		"FBillNo":             delivery.Number,
		"FDate":               date(delivery.Date),
		"FSaleOrgId":          ref(c.cfg.OrgNumber),
		"FStockOrgId":         ref(c.cfg.OrgNumber),
		"FCustomerID":         ref(delivery.CustomerNumber),
		"FEntity":             lines,
		c.cfg.ContractNoField: delivery.ContractNo,
	}, nil
}

// receivableModel writes one line carrying the whole tax-inclusive total.
//
// NOTE: a real Kingdee receivable line also needs a material or an expense
// item. A deployment that has them pushes the receivable from the delivery
// instead.
func (c *Client) receivableModel(receivable connectors.Receivable) (map[string]any, error) {
	operation := "Save " + FormReceivable
	if !receivable.Total.IsPositive() {
		return nil, validationError(operation, "FALLAMOUNTFOR", fmt.Sprintf("the receivable total %s is not positive", receivable.Total))
	}
	currency, err := c.currency(operation, receivable.Currency)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"FBillNo":       receivable.Number,
		"FDate":         date(receivable.Date),
		"FCUSTOMERID":   ref(receivable.CustomerNumber),
		"FSETTLEORGID":  ref(c.cfg.OrgNumber),
		"FCURRENCYID":   ref(currency),
		"FALLAMOUNTFOR": number(receivable.Total),
		"FEntityDetail": []any{map[string]any{
			"FORDERNUMBER":  receivable.SalesOrderNo,
			"FPriceQty":     json.Number("1"),
			"FTaxPrice":     number(receivable.Total),
			"FALLAMOUNTFOR": number(receivable.Total),
		}},
		c.cfg.ContractNoField: receivable.ContractNo,
	}, nil
}

// writeOffModel writes a receive bill whose source line names the
// receivable it settles.
func (c *Client) writeOffModel(writeOff connectors.WriteOff) (map[string]any, error) {
	operation := "Save " + FormReceiveBill
	if !writeOff.Amount.IsPositive() {
		return nil, validationError(operation, "FREALRECAMOUNT", fmt.Sprintf("the write-off amount %s is not positive", writeOff.Amount))
	}
	currency, err := c.currency(operation, writeOff.Currency)
	if err != nil {
		return nil, err
	}
	model := map[string]any{
		"FBillNo":          writeOff.Number,
		"FDate":            date(writeOff.Date),
		"FCONTACTUNITTYPE": FormCustomer,
		"FCONTACTUNIT":     ref(writeOff.CustomerNumber),
		"FPAYUNITTYPE":     FormCustomer,
		"FPAYUNIT":         ref(writeOff.CustomerNumber),
		"FSETTLEORGID":     ref(c.cfg.OrgNumber),
		"FPAYORGID":        ref(c.cfg.OrgNumber),
		"FCURRENCYID":      ref(currency),
		"FRECEIVEBILLSRCENTRY": []any{map[string]any{
			"FSRCBILLTYPEID": FormReceivable,
			"FSRCBILLNO":     writeOff.ReceivableNo,
			"FREALRECAMOUNT": number(writeOff.Amount),
		}},
		c.cfg.ContractNoField: writeOff.ContractNo,
	}
	if len(writeOff.ReceiptIDs) > 0 {
		model["FREMARK"] = "ordo receipts: " + strings.Join(writeOff.ReceiptIDs, ", ")
	}
	return model, nil
}

// priceListModel writes a price list limited to one customer, with one
// line for the product at the approved tax-inclusive price.
func (c *Client) priceListModel(change connectors.PriceChange) (map[string]any, error) {
	operation := "Save " + FormPriceList
	switch {
	case change.CustomerNumber == "":
		return nil, validationError(operation, "FCustomerId", "the customer number is empty")
	case change.ProductNumber == "":
		return nil, validationError(operation, "FMaterialId", "the product number is empty")
	case !change.UnitPrice.IsPositive():
		return nil, validationError(operation, "FPrice", fmt.Sprintf("the unit price %s is not positive", change.UnitPrice))
	}
	currency, err := c.currency(operation, change.Currency)
	if err != nil {
		return nil, err
	}
	model := map[string]any{
		"FNumber":        change.Number,
		"FName":          "ordo " + change.ApprovalID,
		"FCreateOrgId":   ref(c.cfg.OrgNumber),
		"FUseOrgId":      ref(c.cfg.OrgNumber),
		"FCurrencyId":    ref(currency),
		"FIsIncludedTax": true,
		"FCustomerId":    ref(change.CustomerNumber),
		"FEntity": []any{map[string]any{
			"FMaterialId":    ref(change.ProductNumber),
			"FPrice":         number(change.UnitPrice),
			"FEffectiveDate": date(change.EffectiveFrom),
		}},
		"FDescription": change.Reason,
	}
	if change.ContractNo != "" {
		model[c.cfg.ContractNoField] = change.ContractNo
	}
	return model, nil
}

// currency maps an ISO 4217 code to the Kingdee currency number.
func (c *Client) currency(operation, iso string) (string, error) {
	code, ok := c.cfg.Currencies[strings.ToUpper(strings.TrimSpace(iso))]
	if !ok {
		return "", validationError(operation, "FCURRENCYID", fmt.Sprintf("no Kingdee currency is configured for %q; add it to Config.Currencies", iso))
	}
	return code, nil
}

// ref is a reference to master data by number, as Kingdee models write it.
func ref(number string) map[string]any {
	return map[string]any{"FNumber": number}
}

// number writes a decimal as a JSON number, keeping every digit.
func number(d decimal.Decimal) json.Number {
	return json.Number(d.String())
}

// idValue writes a document id the way it came back, as a JSON number when
// it is one.
func idValue(id string) any {
	if _, err := decimal.NewFromString(id); err == nil {
		return json.Number(id)
	}
	return id
}

// date writes a date in China Standard Time. A zero time writes nothing,
// so Kingdee rejects the model with a field error on FDate.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format("2006-01-02")
}

// parseWallClock reads a Kingdee date or time, which carries no zone and
// is China Standard Time.
func parseWallClock(text string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, text, chinaTime); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Parse(time.RFC3339, text)
}
