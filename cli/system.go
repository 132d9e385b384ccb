package cli

import "github.com/spf13/cobra"

// newSystemCommand is "strata system": disk usage and pruning.
func (a *app) newSystemCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Manage Strata",
		Args:  noArgs,
		RunE:  showHelp,
	}
	c.AddCommand(
		a.newSystemDfCommand(),
		a.newSystemPruneCommand(),
	)
	return c
}
