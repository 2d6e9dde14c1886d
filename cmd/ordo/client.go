package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/apiclient"
)

// clientFlags are shared by every command that calls the API.
type clientFlags struct {
	server   string
	json     bool
	timezone string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	server := os.Getenv("ORDO_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	cmd.PersistentFlags().StringVar(&f.server, "server", server, "ordo API address (env ORDO_SERVER)")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print the API's JSON answer instead of a table")
	cmd.PersistentFlags().StringVar(&f.timezone, "tz", "Asia/Shanghai", "time zone for displayed times (IANA name)")
}

func (f *clientFlags) client() *apiclient.Client {
	return apiclient.New(f.server, os.Getenv("ORDO_API_TOKEN"))
}

func (f *clientFlags) location() (*time.Location, error) {
	loc, err := time.LoadLocation(f.timezone)
	if err != nil {
		return nil, fmt.Errorf("invalid --tz %q: use an IANA name such as Asia/Shanghai or UTC", f.timezone)
	}
	return loc, nil
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(out io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
}

// formatTime shows t in loc with its UTC offset, so a reader can compare it
// with the UTC times in the logs.
func formatTime(t *time.Time, loc *time.Location) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
