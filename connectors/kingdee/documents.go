package kingdee

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/logging"
)

// Form ids of the documents the connector writes.
const (
	FormCustomer        = "BD_Customer"
	FormSalesOrder      = "SAL_SaleOrder"
	FormProductionOrder = "PRD_MO"
	FormDelivery        = "SAL_OUTSTOCK"
	FormReceivable      = "AR_receivable"
	// FormReceiveBill is the receive bill (收款单) that writes off a
	// receivable.
	FormReceiveBill = "AR_RECEIVEBILL"
	// FormPriceList is the sales price list (销售价目表) that an approved
	// price change writes.
	FormPriceList = "BD_SAL_PriceList"
)

// Document statuses (FDocumentStatus).
const (
	statusDraft      = "Z"
	statusCreated    = "A"
	statusAuditing   = "B"
	statusAudited    = "C"
	statusReAuditing = "D"
)

// Production order statuses (PRD_MO FStatus) the connector acts on.
const (
	productionStarted   = "4"
	productionCompleted = "5"
	productionClosed    = "6"
)

// formInfo names a form's key fields.
type formInfo struct {
	id          string
	kind        connectors.DocumentKind
	numberField string
	idField     string
}

var formsByKind = map[connectors.DocumentKind]formInfo{
	connectors.KindCustomer:        {FormCustomer, connectors.KindCustomer, "FNumber", "FCUSTID"},
	connectors.KindSalesOrder:      {FormSalesOrder, connectors.KindSalesOrder, "FBillNo", "FID"},
	connectors.KindProductionOrder: {FormProductionOrder, connectors.KindProductionOrder, "FBillNo", "FID"},
	connectors.KindDelivery:        {FormDelivery, connectors.KindDelivery, "FBillNo", "FID"},
	connectors.KindReceivable:      {FormReceivable, connectors.KindReceivable, "FBillNo", "FID"},
	connectors.KindWriteOff:        {FormReceiveBill, connectors.KindWriteOff, "FBillNo", "FID"},
	connectors.KindPriceList:       {FormPriceList, connectors.KindPriceList, "FNumber", "FID"},
}

// FormID returns the Kingdee form id that holds documents of kind.
func FormID(kind connectors.DocumentKind) (string, bool) {
	form, ok := formsByKind[kind]
	return form.id, ok
}

// save sends Save for one model and returns the document's internal id.
// needUpdate, when set, limits an update (a model with its id field) to
// those fields.
func (c *Client) save(ctx context.Context, form formInfo, model map[string]any, needUpdate []string) (string, error) {
	data := map[string]any{"Model": model}
	if len(needUpdate) > 0 {
		data["NeedUpDateFields"] = needUpdate
	}
	operation := "Save " + form.id
	raw, err := c.call(ctx, operation, formService("Save"), map[string]any{"formid": form.id, "data": data})
	if err != nil {
		return "", err
	}
	result, err := decodeWrite(operation, raw)
	if err != nil {
		return "", err
	}
	id := string(result.ID)
	if id == "" && len(result.ResponseStatus.SuccessEntitys) > 0 {
		id = string(result.ResponseStatus.SuccessEntitys[0].ID)
	}
	if id == "" || id == "0" {
		return "", protocolError(operation, "Save succeeded without returning the document id", nil)
	}
	return id, nil
}

// operate runs Submit, Audit, UnAudit, Delete or the ForceClose operation
// on one document, named by number.
func (c *Client) operate(ctx context.Context, method string, form formInfo, number string) error {
	operation := method + " " + form.id
	body := map[string]any{"formid": form.id, "data": map[string]any{"Numbers": []string{number}}}
	service := formService(method)
	if method == "ForceClose" {
		// Kingdee spells the service ExcuteOperation.
		body["opNumber"] = method
		service = formService("ExcuteOperation")
	}
	raw, err := c.call(ctx, operation, service, body)
	if err != nil {
		return err
	}
	_, err = decodeWrite(operation, raw)
	return err
}

// findOrCreate looks number up and saves the model build returns when it
// is missing. A Save that fails because the number was taken in the
// meantime (a concurrent worker, or an earlier attempt whose reply was
// lost) resumes the existing document instead of failing.
func (c *Client) findOrCreate(ctx context.Context, form formInfo, number string, build func() (map[string]any, error), extra ...string) (docState, bool, error) {
	state, found, err := c.lookup(ctx, form, number, extra...)
	if err != nil || found {
		return state, false, err
	}
	return c.create(ctx, form, number, build, extra...)
}

// create saves a new document, resuming the existing one when its number
// is taken.
func (c *Client) create(ctx context.Context, form formInfo, number string, build func() (map[string]any, error), extra ...string) (docState, bool, error) {
	model, err := build()
	if err != nil {
		return docState{}, false, err
	}
	id, err := c.save(ctx, form, model, nil)
	if err == nil {
		return docState{ID: id, Number: number, Status: statusCreated, Extra: map[string]string{}}, true, nil
	}
	if !isDuplicateNumber(err, form.numberField) {
		return docState{}, false, err
	}
	c.docLog(form, number).Info("Number already taken; resuming the existing document")
	state, found, lookupErr := c.lookup(ctx, form, number, extra...)
	if lookupErr != nil {
		return docState{}, false, lookupErr
	}
	if !found {
		return docState{}, false, err
	}
	return state, false, nil
}

// driveToAudited takes a document from any status to audited (C): a draft
// is saved with the full model, then it is submitted and audited. When a
// step is refused because the document moved on in the meantime, the step
// starts over from the current status.
func (c *Client) driveToAudited(ctx context.Context, form formInfo, state docState, build func() (map[string]any, error)) (docState, error) {
	// Each status needs at most three steps, and the extra rounds absorb
	// changes made by a concurrent caller.
	for round := 0; round < 6; round++ {
		var (
			err  error
			next string
		)
		switch state.Status {
		case statusAudited:
			return state, nil
		case statusDraft:
			err = c.saveDraft(ctx, form, state, build)
			next = statusCreated
		case statusCreated, statusReAuditing:
			err = c.operate(ctx, "Submit", form, state.Number)
			next = statusAuditing
		case statusAuditing:
			err = c.operate(ctx, "Audit", form, state.Number)
			next = statusAudited
		default:
			return state, protocolError("Audit "+form.id, fmt.Sprintf("%s %s has unknown FDocumentStatus %q", form.id, state.Number, state.Status), nil)
		}
		if err == nil {
			state.Status = next
			continue
		}
		if connectors.KindOf(err) != connectors.KindConflict {
			return state, err
		}
		fresh, found, lookupErr := c.lookup(ctx, form, state.Number)
		if lookupErr != nil {
			return state, lookupErr
		}
		if !found {
			return state, notFoundError("Audit "+form.id, form.id, state.Number)
		}
		if fresh.Status == state.Status {
			return state, err
		}
		c.docLog(form, state.Number).WithField(logging.KeyError, err.Error()).
			Infof("Document moved from status %s to %s meanwhile; continuing", state.Status, fresh.Status)
		fresh.Extra = state.Extra
		state = fresh
	}
	return state, &connectors.Error{
		Kind:      connectors.KindConflict,
		Connector: ConnectorName,
		Operation: "Audit " + form.id,
		Message:   fmt.Sprintf("%s %s kept changing status and did not reach audited", form.id, state.Number),
	}
}

// saveDraft saves a draft (Z) document again with the full model, which
// validates it and moves it to created (A), as Kingdee requires before
// Submit.
func (c *Client) saveDraft(ctx context.Context, form formInfo, state docState, build func() (map[string]any, error)) error {
	model, err := build()
	if err != nil {
		return err
	}
	model[form.idField] = idValue(state.ID)
	_, err = c.save(ctx, form, model, nil)
	return err
}

// ensure is the Ensure flow shared by every document kind.
func (c *Client) ensure(ctx context.Context, kind connectors.DocumentKind, number string, build func() (map[string]any, error)) (connectors.Document, error) {
	form := formsByKind[kind]
	if number == "" {
		return connectors.Document{}, validationError("Save "+form.id, form.numberField, "the document number is empty; ordo derives it from the contract number and the step")
	}
	// Saving before looking up saves a round trip on the usual path, a
	// document that does not exist yet. When an earlier attempt created it,
	// the duplicate-number answer leads to the lookup and a resume.
	state, created, err := c.create(ctx, form, number, build)
	if err != nil {
		return connectors.Document{}, err
	}
	if state, err = c.driveToAudited(ctx, form, state, build); err != nil {
		return connectors.Document{}, err
	}
	return c.document(form, state, created), nil
}

func (c *Client) document(form formInfo, state docState, created bool) connectors.Document {
	if created {
		c.docLog(form, state.Number).Info("Created and audited document")
	} else {
		c.docLog(form, state.Number).Debug("Found audited document")
	}
	return connectors.Document{
		Kind:    form.kind,
		FormID:  form.id,
		Number:  state.Number,
		ID:      state.ID,
		Status:  state.Status,
		Created: created,
	}
}

func (c *Client) docLog(form formInfo, number string) *logrus.Entry {
	return c.log.WithFields(logrus.Fields{logging.KeyFormID: form.id, logging.KeyDocumentNo: number})
}
