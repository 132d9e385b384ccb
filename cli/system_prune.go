package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) newSystemPruneCommand() *cobra.Command {
	var o pruneOptions
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !o.force {
				yes, err := a.confirm(c.Context(), systemPruneWarning(o))
				if err != nil || !yes {
					return err
				}
			}
			reclaimed, err := a.pruneImages(c.Context(), o.all)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "Total reclaimed space:", totalSize(reclaimed))
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Remove all unused images, not only dangling ones")
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	return c
}

// systemPruneWarning lists what "system prune" is about to remove. Only
// images are listed until strata has containers, networks and a build
// cache to prune.
func systemPruneWarning(o pruneOptions) string {
	var b strings.Builder
	b.WriteString("WARNING! This will remove:\n")
	if o.all {
		b.WriteString("  - all images without at least one container associated to them\n")
	} else {
		b.WriteString("  - all dangling images\n")
	}
	b.WriteString("\nAre you sure you want to continue?")
	return b.String()
}
