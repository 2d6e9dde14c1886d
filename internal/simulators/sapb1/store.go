package sapb1

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/simulators"
)

// entitySpec describes one Service Layer entity set.
type entitySpec struct {
	name string
	// ledgerKind is the document kind in the shared ledger.
	ledgerKind string
	// keyField is the entity's key property: CardCode (a string) or a
	// numeric DocEntry or AbsoluteEntry.
	keyField string
	// document marks marketing documents and production orders, which
	// carry U_ORDO_NO and can be cancelled.
	document bool
	// required lists the properties a create must set.
	required []string
}

var entities = map[string]*entitySpec{
	"BusinessPartners": {name: "BusinessPartners", ledgerKind: "customer", keyField: "CardCode", required: []string{"CardCode", "CardName"}},
	"Orders":           {name: "Orders", ledgerKind: "sales_order", keyField: "DocEntry", document: true, required: []string{"CardCode", "DocumentLines"}},
	"ProductionOrders": {name: "ProductionOrders", ledgerKind: "production_order", keyField: "AbsoluteEntry", document: true, required: []string{"ItemNo", "PlannedQuantity"}},
	"DeliveryNotes":    {name: "DeliveryNotes", ledgerKind: "delivery", keyField: "DocEntry", document: true, required: []string{"CardCode", "DocumentLines"}},
	"Invoices":         {name: "Invoices", ledgerKind: "receivable", keyField: "DocEntry", document: true, required: []string{"CardCode"}},
	"IncomingPayments": {name: "IncomingPayments", ledgerKind: "write_off", keyField: "DocEntry", document: true, required: []string{"CardCode"}},
	"SpecialPrices":    {name: "SpecialPrices", ledgerKind: "price_list", keyField: "DocEntry", document: true, required: []string{"CardCode", "ItemCode", "Price"}},
}

// FieldOrdoNo is the user-defined field holding ordo's document number,
// and FieldContractNo the one holding the contract number.
const (
	FieldOrdoNo     = "U_ORDO_NO"
	FieldContractNo = "U_ORDO_CONTRACT"
)

// row is one stored entity. Body holds every property as the client sent
// it plus the ones the simulator sets.
type row struct {
	bun.BaseModel `bun:"table:sapb1_entities"`

	ID         int64  `bun:"id,pk,autoincrement"`
	Entity     string `bun:"entity,notnull"`
	Key        string `bun:"key,notnull"`
	ContractNo string `bun:"contract_no,notnull"`
	Body       string `bun:"body,notnull"`
	CreatedAt  int64  `bun:"created_at,notnull"`
	// Reported is set once a sales order was reported to the World.
	Reported bool `bun:"reported,notnull"`
}

func migrate(ctx context.Context, db bun.IDB) error {
	if err := simulators.NewLedger(db).Migrate(ctx); err != nil {
		return err
	}
	statements := []string{
		`CREATE TABLE IF NOT EXISTS sapb1_entities (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			entity TEXT NOT NULL,
			key TEXT NOT NULL,
			contract_no TEXT NOT NULL,
			body TEXT NOT NULL,
			created_at INTEGER NOT NULL,
			reported BOOLEAN NOT NULL DEFAULT FALSE)`,
		// The unique index plays the part of the site's
		// SBO_SP_TransactionNotification check on U_ORDO_NO, and of the
		// primary key on CardCode.
		`CREATE UNIQUE INDEX IF NOT EXISTS sapb1_entities_key ON sapb1_entities (entity, key) WHERE key <> ''`,
		// SQLite uses a partial index only where the query implies its
		// WHERE clause, which a bound "key = ?" does not, so lookups need
		// this full one.
		`CREATE INDEX IF NOT EXISTS sapb1_entities_lookup ON sapb1_entities (entity, key)`,
		`CREATE INDEX IF NOT EXISTS sapb1_entities_unreported ON sapb1_entities (entity, reported)`,
	}
	for _, stmt := range statements {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create SAP Business One simulator tables: %w", err)
		}
	}
	return nil
}

// apiError is a Service Layer error reply.
type apiError struct {
	status  int
	code    int
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.message) }

func notFound() *apiError {
	return &apiError{status: 404, code: -2028, message: "No matching records found (ODBC -2028)"}
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: 400, code: -5002, message: fmt.Sprintf(format, args...)}
}

// keyOf returns the lookup key of a new entity: CardCode for business
// partners, U_ORDO_NO for documents.
func (spec *entitySpec) keyOf(body map[string]any) string {
	if spec.document {
		return stringProp(body, FieldOrdoNo)
	}
	return stringProp(body, "CardCode")
}

func stringProp(body map[string]any, name string) string {
	switch v := body[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	return ""
}

func decimalProp(body map[string]any, name string) (decimal.Decimal, bool) {
	text := stringProp(body, name)
	if text == "" {
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(text)
	return d, err == nil
}

func (r *row) decode() (map[string]any, error) {
	var body map[string]any
	decoder := json.NewDecoder(strings.NewReader(r.Body))
	decoder.UseNumber()
	if err := decoder.Decode(&body); err != nil {
		return nil, fmt.Errorf("decode stored %s %d: %w", r.Entity, r.ID, err)
	}
	return body, nil
}

// present returns the entity as the Service Layer shows it, with the
// production status advanced by the clock.
func (s *Simulator) present(r *row, now time.Time) (map[string]any, error) {
	body, err := r.decode()
	if err != nil {
		return nil, err
	}
	if r.Entity == "ProductionOrders" && body["ProductionOrderStatus"] == "boposReleased" {
		due := time.UnixMilli(r.CreatedAt).Add(s.cfg.CompletionDelay)
		if !now.Before(due) {
			body["ProductionOrderStatus"] = "boposClosed"
			body["ClosingDate"] = due.UTC().Format("2006-01-02")
			body["CompletedQuantity"] = body["PlannedQuantity"]
		}
	}
	return body, nil
}

func (s *Simulator) findByKey(ctx context.Context, db bun.IDB, spec *entitySpec, key string) (*row, error) {
	r := new(row)
	q := db.NewSelect().Model(r).Where("entity = ?", spec.name)
	if spec.document || spec.keyField != "CardCode" {
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, badRequest("%s key %q is not a number", spec.name, key)
		}
		q = q.Where("id = ?", id)
	} else {
		q = q.Where("key = ?", key)
	}
	if err := q.Limit(1).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound()
		}
		return nil, fmt.Errorf("read %s(%s): %w", spec.name, key, err)
	}
	return r, nil
}

// create validates and stores a new entity and appends it to the ledger
// in one transaction.
func (s *Simulator) create(ctx context.Context, spec *entitySpec, body map[string]any) (*row, map[string]any, error) {
	for _, name := range spec.required {
		if v, ok := body[name]; !ok || v == nil || v == "" {
			return nil, nil, badRequest("Property '%s' of '%s' is required", name, spec.name)
		}
	}
	now := time.Now()
	var created *row
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.validateReferences(ctx, tx, spec, body); err != nil {
			return err
		}
		key := spec.keyOf(body)
		if key != "" {
			exists, err := tx.NewSelect().Model((*row)(nil)).Where("entity = ? AND key = ?", spec.name, key).Exists(ctx)
			if err != nil {
				return fmt.Errorf("check %s %s: %w", spec.name, key, err)
			}
			if exists && spec.document {
				return badRequest("(SBO_SP_TransactionNotification) %s %s=%s already exists", spec.name, FieldOrdoNo, key)
			}
			if exists {
				return &apiError{status: 400, code: -10, message: fmt.Sprintf("1320000140 - Business partner code '%s' already assigned to a business partner", key)}
			}
		}
		s.fillDefaults(spec, body, now)
		contractNo := stringProp(body, FieldContractNo)
		if spec.name == "BusinessPartners" {
			contractNo = key
		}
		encoded, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", spec.name, err)
		}
		r := &row{Entity: spec.name, Key: key, ContractNo: contractNo, Body: string(encoded), CreatedAt: now.UnixMilli()}
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return fmt.Errorf("insert %s: %w", spec.name, err)
		}
		if spec.keyField != "CardCode" {
			// The key is the row id, known only after the insert.
			body[spec.keyField] = r.ID
			if spec.name != "ProductionOrders" {
				body["DocNum"] = r.ID
			} else {
				body["DocumentNumber"] = r.ID
			}
			if err := storeBody(ctx, tx, r, body); err != nil {
				return err
			}
		}
		number := key
		if number == "" {
			number = strconv.FormatInt(r.ID, 10)
		}
		detail := fmt.Sprintf("%s %s=%v", spec.name, spec.keyField, body[spec.keyField])
		if err := simulators.Record(ctx, tx, System, spec.ledgerKind, number, contractNo, detail); err != nil {
			return err
		}
		created = r
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if spec.name == "Orders" {
		go s.reportOne(created.ID)
	}
	return created, body, nil
}

// fillDefaults sets the properties the Service Layer fills in on create.
func (s *Simulator) fillDefaults(spec *entitySpec, body map[string]any, now time.Time) {
	today := now.UTC().Format("2006-01-02")
	switch {
	case spec.name == "BusinessPartners":
		if _, ok := body["CardType"]; !ok {
			body["CardType"] = "cCustomer"
		}
		body["Valid"] = "tYES"
	case spec.name == "ProductionOrders":
		if _, ok := body["ProductionOrderStatus"]; !ok {
			body["ProductionOrderStatus"] = "boposPlanned"
		}
		body["CreationDate"] = today
	default:
		body["DocumentStatus"] = "bost_Open"
		body["Cancelled"] = "tNO"
		if _, ok := body["DocDate"]; !ok {
			body["DocDate"] = today
		}
		if _, ok := body["DocTotal"]; !ok {
			total := decimal.Zero
			lines, _ := body["DocumentLines"].([]any)
			for _, l := range lines {
				line, _ := l.(map[string]any)
				qty, _ := decimalProp(line, "Quantity")
				price, _ := decimalProp(line, "PriceAfterVAT")
				total = total.Add(qty.Mul(price))
			}
			body["DocTotal"] = json.Number(total.StringFixed(2))
		}
	}
	body["UpdateDate"] = today
}

// validateReferences checks that the business partner and the base
// documents a new document names exist, as the Service Layer does.
func (s *Simulator) validateReferences(ctx context.Context, tx bun.Tx, spec *entitySpec, body map[string]any) error {
	if spec.document && spec.name != "ProductionOrders" {
		card := stringProp(body, "CardCode")
		exists, err := tx.NewSelect().Model((*row)(nil)).Where("entity = 'BusinessPartners' AND key = ?", card).Exists(ctx)
		if err != nil {
			return fmt.Errorf("check business partner %s: %w", card, err)
		}
		if !exists {
			return &apiError{status: 400, code: -10, message: fmt.Sprintf("Invalid BP code '%s'", card)}
		}
	}
	checkEntry := func(entity string, entry string, what string) error {
		if entry == "" {
			return nil
		}
		id, err := strconv.ParseInt(entry, 10, 64)
		if err != nil {
			return badRequest("%s %q is not a number", what, entry)
		}
		exists, err := tx.NewSelect().Model((*row)(nil)).Where("entity = ? AND id = ?", entity, id).Exists(ctx)
		if err != nil {
			return fmt.Errorf("check %s %d: %w", entity, id, err)
		}
		if !exists {
			return &apiError{status: 400, code: -2028, message: fmt.Sprintf("%s %d referenced by %s does not exist", entity, id, what)}
		}
		return nil
	}
	lines, _ := body["DocumentLines"].([]any)
	if spec.name == "Orders" || spec.name == "DeliveryNotes" {
		if len(lines) == 0 {
			return badRequest("Document '%s' has no lines", spec.name)
		}
	}
	for i, l := range lines {
		line, ok := l.(map[string]any)
		if !ok {
			return badRequest("DocumentLines[%d] is not an object", i)
		}
		if spec.name == "Orders" || spec.name == "DeliveryNotes" {
			if stringProp(line, "ItemCode") == "" {
				return badRequest("DocumentLines[%d].ItemCode is required", i)
			}
			if qty, ok := decimalProp(line, "Quantity"); !ok || !qty.IsPositive() {
				return badRequest("DocumentLines[%d].Quantity must be positive", i)
			}
		}
		if stringProp(line, "BaseType") == "17" {
			if err := checkEntry("Orders", stringProp(line, "BaseEntry"), fmt.Sprintf("DocumentLines[%d].BaseEntry", i)); err != nil {
				return err
			}
		}
	}
	if spec.name == "ProductionOrders" {
		if err := checkEntry("Orders", stringProp(body, "ProductionOrderOriginEntry"), "ProductionOrderOriginEntry"); err != nil {
			return err
		}
	}
	invoices, _ := body["PaymentInvoices"].([]any)
	for i, l := range invoices {
		line, _ := l.(map[string]any)
		if err := checkEntry("Invoices", stringProp(line, "DocEntry"), fmt.Sprintf("PaymentInvoices[%d].DocEntry", i)); err != nil {
			return err
		}
	}
	return nil
}

// update merges changes into a stored entity. Keys and status fields the
// Service Layer sets itself cannot be changed.
func (s *Simulator) update(ctx context.Context, spec *entitySpec, key string, changes map[string]any) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.findByKey(ctx, tx, spec, key)
		if err != nil {
			return err
		}
		body, err := r.decode()
		if err != nil {
			return err
		}
		for name, value := range changes {
			switch name {
			case spec.keyField, FieldOrdoNo, "DocNum", "DocumentStatus", "Cancelled":
				return badRequest("Property '%s' of '%s' cannot be changed", name, spec.name)
			}
			body[name] = value
		}
		body["UpdateDate"] = time.Now().UTC().Format("2006-01-02")
		return storeBody(ctx, tx, r, body)
	})
}

// cancel marks a document cancelled: a marketing document gets
// Cancelled=tYES and DocumentStatus bost_Close, a production order
// ProductionOrderStatus boposCancelled.
func (s *Simulator) cancel(ctx context.Context, spec *entitySpec, key string) error {
	if !spec.document {
		return badRequest("'%s' has no Cancel action", spec.name)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.findByKey(ctx, tx, spec, key)
		if err != nil {
			return err
		}
		body, err := s.present(r, time.Now())
		if err != nil {
			return err
		}
		if spec.name == "ProductionOrders" {
			if body["ProductionOrderStatus"] == "boposClosed" {
				return badRequest("Production order %s is closed and cannot be cancelled", key)
			}
			body["ProductionOrderStatus"] = "boposCancelled"
		} else {
			if body["Cancelled"] == "tYES" {
				return badRequest("Document is already cancelled")
			}
			body["Cancelled"] = "tYES"
			body["DocumentStatus"] = "bost_Close"
		}
		return storeBody(ctx, tx, r, body)
	})
}

// storeBody replaces the stored properties of r with body.
func storeBody(ctx context.Context, db bun.IDB, r *row, body map[string]any) error {
	encoded, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s %d: %w", r.Entity, r.ID, err)
	}
	r.Body = string(encoded)
	if _, err := db.NewUpdate().Model(r).Column("body").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update %s %d: %w", r.Entity, r.ID, err)
	}
	return nil
}

func (s *Simulator) remove(ctx context.Context, spec *entitySpec, key string) error {
	r, err := s.findByKey(ctx, s.db, spec, key)
	if err != nil {
		return err
	}
	_, err = s.db.NewDelete().Model(r).WherePK().Exec(ctx)
	return err
}

// list returns the entities matching filter, oldest first. A filter on
// the lookup key alone reads the index instead of every row.
func (s *Simulator) list(ctx context.Context, spec *entitySpec, filter []condition) ([]map[string]any, error) {
	var rows []row
	q := s.db.NewSelect().Model(&rows).Where("entity = ?", spec.name).Order("id")
	keyProp := FieldOrdoNo
	if !spec.document {
		keyProp = "CardCode"
	}
	for _, c := range filter {
		if c.field == keyProp && c.op == "eq" {
			q = q.Where("key = ?", c.value)
		}
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list %s: %w", spec.name, err)
	}
	now := time.Now()
	out := make([]map[string]any, 0, len(rows))
	for i := range rows {
		body, err := s.present(&rows[i], now)
		if err != nil {
			return nil, err
		}
		if matches(body, filter) {
			out = append(out, body)
		}
	}
	return out, nil
}

// reportOne reports a new sales order to the World. A failure is retried
// by the report loop.
func (s *Simulator) reportOne(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.report(ctx, id); err != nil {
		s.log.WithError(err).Warn("Failed to report sales order; will retry")
	}
}

func (s *Simulator) reportPending(ctx context.Context) error {
	var ids []int64
	err := s.db.NewSelect().Model((*row)(nil)).Column("id").
		Where("entity = 'Orders' AND reported = ?", false).Order("id").Limit(500).Scan(ctx, &ids)
	if err != nil {
		return fmt.Errorf("list unreported sales orders: %w", err)
	}
	for _, id := range ids {
		if err := s.report(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Simulator) report(ctx context.Context, id int64) error {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	r := new(row)
	if err := s.db.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return fmt.Errorf("read sales order %d: %w", id, err)
	}
	if r.Reported {
		return nil
	}

	body, err := r.decode()
	if err != nil {
		return err
	}
	card := stringProp(body, "CardCode")
	name := card
	partner := new(row)
	if err := s.db.NewSelect().Model(partner).Where("entity = 'BusinessPartners' AND key = ?", card).Scan(ctx); err == nil {
		if stored, err := partner.decode(); err == nil && stringProp(stored, "CardName") != "" {
			name = stringProp(stored, "CardName")
		}
	}

	total, _ := decimalProp(body, "DocTotal")
	number := r.Key
	if number == "" {
		number = strconv.FormatInt(r.ID, 10)
	}
	event := simulators.SalesOrderAudited{
		Number: number, ContractNo: r.ContractNo, CustomerName: name,
		Currency: stringProp(body, "DocCurrency"), Total: total, AuditedAt: time.UnixMilli(r.CreatedAt).UTC(),
	}
	if event.ContractNo == "" {
		// Without a contract number the simulated customer cannot pay;
		// mark it reported so the loop does not try again.
		event.ContractNo = stringProp(body, "NumAtCard")
	}
	if event.ContractNo != "" {
		if err := s.world.SalesOrderAudited(ctx, event); err != nil {
			return fmt.Errorf("report sales order %s: %w", number, err)
		}
	}
	_, err = s.db.NewUpdate().Model(r).Set("reported = ?", true).WherePK().Exec(ctx)
	return err
}
