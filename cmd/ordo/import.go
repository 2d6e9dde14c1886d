package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/store"
)

func newImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import data from outside systems",
	}
	cmd.AddCommand(newImportCRMCommand())
	return cmd
}

func newImportCRMCommand() *cobra.Command {
	flags := &clientFlags{}
	var reportPath string
	var showIssues bool
	cmd := &cobra.Command{
		Use:   "crm DIR",
		Short: "Import a CRM export (accounts.csv, products.csv, sales_teams.csv, sales_pipeline.csv) and start a chain per won deal",
		Long: `Upload the four CSV files of a CRM export in DIR to ordo. Won deals become
signed contracts, each with its contract-to-cash chain; Engaging and
Prospecting deals become open leads of their rep; Lost deals are stored
closed. Every defective field is reported with file, line, column and what
the importer did. Importing the same files again changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			for _, name := range crmimport.Files {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					return fmt.Errorf("%s: %w (a CRM export needs %s)", filepath.Join(dir, name), err, strings.Join(crmimport.Files, ", "))
				}
			}
			body, contentType := multipartFiles(dir, crmimport.Files)

			out := cmd.OutOrStdout()
			var bar *progressbar.ProgressBar
			phase := ""
			var final *api.ImportEvent
			err := flags.client().Stream(cmd.Context(), "/api/v1/imports/crm", contentType, body, func(line []byte) error {
				var event api.ImportEvent
				if err := json.Unmarshal(line, &event); err != nil {
					return fmt.Errorf("decode import progress: %w", err)
				}
				switch event.Type {
				case "progress":
					p := event.Progress
					if flags.json || p == nil {
						return nil
					}
					if p.Phase != phase || bar == nil {
						if bar != nil {
							_ = bar.Finish()
						}
						phase = p.Phase
						bar = progressbar.NewOptions(max(p.Total, 1),
							progressbar.OptionSetWriter(cmd.ErrOrStderr()),
							progressbar.OptionSetDescription(fmt.Sprintf("%-13s", phaseTitle(p.Phase))),
							progressbar.OptionShowCount(),
							progressbar.OptionSetWidth(30),
							progressbar.OptionOnCompletion(func() { fmt.Fprintln(cmd.ErrOrStderr()) }),
						)
					}
					_ = bar.Set(p.Done)
				default:
					final = &event
				}
				return nil
			})
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			if final == nil {
				return errors.New("the import ended without a summary: see the ordo log")
			}
			if flags.json {
				return printJSON(out, final)
			}
			if final.Summary != nil {
				printImportSummary(out, final.Summary, final.Started, final.LeadsStarted, final.OpenLeadsWithWorkflow)
				printRenewalStates(out, final.Renewals)
				if len(final.Summary.Issues) > 0 {
					if reportPath == "" {
						reportPath = "ordo-import-" + final.Summary.RunID + "-issues.csv"
					}
					if err := writeIssueReport(reportPath, final.Summary.Issues); err != nil {
						return err
					}
					fmt.Fprintf(out, "\nEvery issue, one per line: %s\n", reportPath)
					if showIssues {
						for _, i := range final.Summary.Issues {
							fmt.Fprintf(out, "%s:%d %s=%q %s/%s: %s\n", i.File, i.Line, i.Column, i.Value, i.Severity, i.Action, i.Message)
						}
					}
				}
			}
			if final.Type == "error" && final.Error != nil {
				return fmt.Errorf("import failed: %s", final.Error.Message)
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&reportPath, "report", "", "CSV file for the full list of issues (default ordo-import-RUN_ID-issues.csv)")
	cmd.Flags().BoolVar(&showIssues, "show-issues", false, "also print every issue to the terminal")
	return cmd
}

// multipartFiles streams the files as a multipart body, one part per file.
func multipartFiles(dir string, names []string) (io.Reader, string) {
	reader, writer := io.Pipe()
	form := multipart.NewWriter(writer)
	go func() {
		for _, name := range names {
			part, err := form.CreateFormFile(name, name)
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
			file, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
			_, err = io.Copy(part, file)
			_ = file.Close()
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
		}
		_ = writer.CloseWithError(form.Close())
	}()
	return reader, form.FormDataContentType()
}

func phaseTitle(phase string) string {
	switch phase {
	case crmimport.PhaseRead:
		return "reading files"
	case crmimport.PhaseMasterData:
		return "master data"
	case crmimport.PhasePipeline:
		return "pipeline"
	case crmimport.PhaseRecord:
		return "issues"
	case api.PhaseStartChains:
		return "start chains"
	case api.PhaseStartLeads:
		return "start leads"
	}
	return phase
}

func printImportSummary(out io.Writer, s *crmimport.Summary, started, leadsStarted, openLeads int) {
	fmt.Fprintf(out, "\nImport %s: %s (currency %s)\n\n", s.RunID, s.Status, s.Currency)
	table := newTable(out)
	fmt.Fprintln(table, "FILE\tROWS\tIMPORTED\tUPDATED\tUNCHANGED\tREJECTED")
	for _, f := range s.Files {
		fmt.Fprintf(table, "%s\t%d\t%d\t%d\t%d\t%d\n", f.File, f.Rows, f.Imported, f.Updated, f.Unchanged, f.Rejected)
	}
	_ = table.Flush()
	c := s.Contracts
	fmt.Fprintf(out, "\nContracts: %d created, %d updated, %d unchanged, %d not applied (already in progress), %d rejected\n",
		c.Created, c.Updated, c.Unchanged, c.NotApplied, c.Rejected)
	l := s.Leads
	fmt.Fprintf(out, "Leads:     %d created, %d updated, %d unchanged, %d closed\n", l.Created, l.Updated, l.Unchanged, l.Closed)
	fmt.Fprintf(out, "Lost deals stored: %d\n", s.LostDealsStored)
	fmt.Fprintf(out, "Chains started: %d\n", started)
	fmt.Fprintf(out, "Lead SLA workflows: %d started by this import; %d open leads have one\n", leadsStarted, openLeads)
	fmt.Fprintf(out, "Issues: %d errors, %d warnings\n", s.Errors, s.Warnings)
	printIssueGroups(out, s.Issues)
}

// printRenewalStates prints the contracts per renewal state after an
// import, explaining the expired ones, which get no reminder.
func printRenewalStates(out io.Writer, counts []store.StateCount) {
	if len(counts) == 0 {
		return
	}
	parts := make([]string, 0, len(counts))
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.State))
	}
	fmt.Fprintf(out, "Renewals of all contracts: %s\n", strings.Join(parts, ", "))
	for _, c := range counts {
		if c.State == store.RenewalExpired {
			fmt.Fprintf(out, "  %d contracts had ended before ordo knew them: recorded as expired, no reminder sent\n", c.Count)
		}
	}
}

// printIssueGroups counts issues by file, column, action and message, with
// the first lines of each group, so thousands of repeats read as one line.
func printIssueGroups(out io.Writer, issues []crmimport.Issue) {
	type group struct {
		file, column, severity, action, message string
		lines                                   []int
	}
	groups := map[string]*group{}
	var order []string
	for _, i := range issues {
		key := strings.Join([]string{i.File, i.Column, string(i.Severity), string(i.Action), issueClass(i)}, "\x1f")
		g, ok := groups[key]
		if !ok {
			g = &group{file: i.File, column: i.Column, severity: string(i.Severity), action: string(i.Action), message: i.Message}
			groups[key] = g
			order = append(order, key)
		}
		g.lines = append(g.lines, i.Line)
	}
	sort.SliceStable(order, func(a, b int) bool { return len(groups[order[a]].lines) > len(groups[order[b]].lines) })
	for _, key := range order {
		g := groups[key]
		lines := make([]string, 0, 5)
		for _, n := range g.lines[:min(5, len(g.lines))] {
			lines = append(lines, strconv.Itoa(n))
		}
		more := ""
		if len(g.lines) > 5 {
			more = ", …"
		}
		fmt.Fprintf(out, "  %5d × %s column %s, %s/%s (lines %s%s): %s\n", len(g.lines), g.file, g.column,
			g.severity, g.action, strings.Join(lines, ", "), more, g.message)
	}
}

// issueClass strips the row-specific parts of a message (quoted values
// and numbers) so issues of one kind group together.
func issueClass(i crmimport.Issue) string {
	var b strings.Builder
	inQuote := false
	for _, r := range i.Message {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote, r >= '0' && r <= '9':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeIssueReport(path string, issues []crmimport.Issue) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write issue report: %w", err)
	}
	w := csv.NewWriter(file)
	_ = w.Write([]string{"file", "line", "column", "value", "severity", "action", "message"})
	for _, i := range issues {
		_ = w.Write([]string{i.File, strconv.Itoa(i.Line), i.Column, i.Value, string(i.Severity), string(i.Action), i.Message})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = file.Close()
		return fmt.Errorf("write issue report %s: %w", path, err)
	}
	return file.Close()
}
