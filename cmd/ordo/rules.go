package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/validation"
)

func newRulesCommand() *cobra.Command {
	flags := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Show, check and apply the versioned rules: deadlines, thresholds, escalation targets and templates",
		Long: "The rules document holds every deadline, threshold, escalation target, working-hours choice and\n" +
			"template name of ordo's processes. Each apply stores a new version with who applied it and when;\n" +
			"a running process keeps the version it started with, and processes started later use the newest.",
	}
	flags.register(cmd)
	cmd.AddCommand(newRulesShowCommand(flags), newRulesApplyCommand(flags), newRulesCheckCommand(), newRulesHistoryCommand(flags))
	return cmd
}

func newRulesShowCommand(flags *clientFlags) *cobra.Command {
	var version int
	var format string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the newest rules version, or the one given by --version",
		Example: "  ordo rules show > rules.yaml\n" +
			"  ordo rules show --version 3 --format json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if version < 0 {
				return fmt.Errorf("invalid --version %d: versions count from 1, and 0 means the newest", version)
			}
			if flags.json {
				format = "json"
			}
			path := "/api/v1/rules"
			if version > 0 {
				path = "/api/v1/rules/versions/" + strconv.Itoa(version)
			}
			switch format {
			case "yaml":
				text, err := flags.client().GetText(cmd.Context(), path, url.Values{"format": {"yaml"}})
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(text)
				return err
			case "json":
				var answer api.RulesVersion
				if err := flags.client().Get(cmd.Context(), path, nil, &answer); err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), answer)
			default:
				return fmt.Errorf("invalid --format %q: use yaml or json", format)
			}
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "rules version to print; 0 prints the newest")
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml (the text as applied, with its comments) or json (with who applied it and when)")
	return cmd
}

func newRulesApplyCommand(flags *clientFlags) *cobra.Command {
	var by, comment string
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Validate a rules document and store it as the newest version",
		Long: "Apply sends FILE (YAML, or JSON when the name ends in .json; - reads standard input) to ordo,\n" +
			"which validates it and stores it as a new version. A document with the values of the newest\n" +
			"version stores nothing and is reported unchanged. An invalid document is rejected with every\n" +
			"problem and the path of its value, and nothing is stored.",
		Example: `  ordo rules apply rules.yaml --by li.na --comment "approvals above 50000 go to the director"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readRulesFile(cmd, args[0])
			if err != nil {
				return err
			}
			contentType := "application/yaml"
			if isJSONFile(args[0]) {
				contentType = "application/json"
			}
			query := url.Values{"by": {by}}
			if comment != "" {
				query.Set("comment", comment)
			}
			var applied api.RulesApplied
			err = flags.client().PostBody(cmd.Context(), "/api/v1/rules", contentType, query, data, &applied)
			var apiErr *apiclient.Error
			if errors.As(err, &apiErr) && len(apiErr.Problems) > 0 {
				return reportProblems(cmd.ErrOrStderr(), args[0], apiErr.Problems, "nothing was applied")
			}
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), applied)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			if applied.Unchanged {
				fmt.Fprintf(cmd.OutOrStdout(), "Unchanged: %s has the values of the newest version %d, applied by %s at %s; no version was stored.\n",
					args[0], applied.Version, applied.AppliedBy, formatTime(&applied.AppliedAt, loc))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Applied %s as rules version %d; processes started from now on use it.\n", args[0], applied.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who applies the rules, recorded with the version")
	cmd.Flags().StringVar(&comment, "comment", "", "why the rules change, recorded with the version")
	return cmd
}

func newRulesCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a rules document locally, without contacting ordo",
		Long: "Check reads FILE (YAML, or JSON when the name ends in .json; - reads standard input) and prints\n" +
			"every problem with the path of its value, as apply would. It exits with status 1 when there is one.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readRulesFile(cmd, args[0])
			if err != nil {
				return err
			}
			parse := rules.Parse
			if isJSONFile(args[0]) {
				parse = rules.ParseJSON
			}
			_, err = parse(data)
			var invalid *validation.Error
			if errors.As(err, &invalid) {
				return reportProblems(cmd.ErrOrStderr(), args[0], invalid.Problems, "ordo would reject it")
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is a valid rules document.\n", args[0])
			return nil
		},
	}
}

func newRulesHistoryCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "List every rules version, newest first, with who applied it and when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var answer api.RuleVersionList
			if err := flags.client().Get(cmd.Context(), "/api/v1/rules/versions", nil, &answer); err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			loc, err := flags.location()
			if err != nil {
				return err
			}
			table := newTable(cmd.OutOrStdout())
			fmt.Fprintln(table, "VERSION\tAPPLIED AT\tAPPLIED BY\tCOMMENT")
			for _, v := range answer.Versions {
				fmt.Fprintf(table, "%d\t%s\t%s\t%s\n", v.Version, formatTime(&v.AppliedAt, loc), v.AppliedBy, dash(v.Comment))
			}
			return table.Flush()
		},
	}
}

// readRulesFile reads the file at path, or standard input for "-".
func readRulesFile(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read rules from standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules file: %w", err)
	}
	return data, nil
}

func isJSONFile(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".json")
}

// reportProblems prints one problem a line and returns the error that
// makes the command exit with status 1.
func reportProblems(out io.Writer, file string, problems []validation.Problem, consequence string) error {
	if file == "-" {
		file = "standard input"
	}
	for _, p := range problems {
		fmt.Fprintf(out, "%s: %s\n", file, p)
	}
	noun := "problems"
	if len(problems) == 1 {
		noun = "problem"
	}
	return fmt.Errorf("%s has %d %s; %s", file, len(problems), noun, consequence)
}
