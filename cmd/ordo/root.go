package main

import (
	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "ordo",
		Short:         "Integration hub that runs CRM, ERP and finance processes as durable Temporal workflows",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(newDevCommand())
	return root
}
