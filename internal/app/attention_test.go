package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	banksim "github.com/ordo-project/ordo/internal/simulators/bank"
	"github.com/ordo-project/ordo/internal/store"
)

// quickParking parks a chain after two failed attempts about a second
// apart, instead of after eight attempts over minutes.
func quickParking(cfg *config.Config) {
	cfg.Chain.RetryMaxAttempts = 2
	cfg.Chain.RetryMaxInterval = time.Second
}

// TestParkAndResume breaks the ERP until a chain parks for a person,
// repairs it, resumes the chain through the API and checks that it
// closes with one document per step.
func TestParkAndResume(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{LocalActivities: true, Configure: quickParking})
	no := parkAndResume(t, s, "CT-PARKED0001")

	view := getContract(t, s.API, no, false)
	checkClosedContract(t, view)
	checkLedgerOnePerStep(t, readLedger(t, s.DataDir), []string{no})
	parked := attentionOf(view, store.AttentionChainParked)
	if parked == nil {
		t.Fatalf("contract %s has no %s attention item:\n%s", no, store.AttentionChainParked, describeContract(view))
	}
	if parked.ResolvedAt == nil {
		t.Errorf("attention item %s of contract %s is still open after the resume", parked.Reference, no)
	}
}

// parkAndResume makes every ERP call fail, posts a contract, waits until
// its chain parks, repairs the ERP, resumes the chain and waits until it
// closes. It returns the contract number.
func parkAndResume(t testing.TB, s *stack, no string) string {
	t.Helper()
	setERPFaults(t, s.Config, simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultServerError}})
	postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(no, 0))
	view := waitForState(t, s.API, no, store.ContractNeedsAttention, 30*time.Second)
	if parked := attentionOf(view, store.AttentionChainParked); parked == nil || parked.ResolvedAt != nil {
		t.Fatalf("contract %s needs attention without an open %s item:\n%s", no, store.AttentionChainParked, describeContract(view))
	}

	setERPFaults(t, s.Config, simulators.FaultConfig{})
	request := api.ActionRequest{Reason: "ERP is back", By: "integration test"}
	if err := s.API.Post(context.Background(), "/api/v1/contracts/"+no+"/resume", request, nil); err != nil {
		t.Fatalf("resume contract %s: %v", no, err)
	}
	waitForState(t, s.API, no, store.ContractClosed, 30*time.Second)
	return no
}

// TestOverpaymentCloses runs a contract whose customer pays more than the
// total and checks that the chain closes and hands the excess to a person.
func TestOverpaymentCloses(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{LocalActivities: true})
	no := overpayingContractNo("CT-OVERPAID")
	postSignedEvent(t, s.APIURL, s.Secret, sampleEvent(no, 0))
	view := waitForState(t, s.API, no, store.ContractClosed, 30*time.Second)

	checkClosedContract(t, view)
	c := view.Contract
	if !c.PaidAmount.GreaterThan(c.Amount) {
		t.Errorf("contract %s was paid %s of %s, expected more than the total", no, c.PaidAmount, c.Amount)
	}
	overpaid := attentionOf(view, store.AttentionOverpayment)
	if overpaid == nil {
		t.Fatalf("contract %s has no %s attention item:\n%s", no, store.AttentionOverpayment, describeContract(view))
	}
	if excess := c.PaidAmount.Sub(c.Amount); !overpaid.Amount.Decimal.Equal(excess) {
		t.Errorf("over-payment item of %s is %s, expected the excess %s", no, overpaid.Amount.Decimal, excess)
	}
	writeOff := stepOf(view, activities.StepWriteOff)
	if writeOff == nil || !writeOff.Amount.Decimal.Equal(c.Amount) {
		t.Errorf("contract %s write-off %+v, expected the contract total %s, not the amount paid", no, writeOff, c.Amount)
	}
}

// Salts of the bank simulator's per-contract behaviours, as in
// internal/simulators/bank/customers.go.
const (
	saltOverpay  = "bank.overpay"
	saltPartial  = "bank.partial"
	saltCombined = "bank.combined"
	saltNoRemark = "bank.no_remark"
)

// overpayingContractNo returns the first contract number prefix0001,
// prefix0002, … whose simulated customer pays the balance in one line,
// with the contract number in the remark and an extra amount on top.
func overpayingContractNo(prefix string) string {
	b := banksim.DefaultBehaviour()
	for i := 1; ; i++ {
		no := fmt.Sprintf("%s%04d", prefix, i)
		if simulators.Chance(no, saltOverpay, b.OverpayRate) &&
			!simulators.Chance(no, saltPartial, b.PartialRate) &&
			!simulators.Chance(no, saltCombined, b.CombinedRate) &&
			!simulators.Chance(no, saltNoRemark, b.NoRemarkRate) {
			return no
		}
	}
}

// setERPFaults replaces the fault configuration of the stack's Kingdee
// simulator through its admin API.
func setERPFaults(t testing.TB, cfg *config.Config, faults simulators.FaultConfig) {
	t.Helper()
	body, err := json.Marshal(faults)
	if err != nil {
		t.Fatalf("encode fault configuration: %v", err)
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+cfg.Sim.Kingdee.Address+"/sim/faults", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build fault request: %v", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("set ERP simulator faults: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set ERP simulator faults: HTTP %d", resp.StatusCode)
	}
}

func attentionOf(view api.ContractView, kind string) *store.AttentionItem {
	for i := range view.Attention {
		if view.Attention[i].Kind == kind {
			return &view.Attention[i]
		}
	}
	return nil
}

func stepOf(view api.ContractView, step string) *store.ContractStep {
	for i := range view.Steps {
		if view.Steps[i].Step == step {
			return &view.Steps[i]
		}
	}
	return nil
}
