package main

import (
	_ "time/tzdata" // Asia/Shanghai and other zones on minimal images

	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "ordo",
		Short:         "Integration hub that runs CRM, ERP and finance processes as durable Temporal workflows",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(newDevCommand(), newServeCommand(), newImportCommand(), newContractCommand(),
		newAttentionCommand(), newReceiptCommand(), newStatusCommand(), newBenchCommand(), newLeadCommand(),
		newTaskCommand(), newRenewalCommand(), newTicketCommand(), newApprovalCommand())
	root.AddCommand(newCalendarCommand())
	root.AddCommand(newRulesCommand())
	root.AddCommand(newMetricsCommand(), newCustomerCommand())
	root.AddCommand(newPluginCommand())
	root.AddCommand(newDLQCommand(), newSyncCommand())
	return root
}
