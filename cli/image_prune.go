package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
)

const (
	pruneDanglingWarning = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
	pruneAllWarning      = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
)

type pruneOptions struct {
	all   bool
	force bool
}

func (a *app) newImagePruneCommand() *cobra.Command {
	var o pruneOptions
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			warning := pruneDanglingWarning
			if o.all {
				warning = pruneAllWarning
			}
			if !o.force {
				yes, err := a.confirm(c.Context(), warning)
				if err != nil || !yes {
					// A "no" ends the command quietly and successfully,
					// as in Docker.
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

// pruneImages removes dangling images (or, with all, every unused one),
// lists what went and returns the bytes freed.
func (a *app) pruneImages(ctx context.Context, all bool) (int64, error) {
	s, err := a.store()
	if err != nil {
		return 0, err
	}
	rep, err := s.Prune(ctx, layers.PruneOptions{All: all})
	if err != nil {
		return 0, err
	}
	if len(rep.Events) > 0 {
		var b strings.Builder
		b.WriteString("Deleted Images:\n")
		for _, ev := range rep.Events {
			if ev.Deleted != "" {
				fmt.Fprintf(&b, "deleted: %s\n", ev.Deleted)
			} else {
				fmt.Fprintf(&b, "untagged: %s\n", ev.Untagged)
			}
		}
		fmt.Fprintln(a.out, b.String())
	}
	return rep.Reclaimed, nil
}
