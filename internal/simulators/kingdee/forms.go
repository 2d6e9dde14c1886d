package kingdee

import (
	"strings"

	"github.com/ordo-project/ordo/connectors"
)

// Form ids the simulator implements.
const (
	FormCustomer        = "BD_Customer"
	FormSalesOrder      = "SAL_SaleOrder"
	FormProductionOrder = "PRD_MO"
	FormDelivery        = "SAL_OUTSTOCK"
	FormReceivable      = "AR_receivable"
	FormReceiveBill     = "AR_RECEIVEBILL"
	// FormPriceList is the sales price list (销售价目表). ordo writes one
	// list per approved price change, limited to the customer it names.
	FormPriceList = "BD_SAL_PriceList"
)

// Document statuses (FDocumentStatus).
const (
	StatusDraft      = "Z" // 暂存: saved without validation
	StatusCreated    = "A" // 创建
	StatusAuditing   = "B" // 审核中: submitted
	StatusAudited    = "C" // 已审核
	StatusReAuditing = "D" // 重新审核: un-audited, editable again
)

// Production order statuses (PRD_MO FStatus).
const (
	ProductionPlanned   = "1"
	ProductionReleased  = "3"
	ProductionStarted   = "4"
	ProductionCompleted = "5" // 完工
	ProductionClosed    = "6" // 结案
)

// Write-off statuses of a receivable (AR_receivable FWRITTENOFFSTATUS).
//
// NOTE: these letters are the simulator's choice. Check them against a real
// Kingdee before a sync job relies on them.
const (
	WriteOffNone    = "A"
	WriteOffPartial = "B"
	WriteOffFull    = "C"
)

// requirement is one field a form needs before Save accepts a model.
type requirement struct {
	// path is the dotted path inside the model or entry line, for example
	// "FCustId.FNumber".
	path string
	// field is the field key reported in Errors[].FieldName.
	field string
	// positive requires a number greater than zero.
	positive bool
}

// formSpec describes one form: its number and id fields, the fields Save
// requires and the entry (line) collection.
type formSpec struct {
	id          string
	kind        connectors.DocumentKind
	numberField string
	// idField is the primary key field: FID for bills and FCUSTID for
	// customers. FID is accepted for every form.
	idField string
	// prefix starts the numbers the simulator assigns when a model has none.
	prefix string
	header []requirement
	// customerField is the path of the customer reference, if any. Save
	// checks that it names an audited customer.
	customerField requirement
	entry         string
	entryFields   []requirement
}

var forms = map[string]*formSpec{
	strings.ToLower(FormCustomer): {
		id: FormCustomer, kind: connectors.KindCustomer,
		numberField: "FNumber", idField: "FCUSTID", prefix: "CUST",
		header: []requirement{{path: "FName", field: "FName"}},
	},
	strings.ToLower(FormSalesOrder): {
		id: FormSalesOrder, kind: connectors.KindSalesOrder,
		numberField: "FBillNo", idField: "FID", prefix: "XSDD",
		header: []requirement{
			{path: "FDate", field: "FDate"},
			{path: "FSaleOrgId.FNumber", field: "FSaleOrgId"},
			{path: "FSaleOrderFinance.FSettleCurrId.FNumber", field: "FSettleCurrId"},
		},
		customerField: requirement{path: "FCustId.FNumber", field: "FCustId"},
		entry:         "FSaleOrderEntry",
		entryFields: []requirement{
			{path: "FMaterialId.FNumber", field: "FMaterialId"},
			{path: "FQty", field: "FQty", positive: true},
		},
	},
	strings.ToLower(FormProductionOrder): {
		id: FormProductionOrder, kind: connectors.KindProductionOrder,
		numberField: "FBillNo", idField: "FID", prefix: "MO",
		header: []requirement{
			{path: "FDate", field: "FDate"},
			{path: "FPrdOrgId.FNumber", field: "FPrdOrgId"},
		},
		entry: "FTreeEntity",
		entryFields: []requirement{
			{path: "FMaterialId.FNumber", field: "FMaterialId"},
			{path: "FQty", field: "FQty", positive: true},
		},
	},
	strings.ToLower(FormDelivery): {
		id: FormDelivery, kind: connectors.KindDelivery,
		numberField: "FBillNo", idField: "FID", prefix: "XSCKD",
		header: []requirement{
			{path: "FDate", field: "FDate"},
			{path: "FSaleOrgId.FNumber", field: "FSaleOrgId"},
			{path: "FStockOrgId.FNumber", field: "FStockOrgId"},
		},
		customerField: requirement{path: "FCustomerID.FNumber", field: "FCustomerID"},
		entry:         "FEntity",
		entryFields: []requirement{
			{path: "FMaterialID.FNumber", field: "FMaterialID"},
			{path: "FRealQty", field: "FRealQty", positive: true},
		},
	},
	strings.ToLower(FormReceivable): {
		id: FormReceivable, kind: connectors.KindReceivable,
		numberField: "FBillNo", idField: "FID", prefix: "AR",
		header: []requirement{
			{path: "FDate", field: "FDate"},
			{path: "FSETTLEORGID.FNumber", field: "FSETTLEORGID"},
			{path: "FCURRENCYID.FNumber", field: "FCURRENCYID"},
			{path: "FALLAMOUNTFOR", field: "FALLAMOUNTFOR", positive: true},
		},
		customerField: requirement{path: "FCUSTOMERID.FNumber", field: "FCUSTOMERID"},
	},
	strings.ToLower(FormReceiveBill): {
		id: FormReceiveBill, kind: connectors.KindWriteOff,
		numberField: "FBillNo", idField: "FID", prefix: "SKD",
		header: []requirement{
			{path: "FDate", field: "FDate"},
			{path: "FSETTLEORGID.FNumber", field: "FSETTLEORGID"},
			{path: "FCURRENCYID.FNumber", field: "FCURRENCYID"},
		},
		customerField: requirement{path: "FCONTACTUNIT.FNumber", field: "FCONTACTUNIT"},
		entry:         "FRECEIVEBILLSRCENTRY",
		entryFields: []requirement{
			{path: "FSRCBILLNO", field: "FSRCBILLNO"},
			{path: "FREALRECAMOUNT", field: "FREALRECAMOUNT", positive: true},
		},
	},
	// NOTE: the header and entry field keys of the price list follow the
	// naming of the other forms and are unverified against a real
	// Kingdee. Check them in the BOS designer before production use.
	strings.ToLower(FormPriceList): {
		id: FormPriceList, kind: connectors.KindPriceList,
		numberField: "FNumber", idField: "FID", prefix: "XSJMB",
		header: []requirement{
			{path: "FName", field: "FName"},
			{path: "FCreateOrgId.FNumber", field: "FCreateOrgId"},
			{path: "FCurrencyId.FNumber", field: "FCurrencyId"},
		},
		customerField: requirement{path: "FCustomerId.FNumber", field: "FCustomerId"},
		entry:         "FEntity",
		entryFields: []requirement{
			{path: "FMaterialId.FNumber", field: "FMaterialId"},
			{path: "FPrice", field: "FPrice", positive: true},
			{path: "FEffectiveDate", field: "FEffectiveDate"},
		},
	},
}

// formByID finds a form spec. Kingdee form ids are case-insensitive.
func formByID(id string) (*formSpec, bool) {
	spec, ok := forms[strings.ToLower(strings.TrimSpace(id))]
	return spec, ok
}

// systemColumn maps a field key the simulator maintains itself to its SQL
// column. Every other field key is read from the stored model.
func (f *formSpec) systemColumn(key string) (string, bool) {
	lower := strings.ToLower(key)
	switch lower {
	case "fid", strings.ToLower(f.idField):
		return "d.id", true
	case strings.ToLower(f.numberField):
		return "d.number", true
	case "fdocumentstatus":
		return "d.document_status", true
	case "fcreatedate":
		return "d.created_at", true
	case "fmodifydate":
		return "d.modified_at", true
	case "fapprovedate":
		return "d.approved_at", true
	case strings.ToLower(ContractNoField):
		return "d.contract_no", true
	}
	switch {
	case f.id == FormProductionOrder && lower == "fstatus":
		return "d.status", true
	case f.id == FormProductionOrder && lower == "ffinishdate":
		return "d.completed_at", true
	case f.id == FormReceivable && lower == "fwrittenoffstatus":
		return "d.written_off_status", true
	}
	return "", false
}

// currencyISO maps Kingdee's preset currency numbers to ISO 4217 codes for
// the events the simulator reports to the simulated world.
//
// NOTE: the PRE numbers are the ones seen in public Kingdee samples and are
// unverified. An unknown number is passed through unchanged.
var currencyISO = map[string]string{
	"PRE001": "CNY",
	"PRE002": "HKD",
	"PRE003": "EUR",
	"PRE004": "JPY",
	"PRE006": "GBP",
	"PRE007": "USD",
}
