package crmimport

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// minYearEstablished is the earliest founding year accepted. Older values
// in a CRM are typing errors far more often than real companies.
const minYearEstablished = 1800

// account validates a row of accounts.csv.
func (p *parser) account(rec record) (AccountRow, bool) {
	const file = FileAccounts
	f := rec.fields
	row := AccountRow{Line: rec.line, Name: f[0], SubsidiaryOf: f[6]}

	if row.Name == "" {
		p.rejectRow(file, rec.line, "account", "", "account name is empty; row not imported: fill in the account name")
		return row, false
	}
	if earlier := firstRow(p.accounts, foldName(row.Name), row.Name, rec.line); earlier != 0 {
		p.rejectRow(file, rec.line, "account", row.Name, fmt.Sprintf(
			"account %q is already on line %d (names are compared ignoring case); row not imported: merge the two accounts in the CRM",
			row.Name, earlier))
		return row, false
	}
	if first, _ := utf8.DecodeRuneInString(row.Name); unicode.IsLower(first) {
		p.issues.warn(file, rec.line, "account", row.Name, ActionKept, fmt.Sprintf(
			"account name %q starts with a lower-case letter, unlike a company name usually does; kept it as is because the pipeline refers to accounts by name: if it is a typo, correct it in the CRM",
			row.Name))
	}

	row.Sector = p.vocabularyField(file, rec.line, "sector", f[1], p.sectors, "sector")
	row.YearEstablished = p.yearField(rec.line, f[2])
	row.RevenueMUSD = p.revenueField(rec.line, f[3])
	row.Employees = p.employeesField(rec.line, f[4])
	row.OfficeLocation = p.vocabularyField(file, rec.line, "office_location", f[5], p.countries, "country")
	return row, true
}

// vocabularyField checks a value against a vocabulary and returns the
// value to store. term names the kind of value in messages.
func (p *parser) vocabularyField(file string, line int, column, value string, v *vocabulary, term string) string {
	if value == "" {
		p.issues.warn(file, line, column, "", ActionKept, fmt.Sprintf("%s is empty; stored it empty: fill it in the CRM", column))
		return ""
	}
	entry, kind := v.match(value)
	switch kind {
	case matchExact:
		return value
	case matchCase:
		p.issues.warn(file, line, column, value, ActionCorrected,
			fmt.Sprintf("%s %q differs from the known %s %q only in case; corrected it", column, value, term, entry))
		return entry
	case matchNear:
		p.issues.warn(file, line, column, value, ActionCorrected,
			fmt.Sprintf("%s %q is not a known %s; corrected it to the closest one, %q: fix the spelling in the CRM", column, value, term, entry))
		return entry
	case matchAmbiguous:
		p.issues.warn(file, line, column, value, ActionKept,
			fmt.Sprintf("%s %q is not a known %s and is equally close to %s; kept it as is: correct it in the CRM", column, value, term, entry))
		return value
	default:
		p.issues.warn(file, line, column, value, ActionKept,
			fmt.Sprintf("%s %q is not a known %s; kept it as is: correct it in the CRM, or add it to the importer's list of %s values if it is right", column, value, term, term))
		return value
	}
}

func (p *parser) yearField(line int, text string) *int {
	const column = "year_established"
	if text == "" {
		p.issues.warn(FileAccounts, line, column, "", ActionKept, "year_established is empty; stored it empty")
		return nil
	}
	year, err := parseCount(text)
	if err != nil {
		p.issues.warn(FileAccounts, line, column, text, ActionDefaulted,
			fmt.Sprintf("year_established %q is not a whole number; stored it empty: write a year such as 1996", text))
		return nil
	}
	if latest := p.opts.Now.Year(); year < minYearEstablished || year > latest {
		p.issues.warn(FileAccounts, line, column, text, ActionDefaulted,
			fmt.Sprintf("year_established %d is outside %d..%d; stored it empty: correct the year in the CRM", year, minYearEstablished, latest))
		return nil
	}
	return &year
}

// revenueScale is the number of decimal places of accounts.revenue_musd in
// PostgreSQL.
const revenueScale = 4

func (p *parser) revenueField(line int, text string) decimal.NullDecimal {
	const column = "revenue"
	if text == "" {
		p.issues.warn(FileAccounts, line, column, "", ActionKept, "revenue is empty; stored it empty")
		return decimal.NullDecimal{}
	}
	revenue, err := parseAmount(text, revenueScale)
	if err != nil {
		p.issues.warn(FileAccounts, line, column, text, ActionDefaulted,
			fmt.Sprintf("revenue %q is not a valid amount in million USD (%v); stored it empty: write a plain number such as 1100.04", text, err))
		return decimal.NullDecimal{}
	}
	if revenue.IsNegative() {
		p.issues.warn(FileAccounts, line, column, text, ActionDefaulted,
			fmt.Sprintf("revenue %s is negative; stored it empty: correct it in the CRM", revenue))
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(revenue)
}

func (p *parser) employeesField(line int, text string) *int {
	const column = "employees"
	if text == "" {
		p.issues.warn(FileAccounts, line, column, "", ActionKept, "employees is empty; stored it empty")
		return nil
	}
	employees, err := parseCount(text)
	if err != nil {
		p.issues.warn(FileAccounts, line, column, text, ActionDefaulted,
			fmt.Sprintf("employees %q is not a whole number; stored it empty: write the head count without separators, such as 2822", text))
		return nil
	}
	if employees < 0 {
		p.issues.warn(FileAccounts, line, column, text, ActionDefaulted,
			fmt.Sprintf("employees %d is negative; stored it empty: correct it in the CRM", employees))
		return nil
	}
	return &employees
}

// resolveSubsidiaries checks that each parent account exists, now that
// every account is known, and spells it as its own row does.
func (p *parser) resolveSubsidiaries(accounts []AccountRow) {
	const column = "subsidiary_of"
	for i := range accounts {
		a := &accounts[i]
		if a.SubsidiaryOf == "" {
			continue
		}
		parent, ok := p.accounts[foldName(a.SubsidiaryOf)]
		switch {
		case !ok:
			p.issues.warn(FileAccounts, a.Line, column, a.SubsidiaryOf, ActionKept, fmt.Sprintf(
				"parent account %q is not in accounts.csv; kept the name: add the parent account or correct the name", a.SubsidiaryOf))
		case parent.name == a.Name:
			p.issues.warn(FileAccounts, a.Line, column, a.SubsidiaryOf, ActionDefaulted,
				"account is listed as its own parent; stored no parent: correct subsidiary_of in the CRM")
			a.SubsidiaryOf = ""
		case parent.name != a.SubsidiaryOf:
			p.issues.warn(FileAccounts, a.Line, column, a.SubsidiaryOf, ActionCorrected, fmt.Sprintf(
				"parent account %q is spelled %q on line %d of accounts.csv; corrected it", a.SubsidiaryOf, parent.name, parent.line))
			a.SubsidiaryOf = parent.name
		}
	}
}

// checkEstablishedBeforeDeals warns about accounts founded after their
// first opportunity was engaged or closed: one of the two dates is wrong.
func (p *parser) checkEstablishedBeforeDeals(accounts []AccountRow, opportunities []OpportunityRow) {
	type firstDeal struct {
		date  time.Time
		count map[int]int // opportunities per year
	}
	firsts := map[string]*firstDeal{}
	for _, o := range opportunities {
		date := o.EngageDate
		if date == nil {
			date = o.CloseDate
		}
		if o.Account == "" || date == nil {
			continue
		}
		fd := firsts[o.Account]
		if fd == nil {
			fd = &firstDeal{date: *date, count: map[int]int{}}
			firsts[o.Account] = fd
		}
		if date.Before(fd.date) {
			fd.date = *date
		}
		fd.count[date.Year()]++
	}
	for _, a := range accounts {
		fd := firsts[a.Name]
		if a.YearEstablished == nil || fd == nil || fd.date.Year() >= *a.YearEstablished {
			continue
		}
		earlier := 0
		for year, n := range fd.count {
			if year < *a.YearEstablished {
				earlier += n
			}
		}
		p.issues.warn(FileAccounts, a.Line, "year_established", fmt.Sprint(*a.YearEstablished), ActionKept, fmt.Sprintf(
			"account was established in %d according to this file, but %d of its opportunities in sales_pipeline.csv are dated earlier, the first on %s; kept both: correct the year or the dates in the CRM",
			*a.YearEstablished, earlier, fd.date.Format(time.DateOnly)))
	}
}

// product validates a row of products.csv.
func (p *parser) product(rec record) (ProductRow, bool) {
	const file = FileProducts
	f := rec.fields
	row := ProductRow{Line: rec.line, Name: f[0], Series: f[1]}

	if row.Name == "" {
		p.rejectRow(file, rec.line, "product", "", "product name is empty; row not imported: fill in the product name")
		return row, false
	}
	if earlier := firstRow(p.products, productKey(row.Name), row.Name, rec.line); earlier != 0 {
		p.rejectRow(file, rec.line, "product", row.Name, fmt.Sprintf(
			"product %q is already on line %d (names are compared ignoring case, spaces and hyphens); row not imported: remove the duplicate from the catalogue",
			row.Name, earlier))
		return row, false
	}

	switch {
	case row.Series == "":
		p.issues.warn(file, rec.line, "series", "", ActionKept, "series is empty; stored it empty: fill it in the catalogue")
	case !strings.HasPrefix(productKey(row.Name), productKey(row.Series)):
		p.issues.warn(file, rec.line, "series", row.Series, ActionKept, fmt.Sprintf(
			"series %q is not the start of the product name %q, as it is for the other products; kept it: check the series", row.Series, row.Name))
	}

	row.SalesPrice = p.priceField(rec.line, f[2])
	p.productPrices[productKey(row.Name)] = row.SalesPrice
	return row, true
}

func (p *parser) priceField(line int, text string) decimal.NullDecimal {
	const column = "sales_price"
	if text == "" {
		p.issues.warn(FileProducts, line, column, "", ActionKept, "sales_price is empty; stored it empty: fill in the list price")
		return decimal.NullDecimal{}
	}
	price, err := parseAmount(text, 2)
	if err != nil {
		p.issues.warn(FileProducts, line, column, text, ActionDefaulted, fmt.Sprintf(
			"sales_price %q is not a valid amount (%v); stored it empty: write a plain number with at most 2 decimal places, such as 4821", text, err))
		return decimal.NullDecimal{}
	}
	switch {
	case price.IsNegative():
		p.issues.warn(FileProducts, line, column, text, ActionDefaulted,
			fmt.Sprintf("sales_price %s is negative; stored it empty: correct the list price", price))
		return decimal.NullDecimal{}
	case price.IsZero():
		p.issues.warn(FileProducts, line, column, text, ActionKept,
			"sales_price is 0; kept it: check the list price if the product is not free")
	}
	return decimal.NewNullDecimal(price)
}

// agent validates a row of sales_teams.csv.
func (p *parser) agent(rec record) (AgentRow, bool) {
	const file = FileSalesTeams
	f := rec.fields
	row := AgentRow{Line: rec.line, Name: f[0], Manager: f[1], RegionalOffice: f[2]}

	if row.Name == "" {
		p.rejectRow(file, rec.line, "sales_agent", "", "sales_agent is empty; row not imported: fill in the rep's name")
		return row, false
	}
	if earlier := firstRow(p.agents, foldName(row.Name), row.Name, rec.line); earlier != 0 {
		p.rejectRow(file, rec.line, "sales_agent", row.Name, fmt.Sprintf(
			"sales agent %q is already on line %d (names are compared ignoring case); row not imported: remove the duplicate",
			row.Name, earlier))
		return row, false
	}
	if row.Manager == "" {
		p.issues.warn(file, rec.line, "manager", "", ActionKept, "manager is empty; stored it empty: fill in the rep's manager")
	}
	if row.RegionalOffice == "" {
		p.issues.warn(file, rec.line, "regional_office", "", ActionKept, "regional_office is empty; stored it empty: fill it in the CRM")
	}
	return row, true
}
