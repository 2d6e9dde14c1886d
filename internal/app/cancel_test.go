package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// TestCancelAfterInvoice cancels a chain through the API once its invoice
// is issued, and checks that the chain reversed everything it created: a
// red-letter invoice offsets the blue one and the ERP documents are
// deleted or closed.
func TestCancelAfterInvoice(t *testing.T) {
	s := startStack(t, stackOptions{LocalActivities: true, Configure: func(cfg *config.Config) {
		// Customers pay long after the test ends, so the chain still waits
		// for the balance when the cancellation arrives.
		cfg.Sim.Bank.PaymentDelay = 10 * time.Minute
	}})
	no := "CT-CANCEL0001"
	postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(no, 0))
	waitForState(t, s.API, no, store.ContractInvoiced, 30*time.Second)

	request := api.ActionRequest{Reason: "customer withdrew the order", By: "integration test"}
	if err := s.API.Post(context.Background(), "/api/v1/contracts/"+no+"/cancel", request, nil); err != nil {
		t.Fatalf("cancel contract %s: %v", no, err)
	}
	view := waitForState(t, s.API, no, store.ContractCancelled, 30*time.Second)

	steps := map[string]store.ContractStep{}
	for _, step := range view.Steps {
		steps[step.Step] = step
	}
	for _, name := range []string{
		activities.StepCancelInvoice, activities.StepCancelReceivable, activities.StepCancelDelivery,
		activities.StepCancelProductionOrder, activities.StepCancelSalesOrder,
	} {
		if steps[name].State != store.StepDone {
			t.Errorf("compensation step %s is %q, expected done:\n%s", name, steps[name].State, describeContract(view))
		}
	}
	if steps[activities.StepWriteOff].State != "" {
		t.Errorf("cancelled chain recorded a write-off step: %+v", steps[activities.StepWriteOff])
	}

	index := indexLedger(readLedger(t, s.DataDir))
	if n := index["einvoice/invoice"][no]; n != 1 {
		t.Errorf("ledger has %d blue invoices for %s, expected 1", n, no)
	}
	if n := index["einvoice/red_invoice"][no]; n != 1 {
		t.Errorf("ledger has %d red invoices for %s, expected 1", n, no)
	}
	if n := index["kingdee/write_off"][no]; n != 0 {
		t.Errorf("ledger has %d write-offs for cancelled contract %s, expected none", n, no)
	}

	erp := newERPClient(t, s.Config)
	for kind, number := range map[connectors.DocumentKind]string{
		connectors.KindSalesOrder: numbering.SalesOrderNo(no),
		connectors.KindDelivery:   numbering.DeliveryNo(no),
		connectors.KindReceivable: numbering.ReceivableNo(no),
	} {
		if doc, found := erpDocument(t, erp, kind, number, "FDocumentStatus"); found {
			t.Errorf("%s %s is still in the ERP with status %s, expected it deleted", kind, number, doc["FDocumentStatus"])
		}
	}
	production := numbering.ProductionOrderNo(no)
	doc, found := erpDocument(t, erp, connectors.KindProductionOrder, production, "FStatus")
	if found && doc["FStatus"] != "6" {
		t.Errorf("production order %s has FStatus %s, expected 6 (closed) or deleted", production, doc["FStatus"])
	}
}
