package kingdee

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
)

// operation is a status change applied to listed documents.
type operation string

const (
	opSubmit     operation = "Submit"
	opAudit      operation = "Audit"
	opUnAudit    operation = "UnAudit"
	opDelete     operation = "Delete"
	opForceClose operation = "ForceClose"
)

// transition applies op to every document data names, each in its own
// transaction. The reply lists the documents that changed and an error
// with the document's DIndex for each that could not.
func (s *Simulator) transition(ctx context.Context, spec *formSpec, data map[string]any, op operation, entry *logrus.Entry) reply {
	numbers, ids, err := targetList(data)
	if err != nil {
		return messageReply("请求数据包格式错误：" + err.Error())
	}
	targets := len(numbers) + len(ids)
	var (
		done []successEntity
		errs []replyError
	)
	for i := 0; i < targets; i++ {
		var number string
		var id int64
		if numbers != nil {
			number = numbers[i]
		} else {
			id = ids[i]
		}
		changed, message, err := s.applyOne(ctx, spec, number, id, op)
		switch {
		case err != nil:
			entry.WithError(err).WithField(logging.KeyDocumentNo, number).Errorf("%s failed", op)
			errs = append(errs, replyError{Message: "操作失败：" + err.Error(), DIndex: i})
		case message != "":
			errs = append(errs, replyError{Message: message, DIndex: i})
		default:
			changed.DIndex = i
			done = append(done, changed)
			entry.WithFields(logrus.Fields{logging.KeyDocumentNo: changed.Number, logging.KeyFormID: spec.id}).Infof("%s done", op)
		}
	}
	if len(errs) > 0 {
		return failureReply(errs, done)
	}
	return successReply(done)
}

// applyOne changes one document. It returns the changed document, or a
// message saying why the document's state forbids op, or a database error.
func (s *Simulator) applyOne(ctx context.Context, spec *formSpec, number string, id int64, op operation) (successEntity, string, error) {
	var (
		changed      successEntity
		message      string
		auditedOrder int64
	)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var (
			doc   *document
			found bool
			err   error
		)
		if number != "" {
			doc, found, err = findByNumber(ctx, tx, spec.id, number)
		} else {
			doc, found, err = findByID(ctx, tx, spec.id, id)
		}
		if err != nil {
			return err
		}
		if !found {
			if number == "" {
				number = fmt.Sprintf("内码 %d", id)
			}
			message = fmt.Sprintf("单据“%s”不存在。", number)
			return errRejected
		}
		changed = successEntity{ID: doc.ID, Number: doc.Number}
		now := time.Now()

		switch op {
		case opSubmit:
			message = s.submit(doc)
		case opAudit:
			message, err = s.audit(ctx, tx, spec, doc, now)
			if message == "" && err == nil && spec.id == FormSalesOrder {
				auditedOrder = doc.ID
			}
		case opUnAudit:
			message, err = s.unAudit(ctx, tx, spec, doc)
		case opForceClose:
			message = forceClose(spec, doc)
		case opDelete:
			if message = deletable(doc); message == "" {
				if _, err := tx.NewDelete().Model(doc).WherePK().Exec(ctx); err != nil {
					return fmt.Errorf("delete %s %s: %w", spec.id, doc.Number, err)
				}
				return nil
			}
		}
		if err != nil {
			return err
		}
		if message != "" {
			return errRejected
		}
		doc.ModifiedAt = wallClock(now)
		return updateDocument(ctx, tx, doc)
	})
	if errors.Is(err, errRejected) {
		return successEntity{}, message, nil
	}
	if err != nil {
		return successEntity{}, "", err
	}
	if auditedOrder != 0 {
		s.notifySalesOrder(ctx, auditedOrder)
	}
	return changed, "", nil
}

// submit moves a saved document to B (under audit).
func (s *Simulator) submit(doc *document) string {
	switch doc.DocumentStatus {
	case StatusDraft, StatusCreated, StatusReAuditing:
		doc.DocumentStatus = StatusAuditing
		return ""
	case StatusAuditing:
		return fmt.Sprintf("单据“%s”已提交，不能重复提交。", doc.Number)
	}
	return fmt.Sprintf("单据“%s”已审核，不能提交。", doc.Number)
}

// audit moves a submitted document to C and starts what auditing starts:
// a production order is released and its completion scheduled, a receive
// bill writes off the receivables it settles.
func (s *Simulator) audit(ctx context.Context, tx bun.Tx, spec *formSpec, doc *document, now time.Time) (string, error) {
	if doc.DocumentStatus != StatusAuditing {
		if doc.DocumentStatus == StatusAudited {
			return fmt.Sprintf("单据“%s”已审核，不能重复审核。", doc.Number), nil
		}
		return fmt.Sprintf("单据“%s”未提交，不能审核。", doc.Number), nil
	}
	switch spec.id {
	case FormProductionOrder:
		doc.Status = ProductionReleased
		doc.CompleteDueAt = now.Add(s.cfg.CompletionDelay).UnixMilli()
	case FormReceiveBill:
		if message, err := applyWriteOff(ctx, tx, doc, decimal.NewFromInt(1)); message != "" || err != nil {
			return message, err
		}
	}
	doc.DocumentStatus = StatusAudited
	doc.ApprovedAt = wallClock(now)
	return "", nil
}

// unAudit moves an audited document to D, or a submitted one back to A,
// unless later work depends on it.
func (s *Simulator) unAudit(ctx context.Context, tx bun.Tx, spec *formSpec, doc *document) (string, error) {
	switch doc.DocumentStatus {
	case StatusAuditing:
		doc.DocumentStatus = StatusCreated
		return "", nil
	case StatusAudited:
	default:
		return fmt.Sprintf("单据“%s”未审核，不能反审核。", doc.Number), nil
	}
	switch spec.id {
	case FormProductionOrder:
		if doc.Status == ProductionStarted || doc.Status == ProductionCompleted || doc.Status == ProductionClosed {
			return fmt.Sprintf("生产订单“%s”已开工、完工或结案，不能反审核，请使用强制结案。", doc.Number), nil
		}
		doc.Status = ProductionPlanned
		doc.CompleteDueAt = 0
	case FormReceivable:
		if doc.WrittenOffStatus != WriteOffNone {
			return fmt.Sprintf("应收单“%s”已核销，请先反审核收款单。", doc.Number), nil
		}
	case FormReceiveBill:
		if message, err := applyWriteOff(ctx, tx, doc, decimal.NewFromInt(-1)); message != "" || err != nil {
			return message, err
		}
	}
	doc.DocumentStatus = StatusReAuditing
	doc.ApprovedAt = ""
	return "", nil
}

// forceClose closes an audited production order (结案, FStatus 6) whether
// or not it completed.
func forceClose(spec *formSpec, doc *document) string {
	if spec.id != FormProductionOrder {
		return fmt.Sprintf("表单“%s”不支持强制结案。", spec.id)
	}
	if doc.Status == ProductionClosed {
		return fmt.Sprintf("生产订单“%s”已结案。", doc.Number)
	}
	if doc.DocumentStatus != StatusAudited {
		return fmt.Sprintf("生产订单“%s”未审核，不能结案，请直接删除。", doc.Number)
	}
	doc.Status = ProductionClosed
	doc.CompleteDueAt = 0
	return ""
}

// deletable returns why a document cannot be deleted, or "" if it can.
func deletable(doc *document) string {
	switch doc.DocumentStatus {
	case StatusAuditing:
		return fmt.Sprintf("单据“%s”已提交，不能删除，请先撤销。", doc.Number)
	case StatusAudited:
		return fmt.Sprintf("单据“%s”已审核，不能删除，请先反审核。", doc.Number)
	}
	return ""
}

// applyWriteOff adds (sign 1) or removes (sign -1) a receive bill's
// amounts to the written-off amount of each receivable it settles and
// updates their FWRITTENOFFSTATUS.
func applyWriteOff(ctx context.Context, tx bun.Tx, bill *document, sign decimal.Decimal) (string, error) {
	model, err := bill.model()
	if err != nil {
		return "", err
	}
	for i, line := range entriesAt(model, "FRECEIVEBILLSRCENTRY") {
		number := stringAt(line, "FSRCBILLNO")
		paid, _ := decimalAt(line, "FREALRECAMOUNT")
		receivable, found, err := findByNumber(ctx, tx, FormReceivable, number)
		if err != nil {
			return "", err
		}
		if !found || receivable.DocumentStatus != StatusAudited {
			return fmt.Sprintf("第%d行：应收单“%s”已删除或未审核，不能核销。", i+1, number), nil
		}
		stored, err := receivable.model()
		if err != nil {
			return "", err
		}
		total, _ := decimalAt(stored, "FALLAMOUNTFOR")
		writtenOff, _ := decimalAt(stored, "FWRITTENOFFAMOUNTFOR")
		writtenOff = writtenOff.Add(paid.Mul(sign))
		if writtenOff.IsNegative() {
			writtenOff = decimal.Zero
		}
		setField(stored, "FWRITTENOFFAMOUNTFOR", amount(writtenOff))
		switch {
		case writtenOff.IsZero():
			receivable.WrittenOffStatus = WriteOffNone
		case writtenOff.GreaterThanOrEqual(total):
			receivable.WrittenOffStatus = WriteOffFull
		default:
			receivable.WrittenOffStatus = WriteOffPartial
		}
		if err := receivable.setModel(stored); err != nil {
			return "", err
		}
		receivable.ModifiedAt = wallClock(time.Now())
		if err := updateDocument(ctx, tx, receivable); err != nil {
			return "", err
		}
	}
	return "", nil
}

// view handles View: the stored model with the system fields, by Number
// or Id.
//
// NOTE: a real Kingdee returns the document object with its own property
// names, without the F prefix and with base data expanded. The simulator
// returns the saved model's field keys instead.
func (s *Simulator) view(ctx context.Context, spec *formSpec, data map[string]any, entry *logrus.Entry) reply {
	number := ""
	if value, ok := fieldOf(data, "Number"); ok {
		number, _ = value.(string)
	}

	var (
		doc   *document
		found bool
		err   error
	)
	if number != "" {
		doc, found, err = findByNumber(ctx, s.db, spec.id, number)
	} else {
		value, _ := fieldOf(data, "Id")
		id, ok := toDecimal(value)
		if !ok {
			return messageReply("请求数据包格式错误：View 需要 Number 或 Id。")
		}
		number = id.String()
		doc, found, err = findByID(ctx, s.db, spec.id, id.IntPart())
	}
	if err != nil {
		entry.WithError(err).Error("View failed")
		return messageReply("查看失败：" + err.Error())
	}
	if !found {
		return messageReply(fmt.Sprintf("单据“%s”不存在。", number))
	}

	model, err := doc.model()
	if err != nil {
		entry.WithError(err).Error("View failed")
		return messageReply("查看失败：" + err.Error())
	}
	for _, key := range []string{"FID", spec.idField, spec.numberField, "FDocumentStatus", "FCreateDate", "FModifyDate", "FApproveDate", "FStatus", "FFinishDate", "FWRITTENOFFSTATUS"} {
		if column, ok := spec.systemColumn(key); ok {
			setField(model, key, doc.columnValue(column))
		}
	}

	response := successReply(nil)
	response.Result.ResponseStatus.SuccessEntitys = []successEntity{{ID: doc.ID, Number: doc.Number}}
	response.Result.Result = model
	return response
}
