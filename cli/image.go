package cli

import "github.com/spf13/cobra"

// newImageCommand is "strata image", the management command that groups
// the image commands, most of which also exist at the top level.
func (a *app) newImageCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  noArgs,
		RunE:  showHelp,
	}
	ls := a.newImagesCommand()
	ls.Use = "ls [OPTIONS] [REPOSITORY[:TAG]]"
	ls.Aliases = []string{"list"}

	rm := a.newRmiCommand()
	rm.Use = "rm [OPTIONS] IMAGE [IMAGE...]"
	rm.Aliases = []string{"rmi", "remove"}

	c.AddCommand(
		a.newBuildCommand(),
		a.newHistoryCommand(),
		a.newImportCommand(),
		a.newImageInspectCommand(),
		a.newLoadCommand(),
		ls,
		a.newImagePruneCommand(),
		a.newPullCommand(),
		a.newPushCommand(),
		rm,
		a.newSaveCommand(),
		a.newTagCommand(),
	)
	return c
}
