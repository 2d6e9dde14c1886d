package main

import (
	"fmt"
	"io"

	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	feishusim "github.com/ordo-project/ordo/internal/simulators/feishu"
)

// printChatLedger prints what the DingTalk and Feishu simulators
// received, when they run.
func printChatLedger(out io.Writer, d *dingtalksim.Summary, f *feishusim.Summary) error {
	if d != nil {
		fmt.Fprintln(out)
		table := newTable(out)
		fmt.Fprintln(table, "DINGTALK\tDELIVERED\tDISTINCT\tDUPLICATE COPIES\tSAME CONTENT SUPPRESSED\tOVER DAILY LIMIT\tDROPPED\tINVALID USER")
		fmt.Fprintf(table, "dingtalk simulator\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", d.Delivered, d.DistinctDelivered, d.DuplicateCopies,
			d.DuplicateSuppressed, d.OverLimit, d.Dropped, d.InvalidUser)
		if err := table.Flush(); err != nil {
			return err
		}
	}
	if f != nil {
		fmt.Fprintln(out)
		table := newTable(out)
		fmt.Fprintln(table, "FEISHU\tDELIVERED\tDISTINCT\tDUPLICATE COPIES\tUUID REPEATS\tREJECTED 230020\tINVALID USER")
		fmt.Fprintf(table, "feishu simulator\t%d\t%d\t%d\t%d\t%d\t%d\n", f.Delivered, f.DistinctDelivered, f.DuplicateCopies,
			f.UUIDRepeats, f.RateLimited, f.InvalidUser)
		if err := table.Flush(); err != nil {
			return err
		}
	}
	return nil
}
