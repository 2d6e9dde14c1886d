package main

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/ordo-project/ordo/internal/api"
)

func newContractVerifyCommand(flags *clientFlags) *cobra.Command {
	var by, note string
	cmd := &cobra.Command{
		Use:   "verify CONTRACT_NO",
		Short: "Record the phone verification that releases a chain held because several reps marked its customer signed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var answer map[string]string
			err := flags.client().Post(cmd.Context(), "/api/v1/contracts/"+url.PathEscape(args[0])+"/verify-phone",
				api.VerifyPhoneRequest{By: by, Note: note}, &answer)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), answer)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "phone verification of %s recorded; its chain goes on\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "the verifier the held chain names, usually the rep's supervisor")
	cmd.Flags().StringVar(&note, "note", "", "whom you called and what they confirmed")
	_ = cmd.MarkFlagRequired("by")
	return cmd
}
