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
			// Containers first: the images they held become unused.
			freed, err := a.pruneContainers(c.Context(), &filterFlag{})
			if err != nil {
				return err
			}
			reclaimed, err := a.pruneImages(c.Context(), o.all)
			if err != nil {
				return err
			}
			cache, err := a.pruneBuildCacheQuiet(c.Context(), o.all)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "Total reclaimed space:", totalSize(freed+reclaimed+cache))
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Remove all unused images, not only dangling ones")
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	return c
}

// systemPruneWarning lists what "system prune" is about to remove: Docker's
// list without networks, which strata does not have.
func systemPruneWarning(o pruneOptions) string {
	var b strings.Builder
	b.WriteString("WARNING! This will remove:\n")
	b.WriteString("  - all stopped containers\n")
	if o.all {
		b.WriteString("  - all images without at least one container associated to them\n")
	} else {
		b.WriteString("  - all dangling images\n")
	}
	if o.all {
		b.WriteString("  - all build cache\n")
	} else {
		b.WriteString("  - unused build cache\n")
	}
	b.WriteString("\nAre you sure you want to continue?")
	return b.String()
}
