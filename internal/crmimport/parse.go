package crmimport

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// AccountRow is a validated row of accounts.csv.
type AccountRow struct {
	Line            int                 `json:"line"`
	Name            string              `json:"name"`
	Sector          string              `json:"sector"`
	YearEstablished *int                `json:"year_established,omitempty"`
	RevenueMUSD     decimal.NullDecimal `json:"revenue_musd"`
	Employees       *int                `json:"employees,omitempty"`
	OfficeLocation  string              `json:"office_location"`
	SubsidiaryOf    string              `json:"subsidiary_of"`
}

// ProductRow is a validated row of products.csv.
type ProductRow struct {
	Line       int                 `json:"line"`
	Name       string              `json:"name"`
	Series     string              `json:"series"`
	SalesPrice decimal.NullDecimal `json:"sales_price"`
}

// AgentRow is a validated row of sales_teams.csv.
type AgentRow struct {
	Line           int    `json:"line"`
	Name           string `json:"name"`
	Manager        string `json:"manager"`
	RegionalOffice string `json:"regional_office"`
}

// OpportunityRow is a validated row of sales_pipeline.csv. Names of
// products, accounts and agents are spelled as in their own files when the
// reference could be resolved.
type OpportunityRow struct {
	Line       int                 `json:"line"`
	ID         string              `json:"opportunity_id"`
	SalesAgent string              `json:"sales_agent"`
	Product    string              `json:"product"`
	Account    string              `json:"account"`
	Stage      string              `json:"deal_stage"`
	EngageDate *time.Time          `json:"engage_date,omitempty"`
	CloseDate  *time.Time          `json:"close_date,omitempty"`
	CloseValue decimal.NullDecimal `json:"close_value"`
	// ContractRejected is set on a Won row that cannot become a contract.
	// The reasons are among the issues.
	ContractRejected bool `json:"contract_rejected,omitempty"`
}

// Dataset is a parsed and validated CRM export.
type Dataset struct {
	Accounts      []AccountRow     `json:"accounts"`
	Products      []ProductRow     `json:"products"`
	Agents        []AgentRow       `json:"agents"`
	Opportunities []OpportunityRow `json:"opportunities"`
	// Files holds, per file, the rows read and the rows rejected while
	// parsing; the other counts are filled in by Import.
	Files  []FileSummary `json:"files"`
	Issues []Issue       `json:"issues"`
}

// Parse reads and validates the four files of src without writing
// anything. Row-level defects become issues; it returns an error only for
// a file that is missing or whose header is unreadable or wrong. Parse
// uses the Now, Sectors and Countries fields of opts.
func Parse(src Source, opts Options) (*Dataset, error) {
	opts = opts.withDefaults()
	p := newParser(opts)
	tables := make(map[string]*table, len(Files))
	for i, file := range Files {
		t, err := readSourceFile(src, file, p.issues)
		if err != nil {
			return nil, err
		}
		tables[file] = t
		opts.report(Progress{Phase: PhaseRead, Done: i + 1, Total: len(Files)})
	}

	ds := &Dataset{}
	for _, rec := range tables[FileAccounts].records {
		if row, ok := p.account(rec); ok {
			ds.Accounts = append(ds.Accounts, row)
		}
	}
	p.resolveSubsidiaries(ds.Accounts)
	for _, rec := range tables[FileProducts].records {
		if row, ok := p.product(rec); ok {
			ds.Products = append(ds.Products, row)
		}
	}
	for _, rec := range tables[FileSalesTeams].records {
		if row, ok := p.agent(rec); ok {
			ds.Agents = append(ds.Agents, row)
		}
	}
	for _, rec := range tables[FilePipeline].records {
		if row, ok := p.opportunity(rec); ok {
			ds.Opportunities = append(ds.Opportunities, row)
		}
	}
	p.checkEstablishedBeforeDeals(ds.Accounts, ds.Opportunities)

	for _, file := range Files {
		t := tables[file]
		ds.Files = append(ds.Files, FileSummary{
			File:     file,
			Rows:     t.read,
			Rejected: t.rejected + p.rejected[file],
		})
	}
	ds.Issues = p.issues.sorted()
	return ds, nil
}

func readSourceFile(src Source, file string, issues *issueList) (*table, error) {
	if src.open == nil {
		return nil, fmt.Errorf("%s: %w: the source has no files; build it with DirSource or ReaderSource", file, ErrMissingFile)
	}
	rc, err := src.open(file)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readTable(file, rc, issues)
}

// parser validates rows and resolves references between the files.
type parser struct {
	opts      Options
	issues    *issueList
	sectors   *vocabulary
	countries *vocabulary
	// rejected counts rows rejected by validation, per file.
	rejected map[string]int

	// The maps below index rows by a folded key (see foldName and
	// productKey) and hold the canonical name and line of the first row.
	accounts      map[string]namedLine
	products      map[string]namedLine
	productPrices map[string]decimal.NullDecimal
	agents        map[string]namedLine
	opportunities map[string]namedLine
}

type namedLine struct {
	name string
	line int
}

func newParser(opts Options) *parser {
	return &parser{
		opts:          opts,
		issues:        &issueList{},
		sectors:       newVocabulary(opts.Sectors),
		countries:     newVocabulary(opts.Countries),
		rejected:      map[string]int{},
		accounts:      map[string]namedLine{},
		products:      map[string]namedLine{},
		productPrices: map[string]decimal.NullDecimal{},
		agents:        map[string]namedLine{},
		opportunities: map[string]namedLine{},
	}
}

// foldName is the key under which account and agent names match: case is
// ignored. Spaces are already collapsed by readTable.
func foldName(name string) string {
	return strings.ToLower(name)
}

// productKey is the key under which product names match: case, spaces,
// hyphens and underscores are ignored, so "GTXPro" and "gtx-pro" both
// mean "GTX Pro".
func productKey(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_':
			return -1
		}
		return r
	}, strings.ToLower(name))
}

// rejectRow records a rejected row of file.
func (p *parser) rejectRow(file string, line int, column, value, message string) {
	p.rejected[file]++
	p.issues.reject(file, line, column, value, message)
}

// firstRow registers name under key in index and returns the line of an
// earlier row with the same key, or 0 when name is new.
func firstRow(index map[string]namedLine, key, name string, line int) int {
	if earlier, ok := index[key]; ok {
		return earlier.line
	}
	index[key] = namedLine{name: name, line: line}
	return 0
}
