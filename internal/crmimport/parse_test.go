package crmimport

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseDefects feeds one defect at a time and checks the issue it
// produces: where it points, its severity and what the importer did.
func TestParseDefects(t *testing.T) {
	type want struct {
		line     int
		column   string
		severity Severity
		action   Action
		// message holds a text the message must contain.
		message string
	}
	cases := []struct {
		name  string
		file  string
		rows  string // appended to the file's clean content
		whole string // replaces the file's content when set
		// other replaces the content of other files.
		other map[string]string
		want  want
		// check, when set, inspects the parsed dataset.
		check func(t *testing.T, ds *Dataset)
	}{
		// accounts.csv
		{name: "account name empty", file: FileAccounts, rows: ",retail,2001,718.62,2448,United States,\n",
			want: want{4, "account", SeverityError, ActionRejected, "account name is empty"}},
		{name: "account duplicate ignoring case", file: FileAccounts, rows: "ACME corporation,retail,2001,718.62,2448,United States,\n",
			want: want{4, "account", SeverityError, ActionRejected, "already on line 2"}},
		{name: "account name lower case", file: FileAccounts, rows: "dambase,marketing,1995,2173.98,2928,United States,\n",
			want: want{4, "account", SeverityWarning, ActionKept, "lower-case"}},
		{name: "sector misspelled", file: FileAccounts, rows: "Cancity,technolgy,2001,718.62,2448,United States,\n",
			want: want{4, "sector", SeverityWarning, ActionCorrected, `"technology"`},
			check: func(t *testing.T, ds *Dataset) {
				if got := ds.Accounts[2].Sector; got != "technology" {
					t.Errorf("stored sector = %q, expected technology", got)
				}
			}},
		{name: "sector other case", file: FileAccounts, rows: "Cancity,Retail,2001,718.62,2448,United States,\n",
			want: want{4, "sector", SeverityWarning, ActionCorrected, "only in case"}},
		{name: "sector unknown", file: FileAccounts, rows: "Cancity,aerospace,2001,718.62,2448,United States,\n",
			want: want{4, "sector", SeverityWarning, ActionKept, "not a known sector"}},
		{name: "sector empty", file: FileAccounts, rows: "Cancity,,2001,718.62,2448,United States,\n",
			want: want{4, "sector", SeverityWarning, ActionKept, "sector is empty"}},
		{name: "year not a number", file: FileAccounts, rows: "Cancity,retail,two thousand,718.62,2448,United States,\n",
			want: want{4, "year_established", SeverityWarning, ActionDefaulted, "not a whole number"},
			check: func(t *testing.T, ds *Dataset) {
				if ds.Accounts[2].YearEstablished != nil {
					t.Errorf("stored year = %d, expected none", *ds.Accounts[2].YearEstablished)
				}
			}},
		{name: "year in the future", file: FileAccounts, rows: "Cancity,retail,2201,718.62,2448,United States,\n",
			want: want{4, "year_established", SeverityWarning, ActionDefaulted, "outside 1800..2026"}},
		{name: "revenue not a number", file: FileAccounts, rows: "Cancity,retail,2001,$718,2448,United States,\n",
			want: want{4, "revenue", SeverityWarning, ActionDefaulted, "not a valid amount"}},
		{name: "revenue negative", file: FileAccounts, rows: "Cancity,retail,2001,-718.62,2448,United States,\n",
			want: want{4, "revenue", SeverityWarning, ActionDefaulted, "negative"}},
		{name: "revenue too precise", file: FileAccounts, rows: "Cancity,retail,2001,718.123456,2448,United States,\n",
			want: want{4, "revenue", SeverityWarning, ActionDefaulted, "more than 4"}},
		{name: "employees with separator", file: FileAccounts, rows: `Cancity,retail,2001,718.62,"2,448",United States,` + "\n",
			want: want{4, "employees", SeverityWarning, ActionDefaulted, "not a whole number"}},
		{name: "employees negative", file: FileAccounts, rows: "Cancity,retail,2001,718.62,-3,United States,\n",
			want: want{4, "employees", SeverityWarning, ActionDefaulted, "negative"}},
		{name: "country misspelled", file: FileAccounts, rows: "Bioholding,medical,2012,587.34,1356,Philipines,\n",
			want: want{4, "office_location", SeverityWarning, ActionCorrected, `"Philippines"`},
			check: func(t *testing.T, ds *Dataset) {
				if got := ds.Accounts[2].OfficeLocation; got != "Philippines" {
					t.Errorf("stored office_location = %q, expected Philippines", got)
				}
			}},
		{name: "country swapped letters", file: FileAccounts, rows: "Newex,services,1991,1012.72,3492,Germnay,\n",
			want: want{4, "office_location", SeverityWarning, ActionCorrected, `"Germany"`}},
		{name: "country ambiguous", file: FileAccounts, rows: "Hottechi,technology,1997,8170.38,16499,Korea,\n",
			want: want{4, "office_location", SeverityWarning, ActionKept, "not a known country"}},
		{name: "country equally near two", file: FileAccounts, rows: "Hottechi,technology,1997,8170.38,16499,Irak,\n",
			want: want{4, "office_location", SeverityWarning, ActionKept, "Iran or Iraq"}},
		{name: "parent unknown", file: FileAccounts, rows: "Cancity,retail,2001,718.62,2448,United States,Nobody Inc\n",
			want: want{4, "subsidiary_of", SeverityWarning, ActionKept, "not in accounts.csv"}},
		{name: "parent is itself", file: FileAccounts, rows: "Cancity,retail,2001,718.62,2448,United States,Cancity\n",
			want: want{4, "subsidiary_of", SeverityWarning, ActionDefaulted, "its own parent"}},
		{name: "parent other case", file: FileAccounts, rows: "Cancity,retail,2001,718.62,2448,United States,acme corporation\n",
			want: want{4, "subsidiary_of", SeverityWarning, ActionCorrected, `"Acme Corporation"`}},
		{name: "account founded after its deals", file: FileAccounts, rows: "Condax,medical,2017,4.54,9,United States,\n",
			other: map[string]string{FilePipeline: cleanPipeline + "X1,Moses Frase,GTX Basic,Condax,Lost,2016-11-27,2017-01-05,0\n"},
			want:  want{4, "year_established", SeverityWarning, ActionKept, "1 of its opportunities"}},
		{name: "surrounding spaces", file: FileAccounts, rows: "  Cancity ,retail,2001,718.62,2448,United  States,\n",
			want: want{4, "account", SeverityWarning, ActionCorrected, `corrected to "Cancity"`}},

		// products.csv
		{name: "product duplicate ignoring spaces", file: FileProducts, rows: "GTXPro,GTX,4821\n",
			want: want{4, "product", SeverityError, ActionRejected, "already on line 3"}},
		{name: "product name empty", file: FileProducts, rows: ",GTX,4821\n",
			want: want{4, "product", SeverityError, ActionRejected, "product name is empty"}},
		{name: "series not the name's start", file: FileProducts, rows: "MG Special,GTX,55\n",
			want: want{4, "series", SeverityWarning, ActionKept, "not the start"}},
		{name: "price negative", file: FileProducts, rows: "MG Special,MG,-55\n",
			want: want{4, "sales_price", SeverityWarning, ActionDefaulted, "negative"}},
		{name: "price zero", file: FileProducts, rows: "MG Special,MG,0\n",
			want: want{4, "sales_price", SeverityWarning, ActionKept, "is 0"}},
		{name: "price empty", file: FileProducts, rows: "MG Special,MG,\n",
			want: want{4, "sales_price", SeverityWarning, ActionKept, "empty"}},

		// sales_teams.csv
		{name: "agent empty", file: FileSalesTeams, rows: ",Dustin Brinkmann,Central\n",
			want: want{4, "sales_agent", SeverityError, ActionRejected, "sales_agent is empty"}},
		{name: "agent duplicate", file: FileSalesTeams, rows: "anna snelling,Cara Losch,East\n",
			want: want{4, "sales_agent", SeverityError, ActionRejected, "already on line 2"}},
		{name: "manager empty", file: FileSalesTeams, rows: "Cecily Lampkin,,Central\n",
			want: want{4, "manager", SeverityWarning, ActionKept, "manager is empty"}},

		// sales_pipeline.csv
		{name: "opportunity id empty", file: FilePipeline, rows: ",Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "opportunity_id", SeverityError, ActionRejected, "opportunity_id is empty"}},
		{name: "opportunity id with a space", file: FilePipeline, rows: `"AB CD",Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0` + "\n",
			want: want{3, "opportunity_id", SeverityError, ActionRejected, "not an id"}},
		{name: "opportunity id duplicate ignoring case", file: FilePipeline, rows: "1c1i7a6r,Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "opportunity_id", SeverityError, ActionRejected, "already on line 2"}},
		{name: "stage unknown", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Closed,2016-10-20,2017-03-01,0\n",
			want: want{3, "deal_stage", SeverityError, ActionRejected, "not one of Prospecting"}},
		{name: "stage lower case", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "deal_stage", SeverityWarning, ActionCorrected, `"Lost"`}},
		{name: "agent not in sales teams", file: FilePipeline, rows: "X1,Nobody Here,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "sales_agent", SeverityWarning, ActionKept, "not in sales_teams.csv"}},
		{name: "agent other case", file: FilePipeline, rows: "X1,moses frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "sales_agent", SeverityWarning, ActionCorrected, `"Moses Frase"`}},
		{name: "product without space", file: FilePipeline, rows: "X1,Moses Frase,GTXPro,Acme Corporation,Won,2016-10-20,2017-03-01,4514\n",
			want: want{3, "product", SeverityWarning, ActionCorrected, `"GTX Pro"`},
			check: func(t *testing.T, ds *Dataset) {
				o := ds.Opportunities[1]
				if o.Product != "GTX Pro" || o.ContractRejected {
					t.Errorf("row = product %q, contract rejected %v; expected GTX Pro with a contract", o.Product, o.ContractRejected)
				}
			}},
		{name: "won with unknown product", file: FilePipeline, rows: "X1,Moses Frase,GTX Ultra,Acme Corporation,Won,2016-10-20,2017-03-01,4514\n",
			want: want{3, "product", SeverityError, ActionRejected, "stored the opportunity but created no contract"},
			check: func(t *testing.T, ds *Dataset) {
				if len(ds.Opportunities) != 2 || !ds.Opportunities[1].ContractRejected {
					t.Errorf("expected the opportunity kept with its contract rejected, got %+v", ds.Opportunities)
				}
			}},
		{name: "lost with unknown product", file: FilePipeline, rows: "X1,Moses Frase,GTX Ultra,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "product", SeverityWarning, ActionKept, "not in products.csv"}},
		{name: "won without account", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,,Won,2016-10-20,2017-03-01,600\n",
			want: want{3, "account", SeverityError, ActionRejected, "no customer"}},
		{name: "won with unknown account", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Nobody Inc,Won,2016-10-20,2017-03-01,600\n",
			want: want{3, "account", SeverityError, ActionRejected, "not in accounts.csv"}},
		{name: "engaging without account", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,,Engaging,2016-10-20,,\n",
			want: want{3, "account", SeverityWarning, ActionKept, "lead without an account"}},
		{name: "account other case", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,acme corporation,Lost,2016-10-20,2017-03-01,0\n",
			want: want{3, "account", SeverityWarning, ActionCorrected, `"Acme Corporation"`}},
		{name: "prospecting without engage date", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,,Prospecting,,,\n",
			want: want{3, "engage_date", SeverityWarning, ActionDefaulted, "import time 2026-12-04T10:00:00Z"}},
		{name: "engage date in another layout", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Engaging,10/20/2016,,\n",
			want: want{3, "engage_date", SeverityWarning, ActionDefaulted, "YYYY-MM-DD"}},
		{name: "engage date in the future", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Engaging,2027-01-05,,\n",
			want: want{3, "engage_date", SeverityWarning, ActionKept, "after the import date"}},
		{name: "won without close date", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,,600\n",
			want: want{3, "close_date", SeverityError, ActionRejected, "no signing date"}},
		{name: "won with invalid close date", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-02-30,600\n",
			want: want{3, "close_date", SeverityError, ActionRejected, "not a date"}},
		{name: "lost without close date", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,,0\n",
			want: want{3, "close_date", SeverityWarning, ActionKept, "Lost deal is empty"}},
		{name: "closed before engaged", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Lost,2017-03-01,2016-10-20,0\n",
			want: want{3, "close_date", SeverityWarning, ActionKept, "before engage_date"}},
		{name: "open deal with close date", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Engaging,2016-10-20,2017-03-01,\n",
			want: want{3, "close_date", SeverityWarning, ActionKept, "still Engaging"}},
		{name: "won without value", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,\n",
			want: want{3, "close_value", SeverityError, ActionRejected, "no amount"}},
		{name: "won with zero value", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,0\n",
			want: want{3, "close_value", SeverityError, ActionRejected, "not above 0"}},
		{name: "won with negative value", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,-600\n",
			want: want{3, "close_value", SeverityError, ActionRejected, "not above 0"}},
		{name: "won with thousands separator", file: FilePipeline, rows: `X1,Moses Frase,GTX Pro,Acme Corporation,Won,2016-10-20,2017-03-01,"4,514"` + "\n",
			want: want{3, "close_value", SeverityError, ActionRejected, "not a valid amount"}},
		{name: "won with fractions of a cent", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600.005\n",
			want: want{3, "close_value", SeverityError, ActionRejected, "more than 2"}},
		{name: "won far above list price", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,6000\n",
			want: want{3, "close_value", SeverityWarning, ActionKept, "1091% of the list price 550"}},
		{name: "lost with a value", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,600\n",
			want: want{3, "close_value", SeverityWarning, ActionKept, "lost deals have 0"}},
		{name: "open deal with a value", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Prospecting,,,600\n",
			want: want{3, "close_value", SeverityWarning, ActionKept, "still Prospecting"}},

		// Row structure, any file.
		{name: "row with too few fields", file: FilePipeline, rows: "X1,Moses Frase,GTX Basic,Acme Corporation,Lost\n",
			want: want{3, "", SeverityError, ActionRejected, "row has 5 fields, expected 8"}},
		{name: "row with too many fields", file: FileSalesTeams, rows: "Cecily Lampkin,Dustin Brinkmann,Central,East\n",
			want: want{4, "", SeverityError, ActionRejected, "row has 4 fields, expected 3"}},
		{name: "row not UTF-8", file: FileAccounts, rows: "Caf\xe9 Holding,retail,2001,718.62,2448,France,\n",
			want: want{4, "account", SeverityError, ActionRejected, "not valid UTF-8"}},
		{name: "row with a control character", file: FileSalesTeams, rows: "Cecily\x00Lampkin,Dustin Brinkmann,Central\n",
			want: want{4, "sales_agent", SeverityError, ActionRejected, "control character U+0000"}},
		{name: "row with a stray quote", file: FileSalesTeams, rows: "Cecily \"CeCe\" Lampkin,Dustin Brinkmann,Central\n",
			want: want{4, "", SeverityError, ActionRejected, "not valid CSV"}},
		{name: "row with only commas", file: FileSalesTeams, rows: ",,\n",
			want: want{4, "", SeverityWarning, ActionRejected, "no values"}},
		{name: "byte order mark", file: FileProducts, whole: "\xEF\xBB\xBF" + cleanProducts,
			want: want{1, "", SeverityWarning, ActionCorrected, "byte order mark"},
			check: func(t *testing.T, ds *Dataset) {
				if len(ds.Products) != 2 {
					t.Errorf("parsed %d products after a byte order mark, expected 2", len(ds.Products))
				}
			}},
		{name: "header in other case", file: FileSalesTeams, whole: "Sales_Agent,manager,regional_office\nAnna Snelling,Dustin Brinkmann,Central\n",
			want: want{1, "sales_agent", SeverityWarning, ActionCorrected, "read it as"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			replace := map[string]string{}
			for name, content := range tc.other {
				replace[name] = content
			}
			content := tc.whole
			if content == "" {
				content = exportFiles(nil)[tc.file] + tc.rows
			}
			replace[tc.file] = content
			ds := parseFiles(t, replace)

			found := issuesAt(ds.Issues, tc.file, tc.want.line, tc.want.column)
			if len(found) != 1 {
				t.Fatalf("expected 1 issue at %s:%d column %q, found %d; all issues:%s",
					tc.file, tc.want.line, tc.want.column, len(found), describeIssues(ds.Issues))
			}
			issue := found[0]
			if issue.Severity != tc.want.severity {
				t.Errorf("severity = %s, expected %s (message: %s)", issue.Severity, tc.want.severity, issue.Message)
			}
			if issue.Action != tc.want.action {
				t.Errorf("action = %s, expected %s (message: %s)", issue.Action, tc.want.action, issue.Message)
			}
			if !strings.Contains(issue.Message, tc.want.message) {
				t.Errorf("message %q does not contain %q", issue.Message, tc.want.message)
			}
			if tc.check != nil {
				tc.check(t, ds)
			}
		})
	}
}

// TestParseRowCounts checks that rejected rows are counted per file and
// every other row is kept.
func TestParseRowCounts(t *testing.T) {
	ds := parseFiles(t, map[string]string{
		FilePipeline: cleanPipeline +
			",Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n" + // no id
			"X2,Moses Frase,GTX Basic,Acme Corporation,Closed,2016-10-20,2017-03-01,0\n" + // unknown stage
			"X3,Moses Frase,GTX Basic\n" + // too few fields
			"X4,Moses Frase,GTX Ultra,Acme Corporation,Won,2016-10-20,2017-03-01,600\n", // contract rejected, row kept
	})
	pipeline := ds.Files[3]
	if pipeline.File != FilePipeline {
		t.Fatalf("file 4 is %s, expected %s", pipeline.File, FilePipeline)
	}
	if pipeline.Rows != 5 {
		t.Errorf("rows = %d, expected 5", pipeline.Rows)
	}
	if pipeline.Rejected != 3 {
		t.Errorf("rejected = %d, expected 3; issues:%s", pipeline.Rejected, describeIssues(ds.Issues))
	}
	if len(ds.Opportunities) != 2 {
		t.Errorf("parsed %d opportunities, expected 2", len(ds.Opportunities))
	}
}

// TestParseLineNumbers checks that issues point to file lines, not record
// numbers, with CRLF line ends and a quoted field spanning two lines.
func TestParseLineNumbers(t *testing.T) {
	crlf := strings.ReplaceAll(teamsHeader+
		"Anna Snelling,\"Dustin\nBrinkmann\",Central\n"+ // lines 2-3
		"Moses Frase,,Central\n", // line 4
		"\n", "\r\n")
	ds := parseFiles(t, map[string]string{FileSalesTeams: crlf})

	if len(ds.Agents) != 2 {
		t.Fatalf("parsed %d agents, expected 2; issues:%s", len(ds.Agents), describeIssues(ds.Issues))
	}
	if got := ds.Agents[0].Manager; got != "Dustin Brinkmann" {
		t.Errorf("manager with a line break = %q, expected the break folded to a space", got)
	}
	if got := ds.Agents[1].Line; got != 4 {
		t.Errorf("second agent is on line %d, expected 4", got)
	}
	if found := issuesAt(ds.Issues, FileSalesTeams, 4, "manager"); len(found) != 1 {
		t.Errorf("expected the empty manager reported on line 4; issues:%s", describeIssues(ds.Issues))
	}
	if found := issuesAt(ds.Issues, FileSalesTeams, 2, "manager"); len(found) != 1 || found[0].Action != ActionCorrected {
		t.Errorf("expected the line break in the manager corrected on line 2; issues:%s", describeIssues(ds.Issues))
	}
}

func TestParseHeaderErrors(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		content string
		column  string
		problem string
	}{
		{"missing column", FileProducts, "product,sales_price\nGTX Basic,550\n", "series", "is missing"},
		{"extra column", FileProducts, "product,series,sales_price,currency\nGTX Basic,GTX,550,USD\n", "currency", "is not expected"},
		{"reordered columns", FileProducts, "product,sales_price,series\nGTX Basic,550,GTX\n", "sales_price", "is in position 2"},
		{"repeated column", FileSalesTeams, "sales_agent,manager,regional_office,manager\nA,B,C,D\n", "manager", "more than once"},
		{"header on one line with CR only", FileSalesTeams, "sales_agent,manager,regional_office\rAnna Snelling,Dustin Brinkmann,Central\r", "regional_office", "is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(readerSource(t, exportFiles(map[string]string{tc.file: tc.content})), testOptions())
			var headerErr *HeaderError
			if !errors.As(err, &headerErr) {
				t.Fatalf("error = %v, expected a *HeaderError", err)
			}
			if headerErr.File != tc.file || headerErr.Column != tc.column {
				t.Errorf("error names %s column %q, expected %s column %q", headerErr.File, headerErr.Column, tc.file, tc.column)
			}
			if !strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error %q does not name the file and say %q", err, tc.problem)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	t.Run("empty file", func(t *testing.T) {
		_, err := Parse(readerSource(t, exportFiles(map[string]string{FileAccounts: ""})), testOptions())
		if err == nil || !strings.Contains(err.Error(), "accounts.csv: file is empty") {
			t.Errorf("error = %v, expected accounts.csv reported as empty", err)
		}
	})
	t.Run("file missing from upload", func(t *testing.T) {
		files := exportFiles(nil)
		delete(files, FileProducts)
		_, err := Parse(readerSource(t, files), testOptions())
		if !errors.Is(err, ErrMissingFile) || !strings.Contains(err.Error(), FileProducts) {
			t.Errorf("error = %v, expected ErrMissingFile naming %s", err, FileProducts)
		}
	})
	t.Run("file missing from directory", func(t *testing.T) {
		dir := t.TempDir()
		for name, content := range exportFiles(nil) {
			if name == FileSalesTeams {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatalf("write %s: %v", name, err)
			}
		}
		_, err := Parse(DirSource(dir), testOptions())
		if !errors.Is(err, ErrMissingFile) || !strings.Contains(err.Error(), FileSalesTeams) {
			t.Errorf("error = %v, expected ErrMissingFile naming %s", err, FileSalesTeams)
		}
	})
	t.Run("unexpected file in upload", func(t *testing.T) {
		_, err := ReaderSource("upload", map[string]io.Reader{"pipeline.csv": strings.NewReader("")})
		if err == nil || !strings.Contains(err.Error(), `"pipeline.csv"`) || !strings.Contains(err.Error(), FilePipeline) {
			t.Errorf("error = %v, expected the unexpected name and the expected names", err)
		}
	})
}
