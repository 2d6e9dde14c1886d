package kingdee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// saveOptions are the Save parameters beside the model.
type saveOptions struct {
	// needUpdate lists the fields an update writes. An empty list writes
	// every field the model carries.
	needUpdate []string
	// draft saves without validation into status Z, as Kingdee's Draft
	// (暂存) does.
	draft bool
	// index is the model's position in a BatchSave, reported as DIndex.
	index int
}

func saveOptionsOf(data map[string]any, draft bool) saveOptions {
	opts := saveOptions{draft: draft}
	if value, ok := fieldOf(data, "NeedUpDateFields"); ok {
		opts.needUpdate = textList(value)
	}
	return opts
}

// save handles Save and Draft of one model.
func (s *Simulator) save(ctx context.Context, spec *formSpec, data map[string]any, draft bool, entry *logrus.Entry) reply {
	value, _ := fieldOf(data, "Model")
	model, ok := value.(map[string]any)
	if !ok {
		if text, isText := value.(string); isText {
			decoded, err := decodeObject([]byte(text))
			model, ok = decoded, err == nil
		}
	}
	if !ok {
		return messageReply("请求数据包缺少 Model 对象。")
	}
	saved, errs, err := s.saveModel(ctx, spec, model, saveOptionsOf(data, draft), entry)
	if err != nil {
		entry.WithError(err).Error("Save failed")
		return messageReply("保存失败：" + err.Error())
	}
	if len(errs) > 0 {
		return failureReply(errs, nil)
	}
	return successReply([]successEntity{saved})
}

// batchSave saves each model of data.Model on its own, the way Kingdee's
// BatchSave reports a result per model: failures carry the model's DIndex
// and do not undo the models saved before them.
func (s *Simulator) batchSave(ctx context.Context, spec *formSpec, data map[string]any, entry *logrus.Entry) reply {
	value, _ := fieldOf(data, "Model")
	list, ok := value.([]any)
	if !ok {
		return messageReply("BatchSave 的 Model 必须是数组。")
	}
	var (
		saved []successEntity
		errs  []replyError
	)
	for i, item := range list {
		model, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, replyError{Message: "Model 的元素必须是对象。", DIndex: i})
			continue
		}
		opts := saveOptionsOf(data, false)
		opts.index = i
		entity, modelErrs, err := s.saveModel(ctx, spec, model, opts, entry)
		switch {
		case err != nil:
			entry.WithError(err).Error("BatchSave of one model failed")
			errs = append(errs, replyError{Message: "保存失败：" + err.Error(), DIndex: i})
		case len(modelErrs) > 0:
			errs = append(errs, modelErrs...)
		default:
			saved = append(saved, entity)
		}
	}
	if len(errs) > 0 {
		return failureReply(errs, saved)
	}
	return successReply(saved)
}

// saveModel creates or updates one document in a transaction. It returns
// the saved entity, or the field errors that rejected the model, or an
// error when the database failed.
func (s *Simulator) saveModel(ctx context.Context, spec *formSpec, model map[string]any, opts saveOptions, entry *logrus.Entry) (successEntity, []replyError, error) {
	var (
		saved   successEntity
		errs    []replyError
		created bool
	)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		id := modelID(spec, model)
		if id > 0 {
			saved, errs, err = s.updateModel(ctx, tx, spec, id, model, opts)
		} else {
			saved, errs, err = s.createModel(ctx, tx, spec, model, opts)
			created = true
		}
		if err == nil && len(errs) > 0 {
			return errRejected
		}
		return err
	})
	if errors.Is(err, errRejected) {
		return successEntity{}, errs, nil
	}
	if err != nil && isUniqueViolation(err) {
		// A concurrent Save of the same number won the race.
		return successEntity{}, []replyError{duplicateError(spec, stringAt(model, spec.numberField), opts.index)}, nil
	}
	if err != nil {
		return successEntity{}, nil, err
	}
	verb := "Updated"
	if created {
		verb = "Created"
	}
	entry.WithFields(logrus.Fields{logging.KeyDocumentNo: saved.Number, logging.KeyFormID: spec.id}).Info(verb + " document")
	return saved, nil, nil
}

// modelID returns the FID (or the form's own id field) of a model, 0 when
// the model has none and so creates a new document.
func modelID(spec *formSpec, model map[string]any) int64 {
	for _, key := range []string{spec.idField, "FID"} {
		value, ok := fieldOf(model, key)
		if !ok {
			continue
		}
		if id, ok := toDecimal(value); ok && id.IsPositive() {
			return id.IntPart()
		}
	}
	return 0
}

func (s *Simulator) createModel(ctx context.Context, tx bun.Tx, spec *formSpec, model map[string]any, opts saveOptions) (successEntity, []replyError, error) {
	number := stringAt(model, spec.numberField)
	if number == "" {
		next, err := nextNumber(ctx, tx, spec)
		if err != nil {
			return successEntity{}, nil, err
		}
		number = next
		setField(model, spec.numberField, number)
	}
	if !opts.draft {
		errs, err := s.validate(ctx, tx, spec, model, opts.index)
		if err != nil || len(errs) > 0 {
			return successEntity{}, errs, err
		}
	}
	computeTotals(spec, model)

	if _, exists, err := findByNumber(ctx, tx, spec.id, number); err != nil {
		return successEntity{}, nil, err
	} else if exists {
		return successEntity{}, []replyError{duplicateError(spec, number, opts.index)}, nil
	}

	now := wallClock(time.Now())
	doc := &document{
		FormID:         spec.id,
		Number:         number,
		DocumentStatus: StatusCreated,
		ContractNo:     stringAt(model, ContractNoField),
		CreatedAt:      now,
		ModifiedAt:     now,
	}
	if opts.draft {
		doc.DocumentStatus = StatusDraft
	}
	switch spec.id {
	case FormProductionOrder:
		doc.Status = ProductionPlanned
	case FormReceivable:
		doc.WrittenOffStatus = WriteOffNone
	}
	if err := doc.setModel(model); err != nil {
		return successEntity{}, nil, err
	}
	if _, err := tx.NewInsert().Model(doc).Exec(ctx); err != nil {
		return successEntity{}, nil, fmt.Errorf("insert %s %s: %w", spec.id, number, err)
	}
	if err := simulators.Record(ctx, tx, System, string(spec.kind), number, ledgerContractNo(spec, doc), ledgerDetail(spec, doc, model)); err != nil {
		return successEntity{}, nil, err
	}
	return successEntity{ID: doc.ID, Number: number, DIndex: opts.index}, nil, nil
}

func (s *Simulator) updateModel(ctx context.Context, tx bun.Tx, spec *formSpec, id int64, model map[string]any, opts saveOptions) (successEntity, []replyError, error) {
	doc, found, err := findByID(ctx, tx, spec.id, id)
	if err != nil {
		return successEntity{}, nil, err
	}
	if !found {
		return successEntity{}, []replyError{{FieldName: spec.idField, Message: fmt.Sprintf("内码为 %d 的单据不存在。", id), DIndex: opts.index}}, nil
	}
	if doc.DocumentStatus == StatusAuditing || doc.DocumentStatus == StatusAudited {
		return successEntity{}, []replyError{{Message: fmt.Sprintf("单据“%s”已提交或已审核，不能修改。", doc.Number), DIndex: opts.index}}, nil
	}
	merged, err := doc.model()
	if err != nil {
		return successEntity{}, nil, err
	}
	mergeModel(merged, model, spec, opts.needUpdate)

	number := stringAt(merged, spec.numberField)
	if number == "" {
		number = doc.Number
		setField(merged, spec.numberField, number)
	}
	if number != doc.Number {
		if _, exists, err := findByNumber(ctx, tx, spec.id, number); err != nil {
			return successEntity{}, nil, err
		} else if exists {
			return successEntity{}, []replyError{duplicateError(spec, number, opts.index)}, nil
		}
	}
	if !opts.draft {
		errs, err := s.validate(ctx, tx, spec, merged, opts.index)
		if err != nil || len(errs) > 0 {
			return successEntity{}, errs, err
		}
		if doc.DocumentStatus == StatusDraft {
			doc.DocumentStatus = StatusCreated
		}
	}
	computeTotals(spec, merged)
	doc.Number = number
	doc.ContractNo = stringAt(merged, ContractNoField)
	doc.ModifiedAt = wallClock(time.Now())
	if err := doc.setModel(merged); err != nil {
		return successEntity{}, nil, err
	}
	if err := updateDocument(ctx, tx, doc); err != nil {
		return successEntity{}, nil, err
	}
	return successEntity{ID: doc.ID, Number: doc.Number, DIndex: opts.index}, nil, nil
}

// mergeModel copies the fields of update into stored: the fields listed in
// needUpdate, or every field when the list is empty. Entry collections are
// replaced whole, as Kingdee does with IsDeleteEntry true (its default).
func mergeModel(stored, update map[string]any, spec *formSpec, needUpdate []string) {
	if len(needUpdate) == 0 {
		for key, value := range update {
			if strings.EqualFold(key, spec.idField) || strings.EqualFold(key, "FID") {
				continue
			}
			setField(stored, key, value)
		}
		return
	}
	for _, field := range needUpdate {
		// "FEntity.FQty" names a field inside an entry, and the whole entry
		// collection is taken from the update.
		top, _, _ := strings.Cut(field, ".")
		if value, ok := fieldOf(update, top); ok {
			setField(stored, top, value)
		}
	}
}

func duplicateError(spec *formSpec, number string, index int) replyError {
	message := fmt.Sprintf("单据编号“%s”已经存在，不能重复保存。", number)
	if spec.id == FormCustomer {
		message = fmt.Sprintf("编码“%s”已经被使用，违反编码唯一性要求。", number)
	}
	return replyError{FieldName: spec.numberField, Message: message, DIndex: index}
}

// isUniqueViolation reports whether err is SQLite's unique-constraint
// failure, which a concurrent insert of the same number causes.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// nextNumber assigns a number to a model that has none: the form's prefix
// and the next id, the way a Kingdee coding rule numbers new documents.
func nextNumber(ctx context.Context, tx bun.Tx, spec *formSpec) (string, error) {
	var maxID int64
	if err := tx.NewSelect().Model((*document)(nil)).ColumnExpr("COALESCE(MAX(d.id), 0)").Scan(ctx, &maxID); err != nil {
		return "", fmt.Errorf("assign a number for %s: %w", spec.id, err)
	}
	return fmt.Sprintf("%s%06d", spec.prefix, maxID+1), nil
}

// validate checks required fields, customer references and the sources of
// a receive bill. Each error names the field, and an error in an entry line
// also names the line in its message ("第2行"), as Kingdee does.
func (s *Simulator) validate(ctx context.Context, db bun.IDB, spec *formSpec, model map[string]any, index int) ([]replyError, error) {
	var errs []replyError
	check := func(object map[string]any, req requirement, line int) {
		prefix := ""
		if line > 0 {
			prefix = fmt.Sprintf("第%d行：", line)
		}
		value := stringAt(object, req.path)
		if value == "" {
			errs = append(errs, replyError{FieldName: req.field, Message: fmt.Sprintf("%s字段“%s”是必填项。", prefix, req.field), DIndex: index})
			return
		}
		if req.positive {
			if d, ok := decimalAt(object, req.path); !ok || !d.IsPositive() {
				errs = append(errs, replyError{FieldName: req.field, Message: fmt.Sprintf("%s字段“%s”必须是大于 0 的数字。", prefix, req.field), DIndex: index})
			}
		}
	}

	// Totals computed from entries must exist before the header check.
	computeTotals(spec, model)
	for _, req := range spec.header {
		check(model, req, 0)
	}
	if spec.customerField.path != "" {
		check(model, spec.customerField, 0)
		if number := stringAt(model, spec.customerField.path); number != "" {
			customer, found, err := findByNumber(ctx, db, FormCustomer, number)
			if err != nil {
				return nil, err
			}
			if !found || customer.DocumentStatus != StatusAudited {
				errs = append(errs, replyError{FieldName: spec.customerField.field, Message: fmt.Sprintf("客户“%s”不存在或未审核。", number), DIndex: index})
			}
		}
	}
	if spec.entry != "" {
		lines := entriesAt(model, spec.entry)
		if len(lines) == 0 {
			errs = append(errs, replyError{FieldName: spec.entry, Message: fmt.Sprintf("单据体“%s”至少需要一行。", spec.entry), DIndex: index})
		}
		for i, line := range lines {
			for _, req := range spec.entryFields {
				check(line, req, i+1)
			}
		}
		if spec.id == FormReceiveBill {
			sourceErrs, err := checkReceiveSources(ctx, db, model, lines, index)
			if err != nil {
				return nil, err
			}
			errs = append(errs, sourceErrs...)
		}
	}
	return errs, nil
}

// checkReceiveSources requires every receivable a receive bill settles to
// exist, be audited and belong to the bill's customer.
func checkReceiveSources(ctx context.Context, db bun.IDB, model map[string]any, lines []map[string]any, index int) ([]replyError, error) {
	var errs []replyError
	customer := stringAt(model, "FCONTACTUNIT.FNumber")
	for i, line := range lines {
		number := stringAt(line, "FSRCBILLNO")
		if number == "" {
			continue
		}
		receivable, found, err := findByNumber(ctx, db, FormReceivable, number)
		if err != nil {
			return nil, err
		}
		if !found || receivable.DocumentStatus != StatusAudited {
			errs = append(errs, replyError{FieldName: "FSRCBILLNO", Message: fmt.Sprintf("第%d行：应收单“%s”不存在或未审核。", i+1, number), DIndex: index})
			continue
		}
		stored, err := receivable.model()
		if err != nil {
			return nil, err
		}
		if owner := stringAt(stored, "FCUSTOMERID.FNumber"); customer != "" && owner != customer {
			errs = append(errs, replyError{FieldName: "FSRCBILLNO", Message: fmt.Sprintf("第%d行：应收单“%s”属于客户“%s”，与收款单的往来单位不一致。", i+1, number, owner), DIndex: index})
		}
	}
	return errs, nil
}

// computeTotals fills the header totals Kingdee computes from the lines:
// the tax-inclusive total of a sales order, the total of a receivable with
// lines and the received amount of a receive bill.
func computeTotals(spec *formSpec, model map[string]any) {
	switch spec.id {
	case FormSalesOrder:
		total, ok := sumLines(entriesAt(model, "FSaleOrderEntry"), func(line map[string]any) (decimal.Decimal, bool) {
			if amount, ok := decimalAt(line, "FAllAmount"); ok {
				return amount, true
			}
			qty, okQty := decimalAt(line, "FQty")
			price, okPrice := decimalAt(line, "FTaxPrice")
			return qty.Mul(price), okQty && okPrice
		})
		if ok {
			setAt(model, "FSaleOrderFinance.FBillAllAmount", amount(total))
		}
	case FormReceivable:
		total, ok := sumLines(entriesAt(model, "FEntityDetail"), func(line map[string]any) (decimal.Decimal, bool) {
			return decimalAt(line, "FALLAMOUNTFOR")
		})
		if ok {
			setField(model, "FALLAMOUNTFOR", amount(total))
		}
	case FormReceiveBill:
		total, ok := sumLines(entriesAt(model, "FRECEIVEBILLSRCENTRY"), func(line map[string]any) (decimal.Decimal, bool) {
			return decimalAt(line, "FREALRECAMOUNT")
		})
		if ok {
			setField(model, "FRECAMOUNTFOR", amount(total))
		}
	}
}

// sumLines adds the amount of every line. ok is false when there are no
// lines or a line has no amount.
func sumLines(lines []map[string]any, amountOf func(map[string]any) (decimal.Decimal, bool)) (decimal.Decimal, bool) {
	if len(lines) == 0 {
		return decimal.Zero, false
	}
	total := decimal.Zero
	for _, line := range lines {
		value, ok := amountOf(line)
		if !ok {
			return decimal.Zero, false
		}
		total = total.Add(value)
	}
	return total, true
}

// ledgerContractNo is the contract number recorded in the ledger. A
// customer, or a price list written without a contract, belongs to no
// single contract, so its entry carries the document's own number instead,
// and the ledger's duplicate count still finds one created twice.
func ledgerContractNo(spec *formSpec, doc *document) string {
	if doc.ContractNo == "" && (spec.id == FormCustomer || spec.id == FormPriceList) {
		return doc.Number
	}
	return doc.ContractNo
}

// ledgerDetail is a short JSON summary of a created document.
func ledgerDetail(spec *formSpec, doc *document, model map[string]any) string {
	detail := map[string]any{"form_id": spec.id, "id": strconv.FormatInt(doc.ID, 10)}
	if spec.customerField.path != "" {
		detail["customer"] = stringAt(model, spec.customerField.path)
	}
	for _, path := range []string{"FSaleOrderFinance.FBillAllAmount", "FALLAMOUNTFOR", "FRECAMOUNTFOR"} {
		if total := stringAt(model, path); total != "" {
			detail["total"] = total
		}
	}
	if spec.id == FormCustomer {
		detail["name"] = stringAt(model, "FName")
	}
	if spec.id == FormPriceList {
		if lines := entriesAt(model, "FEntity"); len(lines) > 0 {
			detail["material"] = stringAt(lines[0], "FMaterialId.FNumber")
			detail["price"] = stringAt(lines[0], "FPrice")
		}
	}
	encoded, _ := json.Marshal(detail)
	return string(encoded)
}
