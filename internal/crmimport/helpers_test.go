package crmimport

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ordo-project/ordo/internal/config"
)

// realExport is the public sample export the importer is built for.
const realExport = "../../testdata/crm-sales-opportunities"

// testNow is the import time of tests: after every date of the small
// exports below and of the real export.
var testNow = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// Small, clean export files. Tests replace one file or append rows to see
// one defect at a time.
const (
	accountsHeader = "account,sector,year_established,revenue,employees,office_location,subsidiary_of\n"
	cleanAccounts  = accountsHeader +
		"Acme Corporation,technology,1996,1100.04,2822,United States,\n" +
		"Bluth Company,technology,1993,1242.32,3027,United States,Acme Corporation\n"
	productsHeader = "product,series,sales_price\n"
	cleanProducts  = productsHeader +
		"GTX Basic,GTX,550\n" +
		"GTX Pro,GTX,4821\n"
	teamsHeader = "sales_agent,manager,regional_office\n"
	cleanTeams  = teamsHeader +
		"Anna Snelling,Dustin Brinkmann,Central\n" +
		"Moses Frase,Dustin Brinkmann,Central\n"
	pipelineHeader = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
	cleanPipeline  = pipelineHeader +
		"1C1I7A6R,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600\n"
)

// exportFiles returns the clean export with the given files replaced.
func exportFiles(replace map[string]string) map[string]string {
	files := map[string]string{
		FileAccounts:   cleanAccounts,
		FileProducts:   cleanProducts,
		FileSalesTeams: cleanTeams,
		FilePipeline:   cleanPipeline,
	}
	for name, content := range replace {
		files[name] = content
	}
	return files
}

func readerSource(t *testing.T, files map[string]string) Source {
	t.Helper()
	readers := make(map[string]io.Reader, len(files))
	for name, content := range files {
		readers[name] = strings.NewReader(content)
	}
	src, err := ReaderSource("test upload", readers)
	if err != nil {
		t.Fatalf("build source: %v", err)
	}
	return src
}

// testOptions returns import options with the default configuration's
// tax and payment plan, plus the 17% VAT rate on goods in force in China
// before May 2018, which the sample export's 2017 deals need.
func testOptions() Options {
	cfg := config.Default()
	tax := cfg.Tax
	tax.Rates = append([]config.TaxRate{{
		Category: "goods",
		Rate:     decimal.RequireFromString("0.17"),
		From:     config.Date{Time: time.Date(1994, 1, 1, 0, 0, 0, 0, time.UTC)},
	}}, tax.Rates...)
	return Options{Currency: "USD", Tax: tax, Plan: cfg.Payment.Plan, ExchangeRates: cfg.Invoice.ExchangeRates, Now: testNow}
}

func parseFiles(t *testing.T, replace map[string]string) *Dataset {
	t.Helper()
	ds, err := Parse(readerSource(t, exportFiles(replace)), testOptions())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return ds
}

// issuesAt returns the issues of a file, line and column.
func issuesAt(issues []Issue, file string, line int, column string) []Issue {
	var found []Issue
	for _, issue := range issues {
		if issue.File == file && issue.Line == line && issue.Column == column {
			found = append(found, issue)
		}
	}
	return found
}

func describeIssues(issues []Issue) string {
	var b strings.Builder
	for _, issue := range issues {
		fmt.Fprintf(&b, "\n  %s:%d %s %q %s/%s: %s", issue.File, issue.Line, issue.Column, issue.Value, issue.Severity, issue.Action, issue.Message)
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}
