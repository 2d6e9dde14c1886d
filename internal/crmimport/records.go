package crmimport

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/contracts"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// hashVersion starts every content hash. Changing what a hash covers must
// change it, so every record is rewritten once instead of compared wrongly.
const hashVersion = "crm-v1"

// contentHash hashes the fields of a record that come from the export or
// the import options. Fields are separated by the ASCII unit separator,
// which readTable rejects inside values, so different records never
// serialise alike.
func contentHash(fields ...string) string {
	h := sha256.New()
	h.Write([]byte(hashVersion))
	for _, f := range fields {
		h.Write([]byte{0x1f})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func formatInt(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

func formatNullDecimal(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return d.Decimal.String()
}

func accountRecord(row AccountRow, now time.Time) store.Account {
	a := store.Account{
		Name:            row.Name,
		CustomerNo:      numbering.CustomerNo(row.Name),
		Sector:          row.Sector,
		YearEstablished: row.YearEstablished,
		RevenueMUSD:     row.RevenueMUSD,
		Employees:       row.Employees,
		OfficeLocation:  row.OfficeLocation,
		SubsidiaryOf:    row.SubsidiaryOf,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	a.ContentHash = contentHash(a.Name, a.CustomerNo, a.Sector, formatInt(a.YearEstablished),
		formatNullDecimal(a.RevenueMUSD), formatInt(a.Employees), a.OfficeLocation, a.SubsidiaryOf)
	return a
}

func productRecord(row ProductRow, now time.Time) store.Product {
	p := store.Product{
		Name:       row.Name,
		ProductNo:  numbering.ProductNo(row.Name),
		Series:     row.Series,
		SalesPrice: row.SalesPrice,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	p.ContentHash = contentHash(p.Name, p.ProductNo, p.Series, formatNullDecimal(p.SalesPrice))
	return p
}

func agentRecord(row AgentRow, now time.Time) store.SalesAgent {
	a := store.SalesAgent{
		Name:           row.Name,
		Manager:        row.Manager,
		RegionalOffice: row.RegionalOffice,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	a.ContentHash = contentHash(a.Name, a.Manager, a.RegionalOffice)
	return a
}

// deal is the records one pipeline row becomes.
type deal struct {
	row         *OpportunityRow
	opportunity store.Opportunity
	// contract and instalments are set for a Won row that passed every
	// check; contractRejected for a Won row that did not.
	contract         *store.Contract
	instalments      []store.PaymentInstalment
	contractRejected bool
	// lead is set for an open deal. leadDated is true when its assigned_at
	// comes from the engage date rather than the import time.
	lead      *store.Lead
	leadDated bool
}

// mapper turns validated pipeline rows into records.
type mapper struct {
	opts   Options
	issues *issueList
	ratios []decimal.Decimal
}

func newMapper(opts Options, issues *issueList) *mapper {
	ratios := make([]decimal.Decimal, len(opts.Plan))
	for i, inst := range opts.Plan {
		ratios[i] = inst.Ratio
	}
	return &mapper{opts: opts, issues: issues, ratios: ratios}
}

func (m *mapper) deal(row *OpportunityRow) deal {
	now := m.opts.Now
	d := deal{row: row, contractRejected: row.ContractRejected}
	d.opportunity = store.Opportunity{
		OpportunityID: row.ID,
		SalesAgent:    row.SalesAgent,
		ProductName:   row.Product,
		AccountName:   row.Account,
		DealStage:     row.Stage,
		EngageDate:    row.EngageDate,
		CloseDate:     row.CloseDate,
		CloseValue:    row.CloseValue,
		Currency:      m.opts.Currency,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	o := &d.opportunity
	o.ContentHash = contentHash(o.OpportunityID, o.SalesAgent, o.ProductName, o.AccountName, o.DealStage,
		formatDate(o.EngageDate), formatDate(o.CloseDate), formatNullDecimal(o.CloseValue), o.Currency)

	switch {
	case row.Stage == store.StageWon && !row.ContractRejected:
		m.contract(&d)
	case isOpen(row.Stage):
		m.lead(&d)
	}
	return d
}

// contract builds the contract of a Won row with contracts.Build. A
// missing tax rate or code rejects the contract, because an invoice cannot
// be issued without them.
func (m *mapper) contract(d *deal) {
	row := d.row
	c, plan, err := contracts.Build(contracts.Deal{
		OpportunityID: row.ID,
		AccountName:   row.Account,
		ProductName:   row.Product,
		SalesAgent:    row.SalesAgent,
		Amount:        row.CloseValue.Decimal,
		Currency:      m.opts.Currency,
		SignedOn:      *row.CloseDate,
		Source:        store.SourceCRMImport,
	}, contracts.Rules{Tax: m.opts.Tax, Plan: m.opts.Plan, ExchangeRates: m.opts.ExchangeRates}, m.opts.Now)
	if err != nil {
		column, value := "close_value", row.CloseValue.Decimal.String()
		if fe, ok := contracts.IsFieldError(err); ok {
			switch fe.Field {
			case "product":
				column, value = "product", row.Product
			case "signed_on":
				column, value = "close_date", formatDate(row.CloseDate)
			case "account":
				column, value = "account", row.Account
			}
		}
		m.rejectContract(d, column, value, fmt.Sprintf(
			"%v; stored the opportunity but created no contract: fix it and import again", err))
		return
	}
	hashed := []string{c.ContractNo, *c.OpportunityID, c.AccountName, c.CustomerNo, c.ProductName, c.ProductNo, c.SalesAgent,
		c.Quantity.String(), c.UnitPrice.String(), c.Amount.String(), c.Currency, c.TaxRate.String(), c.TaxCode,
		formatDate(&c.SignedOn)}
	for _, inst := range plan {
		hashed = append(hashed, inst.Label, inst.TriggerOn, inst.Ratio.String(), inst.Amount.String())
	}
	c.ContentHash = contentHash(hashed...)
	d.contract = c
	d.instalments = plan
}

func (m *mapper) rejectContract(d *deal, column, value, message string) {
	d.contractRejected = true
	m.issues.reject(FilePipeline, d.row.Line, column, value, message)
}

// lead builds the lead of an open deal. Its hash covers the engage date,
// not assigned_at, so a lead assigned at the import time is unchanged on
// the next import.
//
// An Engaging deal has an engage date because its rep already made
// contact, so its lead is stored contacted, with the engage date as the
// first contact, and gets the follow-up rule instead of the first-contact
// one. The SLA clock of an imported lead starts when ordo stores it, not
// at the engage date: see leads.BuildInput.
func (m *mapper) lead(d *deal) {
	row := d.row
	l := &store.Lead{
		OpportunityID: row.ID,
		SalesAgent:    row.SalesAgent,
		AccountName:   row.Account,
		ProductName:   row.Product,
		Stage:         row.Stage,
		State:         store.LeadOpen,
		AssignedAt:    m.opts.Now,
		CreatedAt:     m.opts.Now,
		UpdatedAt:     m.opts.Now,
	}
	if row.EngageDate != nil {
		l.AssignedAt = *row.EngageDate
		d.leadDated = true
		if row.Stage == store.StageEngaging {
			contacted := *row.EngageDate
			l.State = store.LeadContacted
			l.FirstContactAt = &contacted
		}
	}
	l.ContentHash = contentHash(l.OpportunityID, l.SalesAgent, l.AccountName, l.ProductName, l.Stage, formatDate(row.EngageDate))
	d.lead = l
}
