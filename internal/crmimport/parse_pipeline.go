package crmimport

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/store"
)

// maxOpportunityIDLength bounds an opportunity id, which becomes part of a
// contract number, a Temporal workflow id and the numbers of documents in
// the ERP.
const maxOpportunityIDLength = 64

// Bounds of a Won deal's close value relative to the product's list price.
// Outside them the value is kept but reported as a likely typing error.
// NOTE: the bounds are a judgment: the sample export's Won deals lie
// between 66% and 134% of the list price, so these flag only gross errors
// such as a missing or extra digit.
var (
	minPriceRatio = decimal.RequireFromString("0.5")
	maxPriceRatio = decimal.NewFromInt(2)
)

var stageVocabulary = newVocabulary([]string{store.StageProspecting, store.StageEngaging, store.StageWon, store.StageLost})

// opportunity validates a row of sales_pipeline.csv. Which defects stop a
// contract depends on the deal stage, so the stage is read first.
func (p *parser) opportunity(rec record) (OpportunityRow, bool) {
	const file = FilePipeline
	f := rec.fields
	row := OpportunityRow{Line: rec.line, ID: f[0]}

	if !p.opportunityID(rec.line, row.ID) {
		return row, false
	}
	stage, ok := p.stage(rec.line, f[4])
	if !ok {
		return row, false
	}
	row.Stage = stage

	row.SalesAgent = p.agentReference(&row, f[1])
	row.Product = p.productReference(&row, f[2])
	row.Account = p.accountReference(&row, f[3])
	row.EngageDate = p.engageDate(&row, f[5])
	row.CloseDate = p.closeDate(&row, f[6])
	row.CloseValue = p.closeValue(&row, f[7])
	if row.CloseDate != nil && row.EngageDate != nil && row.CloseDate.Before(*row.EngageDate) {
		p.issues.warn(file, rec.line, "close_date", formatDate(row.CloseDate), ActionKept, fmt.Sprintf(
			"close_date %s is before engage_date %s; kept both: correct the dates in the CRM",
			formatDate(row.CloseDate), formatDate(row.EngageDate)))
	}
	return row, true
}

// isOpen reports whether a stage is an open deal that becomes a lead.
func isOpen(stage string) bool {
	return stage == store.StageProspecting || stage == store.StageEngaging
}

// rejectContract records why a Won row cannot become a contract. The
// opportunity itself is still stored, so the deal stays visible.
func (p *parser) rejectContract(row *OpportunityRow, column, value, problem string) {
	row.ContractRejected = true
	p.issues.reject(FilePipeline, row.Line, column, value,
		problem+"; stored the opportunity but created no contract: correct the deal in the CRM and import again")
}

func (p *parser) opportunityID(line int, id string) bool {
	const column = "opportunity_id"
	if id == "" {
		p.rejectRow(FilePipeline, line, column, "", "opportunity_id is empty; row not imported: export the deal with its CRM id")
		return false
	}
	if len(id) > maxOpportunityIDLength || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) {
		p.rejectRow(FilePipeline, line, column, id, fmt.Sprintf(
			"opportunity_id %q is not an id of at most %d letters, digits, '-', '_' or '.'; row not imported: it would become part of a contract number",
			id, maxOpportunityIDLength))
		return false
	}
	// Contract numbers are upper case, so ids differing only in case would
	// share a contract.
	if earlier := firstRow(p.opportunities, strings.ToUpper(id), id, line); earlier != 0 {
		p.rejectRow(FilePipeline, line, column, id, fmt.Sprintf(
			"opportunity_id %q is already on line %d (ids are compared ignoring case); row not imported, the row on line %d was: remove the duplicate from the export",
			id, earlier, earlier))
		return false
	}
	return true
}

func (p *parser) stage(line int, text string) (string, bool) {
	const column = "deal_stage"
	stage, kind := stageVocabulary.match(text)
	switch kind {
	case matchExact:
		return stage, true
	case matchCase, matchNear:
		p.issues.warn(FilePipeline, line, column, text, ActionCorrected,
			fmt.Sprintf("deal_stage %q is not spelled as a CRM stage; corrected it to %q", text, stage))
		return stage, true
	}
	p.rejectRow(FilePipeline, line, column, text, fmt.Sprintf(
		"deal_stage %q is not one of Prospecting, Engaging, Won, Lost; row not imported: the stage decides whether the deal becomes a lead or a contract",
		text))
	return "", false
}

func (p *parser) agentReference(row *OpportunityRow, name string) string {
	const column = "sales_agent"
	if name == "" {
		if isOpen(row.Stage) {
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept, "sales_agent is empty; stored the lead unassigned: assign a rep in the CRM")
		} else {
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept, "sales_agent is empty; stored it empty")
		}
		return ""
	}
	known, ok := p.agents[foldName(name)]
	switch {
	case !ok:
		p.issues.warn(FilePipeline, row.Line, column, name, ActionKept, fmt.Sprintf(
			"sales agent %q is not in sales_teams.csv; kept the name: add the rep to sales_teams.csv or correct the name", name))
		return name
	case known.name != name:
		p.issues.warn(FilePipeline, row.Line, column, name, ActionCorrected, fmt.Sprintf(
			"sales agent %q is spelled %q in sales_teams.csv; corrected it", name, known.name))
	}
	return known.name
}

func (p *parser) productReference(row *OpportunityRow, name string) string {
	const column = "product"
	won := row.Stage == store.StageWon
	if name == "" {
		if won {
			p.rejectContract(row, column, "", "product is empty")
		} else {
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept, "product is empty; stored it empty: fill it in the CRM")
		}
		return ""
	}
	known, ok := p.products[productKey(name)]
	switch {
	case !ok && won:
		p.rejectContract(row, column, name, fmt.Sprintf("product %q is not in products.csv", name))
		return name
	case !ok:
		p.issues.warn(FilePipeline, row.Line, column, name, ActionKept, fmt.Sprintf(
			"product %q is not in products.csv; kept the name: add the product to the catalogue or correct the name", name))
		return name
	case known.name != name:
		p.issues.warn(FilePipeline, row.Line, column, name, ActionCorrected, fmt.Sprintf(
			"product %q is spelled %q in products.csv; corrected it", name, known.name))
	}
	return known.name
}

func (p *parser) accountReference(row *OpportunityRow, name string) string {
	const column = "account"
	if name == "" {
		switch row.Stage {
		case store.StageWon:
			p.rejectContract(row, column, "", "account is empty, so the contract would have no customer")
		case store.StageLost:
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept, "account is empty; stored the lost deal without an account")
		default:
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept,
				"account is empty; stored the lead without an account: the rep must find out the customer and fill in the account in the CRM")
		}
		return ""
	}
	known, ok := p.accounts[foldName(name)]
	switch {
	case !ok && row.Stage == store.StageWon:
		p.rejectContract(row, column, name, fmt.Sprintf(
			"account %q is not in accounts.csv, so the ERP would get a customer without master data", name))
		return name
	case !ok:
		p.issues.warn(FilePipeline, row.Line, column, name, ActionKept, fmt.Sprintf(
			"account %q is not in accounts.csv; kept the name: add the account to accounts.csv or correct the name", name))
		return name
	case known.name != name:
		p.issues.warn(FilePipeline, row.Line, column, name, ActionCorrected, fmt.Sprintf(
			"account %q is spelled %q in accounts.csv; corrected it", name, known.name))
	}
	return known.name
}

func (p *parser) engageDate(row *OpportunityRow, text string) *time.Time {
	const column = "engage_date"
	open := isOpen(row.Stage)
	assigned := fmt.Sprintf("used the import time %s as the lead's assignment time (a lead stored by an earlier import keeps the time it got then)",
		p.opts.Now.Format(time.RFC3339))
	if text == "" {
		if open {
			p.issues.warn(FilePipeline, row.Line, column, "", ActionDefaulted, fmt.Sprintf(
				"engage_date is empty, so the lead's assignment time is unknown; %s", assigned))
		} else {
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept, fmt.Sprintf(
				"engage_date of a %s deal is empty; stored it empty", row.Stage))
		}
		return nil
	}
	date, err := parseDate(text)
	if err != nil {
		action := "stored it empty"
		if open {
			action += " and " + assigned
		}
		p.issues.warn(FilePipeline, row.Line, column, text, ActionDefaulted, fmt.Sprintf(
			"engage_date %q is not a date in the form YYYY-MM-DD; %s: correct it in the CRM", text, action))
		return nil
	}
	if date.After(day(p.opts.Now)) {
		p.issues.warn(FilePipeline, row.Line, column, text, ActionKept, fmt.Sprintf(
			"engage_date %s is after the import date %s; kept it: correct it in the CRM", text, p.opts.Now.Format(time.DateOnly)))
	}
	return &date
}

func (p *parser) closeDate(row *OpportunityRow, text string) *time.Time {
	const column = "close_date"
	if text == "" {
		switch row.Stage {
		case store.StageWon:
			p.rejectContract(row, column, "", "close_date is empty, so the contract would have no signing date")
		case store.StageLost:
			p.issues.warn(FilePipeline, row.Line, column, "", ActionKept, "close_date of a Lost deal is empty; stored it empty")
		}
		return nil
	}
	date, err := parseDate(text)
	if err != nil {
		if row.Stage == store.StageWon {
			p.rejectContract(row, column, text, fmt.Sprintf("close_date %q is not a date in the form YYYY-MM-DD", text))
		} else {
			p.issues.warn(FilePipeline, row.Line, column, text, ActionDefaulted, fmt.Sprintf(
				"close_date %q is not a date in the form YYYY-MM-DD; stored it empty: correct it in the CRM", text))
		}
		return nil
	}
	if isOpen(row.Stage) {
		p.issues.warn(FilePipeline, row.Line, column, text, ActionKept, fmt.Sprintf(
			"deal is still %s but has a close_date; kept it on the opportunity: clear it in the CRM, or set the stage if the deal is closed", row.Stage))
	}
	if date.After(day(p.opts.Now)) {
		p.issues.warn(FilePipeline, row.Line, column, text, ActionKept, fmt.Sprintf(
			"close_date %s is after the import date %s; kept it: correct it in the CRM", text, p.opts.Now.Format(time.DateOnly)))
	}
	return &date
}

func (p *parser) closeValue(row *OpportunityRow, text string) decimal.NullDecimal {
	const column = "close_value"
	won := row.Stage == store.StageWon
	if text == "" {
		if won {
			p.rejectContract(row, column, "", "close_value is empty, so the contract would have no amount")
		}
		return decimal.NullDecimal{}
	}
	value, err := parseAmount(text, 2)
	if err != nil {
		if won {
			p.rejectContract(row, column, text, fmt.Sprintf("close_value %q is not a valid amount (%v)", text, err))
		} else {
			p.issues.warn(FilePipeline, row.Line, column, text, ActionDefaulted, fmt.Sprintf(
				"close_value %q is not a valid amount (%v); stored it empty: write a plain number with at most 2 decimal places", text, err))
		}
		return decimal.NullDecimal{}
	}

	switch row.Stage {
	case store.StageWon:
		if !value.IsPositive() {
			p.rejectContract(row, column, text, fmt.Sprintf("close_value %s of a Won deal is not above 0", value))
			break
		}
		p.checkListPrice(row, text, value)
	case store.StageLost:
		if !value.IsZero() {
			p.issues.warn(FilePipeline, row.Line, column, text, ActionKept, fmt.Sprintf(
				"Lost deal has close_value %s where lost deals have 0; kept it on the opportunity: check the stage", value))
		}
	default:
		p.issues.warn(FilePipeline, row.Line, column, text, ActionKept, fmt.Sprintf(
			"deal is still %s but has close_value %s; kept it on the opportunity: clear it in the CRM, or set the stage if the deal is closed", row.Stage, value))
	}
	return decimal.NewNullDecimal(value)
}

// checkListPrice warns when a Won deal's value is far from the list price
// of its product, which usually means a digit too many or too few.
func (p *parser) checkListPrice(row *OpportunityRow, text string, value decimal.Decimal) {
	price, ok := p.productPrices[productKey(row.Product)]
	if !ok || !price.Valid || !price.Decimal.IsPositive() {
		return
	}
	ratio := value.Div(price.Decimal)
	if ratio.LessThan(minPriceRatio) || ratio.GreaterThan(maxPriceRatio) {
		p.issues.warn(FilePipeline, row.Line, "close_value", text, ActionKept, fmt.Sprintf(
			"close_value %s is %s%% of the list price %s of %s; kept it: check it for a typing error",
			value, ratio.Mul(decimal.NewFromInt(100)).Round(0), price.Decimal, row.Product))
	}
}
