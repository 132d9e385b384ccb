package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/build"
)

const (
	builderPruneWarning    = "WARNING! This will remove all dangling build cache.\nAre you sure you want to continue?"
	builderPruneAllWarning = "WARNING! This will remove all build cache.\nAre you sure you want to continue?"
)

// newBuilderCommand is "strata builder": the build cache.
func (a *app) newBuilderCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "builder",
		Short: "Manage builds",
		Args:  noArgs,
		RunE:  showHelp,
	}
	c.AddCommand(a.newBuildCommand(), a.newBuilderPruneCommand())
	return c
}

func (a *app) newBuilderPruneCommand() *cobra.Command {
	var o pruneOptions
	c := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			warning := builderPruneWarning
			if o.all {
				warning = builderPruneAllWarning
			}
			if !o.force {
				yes, err := a.confirm(c.Context(), warning)
				if err != nil || !yes {
					return err
				}
			}
			return a.pruneBuildCache(c.Context(), o.all)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	return c
}

// pruneBuildCache removes the build cache (without all: the entries of
// untagged images, which is every intermediate step) and prints, as
// Docker does, the entries removed and the space reclaimed.
func (a *app) pruneBuildCache(ctx context.Context, all bool) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	rep, err := build.Prune(ctx, s, all)
	if err != nil {
		return err
	}
	a.printCacheEntries(rep)
	fmt.Fprintln(a.out, "Total reclaimed space:", totalSize(rep.Reclaimed))
	return nil
}

// pruneBuildCacheQuiet is the build cache's part of "system prune": the
// entries it removed, and the bytes freed, for the caller's total.
func (a *app) pruneBuildCacheQuiet(ctx context.Context, all bool) (int64, error) {
	s, err := a.store()
	if err != nil {
		return 0, err
	}
	rep, err := build.Prune(ctx, s, all)
	if err != nil {
		return 0, err
	}
	a.printCacheEntries(rep)
	return rep.Reclaimed, nil
}

// printCacheEntries lists removed cache entries as Docker does: a heading
// and their (shortened) ids.
func (a *app) printCacheEntries(rep *build.PruneReport) {
	if len(rep.Entries) == 0 {
		return
	}
	fmt.Fprintln(a.out, "Deleted build cache objects:")
	for _, e := range rep.Entries {
		fmt.Fprintln(a.out, e[:25])
	}
	fmt.Fprintln(a.out)
}
